"""Upload file names (FILE-1, chmiuro): only the listed extensions, case-insensitive.

>>> allowed_extension("Offer.PDF")
'pdf'
>>> allowed_extension("invoice.pdf.exe")
Traceback (most recent call last):
...
crmcore.errors.UploadRefused: file_name: The file type .exe is not allowed; ... (FILE-1)
"""

from __future__ import annotations

from collections.abc import Collection

from crmcore.errors import UploadRefused
from crmcore.i18n import N_

__all__ = ["ALLOWED_EXTENSIONS", "EXECUTABLE_EXTENSIONS", "allowed_extension"]

ALLOWED_EXTENSIONS: frozenset[str] = frozenset(
    {"zip", "doc", "docx", "xls", "xlsx", "pdf", "csv", "txt", "jpg", "jpeg", "png", "gif", "bmp"}
)

# Decision: a name hiding an executable behind an allowed extension ("x.exe.pdf") is refused
# too, since some systems open such files by the inner type.
EXECUTABLE_EXTENSIONS: frozenset[str] = frozenset(
    {"exe", "com", "bat", "cmd", "scr", "pif", "msi", "js", "vbs", "ps1", "sh", "jar", "dll"}
)


def allowed_extension(file_name: str, allowed: Collection[str] = ALLOWED_EXTENSIONS) -> str:
    """The lower-cased extension of ``file_name`` if it is allowed (FILE-1); refused otherwise.

    Only the last extension decides (``x.pdf.exe`` is an ``exe``); names without an
    extension, ending in a dot or blank, or hiding an executable inner extension are refused.
    """
    allowed_lower = frozenset(extension.lower() for extension in allowed)
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    parts = base.split(".")
    extension = parts[-1].lower() if len(parts) > 1 else ""
    if base != base.strip() or base.endswith(".") or extension not in allowed_lower:
        raise UploadRefused(
            N_("The file type .{extension} is not allowed; allowed: {allowed}."),
            {"extension": extension, "allowed": ", ".join(sorted(allowed_lower))},
            field="file_name",
            rule="FILE-1",
        )
    inner = {part.lower() for part in parts[1:-1]}
    if inner & EXECUTABLE_EXTENSIONS:
        raise UploadRefused(
            N_("The file name {name} hides an executable type."),
            {"name": base},
            field="file_name",
            rule="FILE-1",
        )
    return extension

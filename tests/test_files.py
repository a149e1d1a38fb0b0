"""FILE-1: allowed upload extensions, case-insensitive, double extensions refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import UploadRefused
from crmcore.files import ALLOWED_EXTENSIONS, allowed_extension
from crmcore.testing.services import allowed_file_names


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("offer.pdf", "pdf"),
        ("Offer.PDF", "pdf"),
        ("photo.JpEg", "jpeg"),
        ("report.2026.xlsx", "xlsx"),
        ("archive.tar.zip", "zip"),
        ("C:\\Users\\anna\\notes.txt", "txt"),
    ],
)
def test_file_1_allowed(name: str, extension: str) -> None:
    """FILE-1: the listed extensions in any case."""
    assert allowed_extension(name) == extension


@pytest.mark.parametrize(
    "name",
    ["x.pdf.exe", "x.exe.pdf", "x.PDF.EXE", "script.js", "README", "x.pdf.", "x.pdf ", ".pdf.sh"],
)
def test_file_1_refused(name: str) -> None:
    """FILE-1: anything else, including double extensions, is refused."""
    with pytest.raises(UploadRefused, match=r"file_name: .*\(FILE-1\)"):
        allowed_extension(name)


def test_file_1_error_lists_the_allowed_extensions() -> None:
    with pytest.raises(UploadRefused) as error:
        allowed_extension("x.pdf.exe")
    assert error.value.params["extension"] == "exe"
    assert error.value.params["allowed"] == (
        "bmp, csv, doc, docx, gif, jpeg, jpg, pdf, png, txt, xls, xlsx, zip"
    )


@given(
    st.text(alphabet="abcXYZ_-", min_size=1, max_size=8),
    st.sampled_from(sorted(ALLOWED_EXTENSIONS)),
    st.lists(st.booleans(), min_size=1, max_size=6),
)
def test_file_1_property_any_case_of_an_allowed_extension(
    stem: str, extension: str, upper: list[bool]
) -> None:
    """FILE-1 property: case never matters."""
    mixed = "".join(ch.upper() if upper[i % len(upper)] else ch for i, ch in enumerate(extension))
    assert allowed_extension(f"{stem}.{mixed}") == extension


@given(allowed_file_names())
def test_file_1_property_generated_names_pass(name: str) -> None:
    """FILE-1 property: allowed names pass and give the lower-cased extension."""
    assert allowed_extension(name) == name.rsplit(".", 1)[1].lower()

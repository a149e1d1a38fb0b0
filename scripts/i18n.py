"""Manage crmcore's gettext catalogues (I18N-1) with Babel.

    python scripts/i18n.py extract   # sources -> src/crmcore/locale/crmcore.pot
    python scripts/i18n.py update    # .pot -> each locale's .po (new msgids added, empty)
    python scripts/i18n.py compile   # each .po -> .mo (committed, shipped in the wheel)
    python scripts/i18n.py all       # the three in order

The equivalent pybabel commands are::

    pybabel extract -k N_ -o src/crmcore/locale/crmcore.pot src/crmcore
    pybabel update -D crmcore -i src/crmcore/locale/crmcore.pot -d src/crmcore/locale
    pybabel compile -D crmcore -d src/crmcore/locale

``update`` never loses a translation; an obsolete msgid is dropped. Translators edit the
``.po`` files, then run ``compile``; tests/test_i18n.py fails when a ``.mo`` is stale or a
msgid is untranslated in some locale.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "crmcore"
LOCALE_DIRECTORY = PACKAGE / "locale"
TEMPLATE = LOCALE_DIRECTORY / "crmcore.pot"
DOMAIN = "crmcore"
LOCALES = ("pl", "en", "de", "fr", "es", "ru", "cs", "sk")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def po_path(locale: str) -> Path:
    return LOCALE_DIRECTORY / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract_catalog() -> Catalog:
    """Every marked message of the package sources, as a template catalogue."""
    catalog = Catalog(
        project="crmcore",
        domain=DOMAIN,
        charset="utf-8",
        fuzzy=False,
        copyright_holder="crmcore contributors",
        msgid_bugs_address="crmcore maintainers",
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        catalog.add(
            message,
            None,
            [(f"crmcore/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def compiled(po_file: Path) -> bytes:
    """The ``.mo`` bytes compiling ``po_file`` gives (fuzzy entries left out)."""
    with po_file.open("rb") as file:
        catalog = read_po(file, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _write_po(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(
            file, catalog, width=100, sort_output=True, ignore_obsolete=True, include_lineno=False
        )


def extract() -> None:
    _write_po(TEMPLATE, extract_catalog())


def update() -> None:
    with TEMPLATE.open("rb") as file:
        template = read_po(file)
    for locale in LOCALES:
        path = po_path(locale)
        if path.exists():
            with path.open("rb") as file:
                catalog = read_po(file, locale=locale, domain=DOMAIN)
        else:
            catalog = Catalog(
                locale=locale,
                domain=DOMAIN,
                project="crmcore",
                fuzzy=False,
                copyright_holder="crmcore contributors",
            )
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        _write_po(path, catalog)


def compile_all() -> None:
    for locale in LOCALES:
        path = po_path(locale)
        path.with_suffix(".mo").write_bytes(compiled(path))


def main(argv: list[str]) -> int:
    steps = {
        "extract": [extract],
        "update": [update],
        "compile": [compile_all],
        "all": [extract, update, compile_all],
    }
    if len(argv) != 1 or argv[0] not in steps:
        print(__doc__)
        return 2
    for step in steps[argv[0]]:
        step()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

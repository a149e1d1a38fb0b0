"""``crmcore vendor export|import|list``: a vendor as a JSON document on the command line
(crmcore.vendors; PLAN-1, PLAN-2, PLAN-4, NOTICE-2 versions), through ``crmcore.cli.main``."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import crmcore_sql
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.cli import main
from crmcore.errors import ValidationError
from crmcore.vendors import Vendor, vendor_from_preset
from crmcore_sql.testing import temporary_database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    engine.dispose()
    return url


def acme(name: str = "acme", effective: date = date(2026, 1, 1), fee: str = "50.00") -> Vendor:
    catalog = Catalog(
        [
            Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, Decimal("500.00"))]),  # type: ignore[list-item]
            Plan("premium", 2, [Price("CZK", Cycle.MONTHLY, Decimal("800.00"))]),  # type: ignore[list-item]
        ]
    )
    vendor = vendor_from_preset("raynet", name=name, effective=effective, catalog=catalog)
    return attrs.evolve(vendor, fees={"transfer": fee})


def write(tmp_path: Path, vendor: Vendor | str, name: str = "vendor.json") -> str:
    path = tmp_path / name
    path.write_text(vendor if isinstance(vendor, str) else vendor.dumps_json(), encoding="utf-8")
    return str(path)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_export_of_a_preset_is_its_starting_point_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A preset name not stored: the preset as a starting point; no database file is made."""
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    code, out, err = run(capsys, "vendor", "export", "raynet", "--db", url, "--on", "2026-01-01")
    assert (code, err) == (0, "")
    assert Vendor.loads_json(out) == vendor_from_preset("raynet", effective=date(2026, 1, 1))
    assert json.loads(out)["vat_rates"] == {"CZ": "0.21", "PL": "0.23", "SK": "0.23"}
    assert not (tmp_path / "none.sqlite").exists()


def test_import_then_export_gives_the_same_document_byte_for_byte(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = acme().dumps_json()
    code, out, err = run(capsys, "vendor", "import", write(tmp_path, text), "--db", db)
    assert (code, err) == (0, ""), err
    assert "acme: version taking effect on 2026-01-01 stored" in out
    code, out, err = run(capsys, "vendor", "export", "acme", "--db", db)
    assert (code, out, err) == (0, text, "")
    code, out, _ = run(capsys, "vendor", "list", "--db", db)
    assert (code, out) == (0, "acme (CZK): versions taking effect on 2026-01-01\n")


def test_export_on_a_day_gives_the_version_in_force_then(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NOTICE-2: 50.00 CZK transfer fee from 1 January, 60.00 from 1 July."""
    january, july = acme(fee="50.00"), acme(effective=date(2026, 7, 1), fee="60.00")
    for vendor, file in ((january, "jan.json"), (july, "jul.json")):
        assert run(capsys, "vendor", "import", write(tmp_path, vendor, file), "--db", db)[0] == 0
    for day, expected in (("2026-06-30", january), ("2026-07-01", july)):
        code, out, _ = run(capsys, "vendor", "export", "acme", "--db", db, "--on", day)
        assert (code, out) == (0, expected.dumps_json())
    assert run(capsys, "vendor", "export", "acme", "--db", db)[1] == july.dumps_json()
    code, _, err = run(capsys, "vendor", "export", "acme", "--db", db, "--on", "2025-12-31")
    assert code == 2
    assert "NAME: no version of vendor 'acme' in force on 2025-12-31" in one_line(err)
    code, out, _ = run(capsys, "vendor", "list", "--db", db)
    assert out == "acme (CZK): versions taking effect on 2026-01-01, 2026-07-01\n"


def test_a_bad_document_is_one_line_naming_the_json_path_and_stores_nothing(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = acme().to_document()
    document["vat_rates"]["SK"] = "1.00"  # PLAN-2: a ratio below 1
    document["fees"]["transfer"] = "50"  # a decimal string without decimals: accepted
    code, out, err = run(
        capsys, "vendor", "import", write(tmp_path, json.dumps(document)), "--db", db
    )
    assert (code, out) == (2, "")
    line = one_line(err)
    assert "$.vat_rates.SK: must be a ratio from 0 to below 1, got '1.00' (PLAN-2)" in line
    assert run(capsys, "vendor", "list", "--db", db)[1].startswith("no vendors stored")


@pytest.mark.parametrize(
    ("where", "written"),
    [
        (("catalog", "plans", 0, "prices", 0, "amount"), "5E+2"),
        (("catalog", "plans", 0, "prices", 0, "amount"), 500),
        (("catalog", "plans", 0, "prices", 0, "amount"), " 500.00"),
        (("catalog", "plans", 0, "prices", 0, "amount"), "+500.00"),
        (("catalog", "plans", 0, "prices", 0, "amount"), ".5"),
        (("catalog", "plans", 0, "prices", 0, "amount"), "1000000000000000.00"),  # 16 digits
        (("fees", "transfer"), "5e1"),
        (("fees", "transfer"), "10000000000000000"),
        (("vat_rates", "CZ"), "2.1e-1"),
    ],
)
def test_a_document_writes_its_amounts_as_a_scenario_does_BILL_7(
    db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    where: tuple[str | int, ...],
    written: object,
) -> None:
    """BILL-7 (PLAN-2 rates, PLAN-4 fees): `vendor import` and `--vendor` accepted prices in
    exponent notation, as JSON numbers, with spaces or a plus sign, and of 31 digits (an
    invoice stores 64-bit minor units: never billable), all of which `crmcore simulate`
    refuses in a scenario. Now refused the same way, one line naming the JSON path, nothing
    stored (``crmcore reprice --vendor`` reads documents through the same check)."""
    document = acme().to_document()
    place: Any = document
    for key in where[:-1]:
        place = place[key]
    place[where[-1]] = written
    path = write(tmp_path, json.dumps(document))
    code, out, err = run(capsys, "vendor", "import", path, "--db", db)
    assert (code, out) == (2, "")
    field = "$." + ".".join(str(k) for k in where).replace(".0", "[0]")
    assert field in one_line(err)
    assert run(capsys, "vendor", "list", "--db", db)[1].startswith("no vendors stored")


def test_a_price_of_999_999_999_999_999_is_the_largest_a_vendor_may_have_BILL_7(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """15 digits before the point are accepted, 16 refused: in a document, in Python
    (``Price``) and as a fee; exported in plain notation."""
    largest = Decimal("999999999999999.00")
    assert Price("CZK", Cycle.MONTHLY, largest).amount == largest
    with pytest.raises(ValidationError, match="at most 15 digits before the point"):
        Price("CZK", Cycle.MONTHLY, largest + 1)
    with pytest.raises(ValidationError, match="PLAN-4"):
        attrs.evolve(acme(), fees={"transfer": "1000000000000000"})
    vendor = attrs.evolve(
        acme(), fees={"transfer": Decimal("1E+3")}
    )  # a Decimal in exponent form, from Python
    code, _, _ = run(capsys, "vendor", "import", write(tmp_path, vendor), "--db", db)
    assert code == 0
    code, out, _ = run(capsys, "vendor", "export", "acme", "--db", db)
    assert json.loads(out)["fees"]["transfer"] == "1000"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("{", "$: not valid JSON"),
        ("[]", "$: must be an object"),
        ('{"name": "acme"}', "$.policy: required field missing"),
    ],
)
def test_a_document_that_is_not_a_vendor_is_refused_at_its_path(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, path: str
) -> None:
    code, _, err = run(capsys, "vendor", "import", write(tmp_path, text), "--db", db)
    assert code == 2
    assert path in one_line(err)


def test_a_version_not_after_the_stored_one_is_refused_naming_effective(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, acme())
    assert run(capsys, "vendor", "import", file, "--db", db)[0] == 0
    code, _, err = run(capsys, "vendor", "import", file, "--db", db)
    assert code == 2
    assert "$.effective: vendor 'acme' already has a version taking effect on 2026-01-01" in (
        one_line(err)
    )
    assert "(NOTICE-2)" in err
    out = run(capsys, "vendor", "list", "--db", db)[1]
    assert out == "acme (CZK): versions taking effect on 2026-01-01\n"


def test_unknown_names_and_files_are_bad_input(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "vendor", "export", "nobody", "--db", db)
    assert code == 2
    assert "NAME: no vendor 'nobody' and no preset of that name" in one_line(err)
    code, _, err = run(capsys, "vendor", "export", "Not A Name", "--db", db)
    assert code == 2
    assert "NAME: not a vendor name" in one_line(err)
    missing = str(tmp_path / "missing.json")
    code, _, err = run(capsys, "vendor", "import", missing, "--db", db)
    assert code == 2
    assert f"{missing}: cannot read" in one_line(err)
    code, _, err = run(capsys, "vendor", "export", "acme", "--db", db, "--on", "2026-02-30")
    assert code == 2
    assert "--on" in one_line(err)
    code, _, err = run(capsys, "vendor", "export", "acme", "--db", "not a url")
    assert code == 2
    assert "--db" in one_line(err)


def test_an_unmigrated_database_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    code, _, err = run(capsys, "vendor", "import", write(tmp_path, acme()), "--db", url)
    assert code == 1
    assert "not migrated" in one_line(err)
    code, _, err = run(capsys, "vendor", "export", "acme", "--db", url)
    assert code == 1
    assert "not migrated" in one_line(err)


def test_a_stored_vendor_is_preferred_to_the_preset_of_its_name(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raynet = attrs.evolve(acme("raynet"), vat_rates={"CZ": Decimal("0.21")})
    assert run(capsys, "vendor", "import", write(tmp_path, raynet), "--db", db)[0] == 0
    assert run(capsys, "vendor", "export", "raynet", "--db", db)[1] == raynet.dumps_json()


@pytest.mark.parametrize("query", ["?uri=true", "?mode=ro&uri=true", "?mode=rw&uri=true"])
def test_a_stored_vendor_is_found_through_a_sqlite_uri(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    """The stored raynet, not the preset, through ``sqlite:///file:PATH?...&uri=true`` (the
    check for a missing file read ``file:PATH`` as a path, found none, and gave the preset);
    an export of a preset through a URI of a missing file creates nothing."""
    raynet = attrs.evolve(acme("raynet"), vat_rates={"CZ": Decimal("0.21")})
    assert run(capsys, "vendor", "import", write(tmp_path, raynet), "--db", db)[0] == 0
    uri = db.replace("sqlite:///", "sqlite:///file:") + query
    assert run(capsys, "vendor", "export", "raynet", "--db", uri)[:3] == (
        0,
        raynet.dumps_json(),
        "",
    )
    missing = f"sqlite:///file:{tmp_path / 'none.sqlite'}{query}"
    code, out, err = run(
        capsys, "vendor", "export", "raynet", "--db", missing, "--on", "2026-01-01"
    )
    assert (code, err) == (0, "")
    assert Vendor.loads_json(out) == vendor_from_preset("raynet", effective=date(2026, 1, 1))
    assert not (tmp_path / "none.sqlite").exists()


def test_import_and_export_on_every_engine(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same document out as in on SQLite, PostgreSQL and MariaDB."""
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        crmcore_sql.migrate(engine)
        engine.dispose()
        name = f"vendor-{uuid.uuid4().hex[:10]}"
        text = acme(name).dumps_json()
        assert run(capsys, "vendor", "import", write(tmp_path, text), "--db", str(url))[0] == 0
        assert run(capsys, "vendor", "export", name, "--db", str(url))[1] == text


#: The parameters one vendor states (API-2, SUP-1, SIGN-1 raynet's, STOR-1 livespace's,
#: BACKUP-1's hour and BACKUP-2..4 raynet's) that a vendor may leave out: null in its document.
NOT_STATED = {
    "limits": (
        "api_monthly_transfer_gb",
        "api_remedy_business_days",
        "support_minutes_per_user_month",
        "esign_free_documents_per_month",
        "esign_signing_window_days",
        "esign_archive_years",
        "linked_files_count_toward_storage",
    ),
    "backup": (
        "first_backup_at",
        "free_copies_per_half_year",
        "last_copy_window_days",
        "backs_up_inactive_tenants",
        "authorised_requesters",
        "accepted_methods",
    ),
}


def test_terms_a_vendor_leaves_out_stay_null_through_import_and_export_API_2_SUP_1_BACKUP_4(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A raynet-based vendor document with null for every API-2, SUP-1, SIGN-1, STOR-1 and
    BACKUP-1..4 parameter is imported and exported byte for byte; the stored policy has
    ``None`` for each (not the class defaults, raynet's values)."""
    document = acme("nulls").to_document()
    for family, fields in NOT_STATED.items():
        for field in fields:
            document["policy"][family][field] = None
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert Vendor.loads_json(text).dumps_json() == text  # the canonical form
    code, _, err = run(capsys, "vendor", "import", write(tmp_path, text), "--db", db)
    assert (code, err) == (0, ""), err
    code, out, err = run(capsys, "vendor", "export", "nulls", "--db", db)
    assert (code, out, err) == (0, text, "")
    policy = Vendor.loads_json(out).policy
    assert policy.backup is not None
    for family, fields in NOT_STATED.items():
        for field in fields:
            assert getattr(getattr(policy, family), field) is None, field
    exported = json.loads(out)["policy"]
    assert exported["limits"]["api_monthly_transfer_gb"] is None


def test_the_livespace_preset_exports_and_imports_its_terms_not_stated_as_null(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The livespace preset's export has null for SUP-1 and BACKUP-4 (its seed states
    neither) and false for STOR-1's linked files (it does); importing it keeps them."""
    code, out, err = run(capsys, "vendor", "export", "livespace", "--db", db, "--on", "2026-01-01")
    assert (code, err) == (0, "")
    policy = json.loads(out)["policy"]
    assert policy["limits"]["support_minutes_per_user_month"] is None
    assert policy["limits"]["linked_files_count_toward_storage"] is False
    assert policy["backup"]["authorised_requesters"] is None
    code, _, err = run(capsys, "vendor", "import", write(tmp_path, out), "--db", db)
    assert (code, err) == (0, ""), err
    assert run(capsys, "vendor", "export", "livespace", "--db", db)[1] == out

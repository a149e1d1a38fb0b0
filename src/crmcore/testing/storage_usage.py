"""The storage contract of what tenants use: trial identities (TRIAL-6), API call counters
(API-1), stored files (STOR-1). :class:`crmcore.testing.storage.StorageContract` inherits
these tests, so every adapter that runs the storage contract runs them too.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from crmcore.errors import ConcurrencyError, NotFound, StorageError, ValidationError
from crmcore.events import TenantCreated
from crmcore.ports import MAX_FILE_BYTES, MAX_FILE_NAME, MAX_IDENTITY, UnitOfWork

__all__ = ["UsageContract"]

_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_DAY = date(2026, 1, 6)


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class UsageContract:
    """Abstract; :meth:`unit_of_work` is provided by the storage contract's subclass."""

    __test__ = False

    def unit_of_work(self) -> UnitOfWork:
        raise NotImplementedError

    # --- TRIAL-6 -----------------------------------------------------------------------------

    def _register(self, vendor: str, identity: str | None) -> str:
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, vendor, [TenantCreated(_AT, tenant, identity)])
            uow.commit()
        return tenant

    def test_trial_6_trials_of_counts_a_vendors_tenants_by_normalised_identity(self) -> None:
        """TRIAL-6: ``trials_of`` counts the vendor's tenants created with the identity,
        normalised on both sides (an e-mail address by its domain, case and blanks ignored);
        another vendor's tenants, another identity and tenants without one do not count."""
        domain = f"{uuid.uuid4().hex[:8]}.cz"
        self._register("raynet", f"ann@{domain}")
        self._register("raynet", f" Bob@{domain.upper()} ")
        self._register("livespace", f"eve@{domain}")
        self._register("raynet", f"ann@other-{domain}")
        self._register("raynet", None)
        with self.unit_of_work() as uow:
            assert uow.tenants.trials_of("raynet", f"CEO@{domain}") == 2
            assert uow.tenants.trials_of("raynet", domain) == 2
            assert uow.tenants.trials_of("livespace", domain) == 1
            assert uow.tenants.trials_of("raynet", f"nobody-{domain}") == 0

    def test_trial_6_an_identity_too_long_once_normalised_is_refused(self) -> None:
        """TRIAL-6: an identity is stored normalised in at most ``MAX_IDENTITY`` characters:
        one more is refused on every engine and nothing is stored; a long e-mail address whose
        domain fits is accepted."""
        tenant = _unique()
        too_long = "x" * (MAX_IDENTITY + 1)
        fits = "a" * 300 + "@" + "d" * (MAX_IDENTITY - 3) + ".cz"
        with self.unit_of_work() as uow:
            for identity in (too_long, "ann@", "   "):
                with pytest.raises(ValidationError) as refused:
                    uow.tenants.add(tenant, "raynet", [TenantCreated(_AT, tenant, identity)])
                assert refused.value.field == "events[0].identity"
                assert refused.value.rule == "TRIAL-6"
            uow.tenants.add(tenant, "raynet", [TenantCreated(_AT, tenant, fits)])
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.tenants.trials_of("raynet", fits) == 1
            assert uow.tenants.history(tenant)[0] == TenantCreated(_AT, tenant, fits)

    # --- API-1 -------------------------------------------------------------------------------

    def test_api_1_calls_are_counted_per_tenant_and_day_up_to_the_limit(self) -> None:
        """API-1: with a limit of 2, the first two calls of a day are counted (``used`` 0,
        then 1) and the third is refused with ``used`` 2, counting nothing; the next day and
        another tenant start at 0; no limit counts every call."""
        tenant, other = _unique(), _unique()
        with self.unit_of_work() as uow:
            answers = [uow.api_calls.try_count(tenant, _DAY, 2) for _ in range(3)]
            assert [(a.allowed, a.used, a.limit) for a in answers] == [
                (True, 0, 2),
                (True, 1, 2),
                (False, 2, 2),
            ]
            assert uow.api_calls.calls(tenant, _DAY) == 2
            assert uow.api_calls.try_count(tenant, _DAY + timedelta(days=1), 2).used == 0
            assert uow.api_calls.try_count(other, _DAY, 2).allowed
            unlimited = [uow.api_calls.try_count(other, _DAY, None) for _ in range(3)]
            assert all(a.allowed for a in unlimited) and unlimited[-1].used == 3
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.api_calls.calls(tenant, _DAY) == 2
            assert uow.api_calls.calls(tenant, _DAY + timedelta(days=1)) == 1
            assert uow.api_calls.calls(other, _DAY) == 4
            assert uow.api_calls.try_count(tenant, _DAY, 0).allowed is False

    def test_api_1_uncommitted_calls_are_rolled_back_and_bad_limits_refused(self) -> None:
        tenant = _unique()
        with self.unit_of_work() as uow:
            assert uow.api_calls.try_count(tenant, _DAY, 5).allowed
            for limit in (-1, True, 2**31, "5"):
                with pytest.raises(ValidationError) as refused:
                    uow.api_calls.try_count(tenant, _DAY, limit)  # type: ignore[arg-type]
                assert (refused.value.field, refused.value.rule) == ("limit", "API-1")
        with self.unit_of_work() as uow:
            assert uow.api_calls.calls(tenant, _DAY) == 0

    def test_api_1_concurrent_callers_never_pass_the_limit(self) -> None:
        """API-1 atomic: two threads of 6 calls each (every call its own transaction) against
        a limit of 5 count exactly 5 calls; 7 are refused."""
        tenant = _unique()
        answers: list[bool] = []
        errors: list[BaseException] = []

        def caller() -> None:
            try:
                for _ in range(6):
                    while True:
                        try:
                            with self.unit_of_work() as uow:
                                answer = uow.api_calls.try_count(tenant, _DAY, 5)
                                uow.commit()
                            break
                        except ConcurrencyError:  # a deadlock or serialisation retry
                            continue
                    answers.append(answer.allowed)
            except BaseException as exc:  # the assertion below names it
                errors.append(exc.with_traceback(None))

        threads = [threading.Thread(target=caller) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(answers) == [False] * 7 + [True] * 5
        with self.unit_of_work() as uow:
            assert uow.api_calls.calls(tenant, _DAY) == 5

    # --- STOR-1 ------------------------------------------------------------------------------

    def test_stor_1_files_are_stored_within_the_pool_and_exactly_the_pool_fits(self) -> None:
        """STOR-1: with a pool of 10 bytes, 4 + 6 bytes fit exactly (``used`` 0, then 4);
        1 more byte is refused with ``used`` 10 and nothing stored; removing the 4-byte file
        frees its bytes."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            first = uow.files.try_store(tenant, "a.pdf", 4, 10)
            second = uow.files.try_store(tenant, "b.pdf", 6, 10)
            third = uow.files.try_store(tenant, "c.pdf", 1, 10)
            assert (first.allowed, first.used, first.requested) == (True, 0, 4)
            assert (second.allowed, second.used) == (True, 4)
            assert (third.allowed, third.used, third.limit) == (False, 10, 10)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.files.used(tenant) == 10
            assert uow.files.sizes(tenant) == {"a.pdf": 4, "b.pdf": 6}
            assert uow.files.remove(tenant, "a.pdf") == 4
            assert uow.files.try_store(tenant, "c.pdf", 4, 10).allowed
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.files.used(tenant) == 10
            assert uow.files.sizes(tenant) == {"b.pdf": 6, "c.pdf": 4}

    def test_stor_1_a_name_stored_twice_is_refused_and_changes_nothing(self) -> None:
        """STOR-1: a second file of the same name is refused (``StorageError``), its bytes
        are not counted and the unit of work goes on; names differing in case are apart."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            assert uow.files.try_store(tenant, "offer.pdf", 3, None).allowed
            with pytest.raises(StorageError):
                uow.files.try_store(tenant, "offer.pdf", 5, None)
            assert uow.files.used(tenant) == 3
            assert uow.files.try_store(tenant, "Offer.pdf", 5, None).allowed
            with pytest.raises(NotFound):
                uow.files.remove(tenant, "missing.pdf")
            assert uow.files.used(tenant) == 8
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.files.sizes(tenant) == {"offer.pdf": 3, "Offer.pdf": 5}
            assert uow.files.used(tenant) == 8

    def test_stor_1_bad_names_sizes_and_limits_are_refused_before_anything_is_stored(
        self,
    ) -> None:
        tenant = _unique()
        bad: list[tuple[object, object, object, str]] = [
            ("", 1, None, "name"),
            (" a.pdf", 1, None, "name"),
            ("x" * (MAX_FILE_NAME + 1), 1, None, "name"),
            ("a\nb.pdf", 1, None, "name"),
            ("a.pdf", -1, None, "size"),
            ("a.pdf", MAX_FILE_BYTES + 1, None, "size"),
            ("a.pdf", 1.5, None, "size"),
            ("a.pdf", True, None, "size"),
            ("a.pdf", 1, -1, "limit"),
        ]
        with self.unit_of_work() as uow:
            for name, size, limit, field in bad:
                with pytest.raises(ValidationError) as refused:
                    uow.files.try_store(tenant, name, size, limit)  # type: ignore[arg-type]
                assert (refused.value.field, refused.value.rule) == (field, "STOR-1")
            assert uow.files.try_store(tenant, "x" * MAX_FILE_NAME, MAX_FILE_BYTES, None).allowed
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.files.sizes(tenant) == {"x" * MAX_FILE_NAME: MAX_FILE_BYTES}

    def test_stor_1_concurrent_uploads_never_pass_the_pool(self) -> None:
        """STOR-1 atomic: two threads storing 5 files of 3 bytes each against a pool of
        20 bytes store 6 files (18 bytes); the 4 others are refused."""
        tenant = _unique()
        answers: list[bool] = []
        errors: list[BaseException] = []

        def uploader(prefix: str) -> None:
            try:
                for index in range(5):
                    while True:
                        try:
                            with self.unit_of_work() as uow:
                                answer = uow.files.try_store(tenant, f"{prefix}{index}.txt", 3, 20)
                                uow.commit()
                            break
                        except ConcurrencyError:
                            continue
                    answers.append(answer.allowed)
            except BaseException as exc:
                errors.append(exc.with_traceback(None))

        threads = [threading.Thread(target=uploader, args=(p,)) for p in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(answers) == [False] * 4 + [True] * 6
        with self.unit_of_work() as uow:
            assert uow.files.used(tenant) == 18
            assert len(uow.files.sizes(tenant)) == 6

    # --- VIS-1 -------------------------------------------------------------------------------

    def test_vis1_counters_of_ids_differing_in_case_accents_or_spaces_are_apart(self) -> None:
        """VIS-1: ``ACME``, ``acme``, ``acme `` and ``ácme`` are four tenants for API call
        counters and stored files too (exact comparison on MariaDB/MySQL), and file names
        differing so are four files."""
        base = uuid.uuid4().hex[:8]
        tenants = [f"ACME-{base}", f"acme-{base}", f"acme-{base} ", f"ácme-{base}"]
        names = ["Offer.pdf", "offer.pdf", "offer.pdf ", "óffer.pdf"]
        with self.unit_of_work() as uow:
            for index, tenant in enumerate(tenants):
                for _ in range(index + 1):
                    assert uow.api_calls.try_count(tenant, _DAY, 4).allowed
                assert uow.files.try_store(tenant, "a.pdf", index + 1, 4).allowed
            for name in names[:2] + names[3:]:
                assert uow.files.try_store(tenants[0], name, 0, None).allowed
            uow.commit()
        with self.unit_of_work() as uow:
            assert [uow.api_calls.calls(t, _DAY) for t in tenants] == [1, 2, 3, 4]
            assert [uow.files.used(t) for t in tenants] == [1, 2, 3, 4]
            assert set(uow.files.sizes(tenants[0])) == {"a.pdf", *names[:2], names[3]}

"""NOTICE-1..4 and END-1..4: hand-checked dates across month ends and leap years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import NoticeRefused
from crmcore.notices import (
    EndReason,
    NotApplicable,
    NoticeDate,
    change_accepted,
    contract_end,
    limits_change_effective,
    notice_delivered_on,
    price_change_binding_from,
    refusal_cancels_on,
    terms_change_effective,
    vendor_notice_end,
)
from crmcore.presets import preset

NOTICE = preset("raynet").notice
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@pytest.mark.parametrize(
    ("announced", "effective"),
    [
        (date(2026, 1, 20), date(2026, 2, 4)),  # 11 days left in Jan + 4 = 15
        (date(2026, 2, 14), date(2026, 3, 1)),  # 14 days left in Feb 2026 (28 days) + 1
        (date(2028, 2, 14), date(2028, 2, 29)),  # leap year: 14 + 15 = 29 Feb
        (date(2026, 12, 20), date(2027, 1, 4)),  # year end: 11 + 4
    ],
)
def test_notice_1_terms_change_15_days(announced: date, effective: date) -> None:
    """NOTICE-1: at least 15 days between announcement and effect."""
    assert terms_change_effective(announced, NOTICE) == NoticeDate(effective, "NOTICE-1")


def test_notice_1_too_early_request_is_refused_with_numbers() -> None:
    """NOTICE-1: a requested day inside the 15 days is refused naming 15 and the earliest day."""
    with pytest.raises(NoticeRefused, match=r"15 days .*2026-02-04.*2026-02-03.*\(NOTICE-1\)"):
        terms_change_effective(date(2026, 1, 20), NOTICE, requested=date(2026, 2, 3))
    later = terms_change_effective(date(2026, 1, 20), NOTICE, requested=date(2026, 3, 1))
    assert later == NoticeDate(date(2026, 3, 1), "NOTICE-1")


def test_notice_3_limits_change_like_terms() -> None:
    """NOTICE-3: limits change with the same 15-day notice, cited as NOTICE-3."""
    assert limits_change_effective(date(2028, 2, 14), NOTICE) == NoticeDate(
        date(2028, 2, 29), "NOTICE-3"
    )
    with pytest.raises(NoticeRefused, match=r"NOTICE-3"):
        limits_change_effective(date(2028, 2, 14), NOTICE, requested=date(2028, 2, 28))


@pytest.mark.parametrize(
    ("announced", "binding"),
    [
        (date(2026, 3, 2), date(2026, 4, 1)),  # 2 Mar + 30 = 1 Apr, itself a period start
        (date(2026, 3, 3), date(2026, 5, 1)),  # 3 Mar + 30 = 2 Apr → next start 1 May
        (date(2026, 1, 30), date(2026, 3, 1)),  # 30 Jan + 30 = 1 Mar (Feb has 28 days)
        (date(2028, 1, 31), date(2028, 3, 1)),  # 31 Jan + 30 = 1 Mar 2028 (Feb has 29 days)
        (date(2028, 1, 30), date(2028, 3, 1)),  # 30 Jan + 30 = 29 Feb 2028 → 1 Mar
        (date(2026, 12, 15), date(2027, 2, 1)),  # 15 Dec + 30 = 14 Jan → 1 Feb
    ],
)
def test_notice_2_price_change_monthly(announced: date, binding: date) -> None:
    """NOTICE-2: 30 days' notice, then the next calendar-month period start."""
    result = price_change_binding_from(announced, NOTICE, period_anchor=date(2020, 1, 1))
    assert result == NoticeDate(binding, "NOTICE-2")


def test_notice_2_price_change_annual_period_anchored_on_leap_day() -> None:
    """NOTICE-2 with annual periods from 29 Feb 2024 (TIME-4: 28 Feb in other years)."""
    # periods start 29 Feb 2024, 28 Feb 2025, 28 Feb 2026, 28 Feb 2027, 29 Feb 2028
    # 30 Jan 2026 + 30 days = 1 Mar 2026, after the 28 Feb 2026 start → 28 Feb 2027
    result = price_change_binding_from(date(2026, 1, 30), NOTICE, date(2024, 2, 29), 12)
    assert result == NoticeDate(date(2027, 2, 28), "NOTICE-2")
    # 29 Jan 2027 + 30 days = 28 Feb 2027, exactly a period start → 28 Feb 2027
    result = price_change_binding_from(date(2027, 1, 29), NOTICE, date(2024, 2, 29), 12)
    assert result == NoticeDate(date(2027, 2, 28), "NOTICE-2")
    # 31 Jan 2027 + 30 days = 2 Mar 2027 → the 2028 start, on the leap day
    result = price_change_binding_from(date(2027, 1, 31), NOTICE, date(2024, 2, 29), 12)
    assert result == NoticeDate(date(2028, 2, 29), "NOTICE-2")


def test_notice_2_price_change_not_for_fixed_term() -> None:
    """NOTICE-2: a fixed-term contract keeps its price."""
    result = price_change_binding_from(date(2026, 3, 2), NOTICE, date(2026, 1, 1), fixed_term=True)
    assert isinstance(result, NotApplicable)
    assert result.rule == "NOTICE-2"


@given(DAYS, DAYS, st.sampled_from([1, 3, 12]))
def test_notice_2_property_binding_day_is_first_period_start_after_notice(
    announced: date, anchor: date, months: int
) -> None:
    """NOTICE-2 property: binding day ≥ announced + 30, is a period start, and no period start
    lies between announced + 30 and it."""
    from crmcore.dates import add_months

    result = price_change_binding_from(announced, NOTICE, anchor, months)
    assert isinstance(result, NoticeDate)
    earliest = announced + timedelta(days=30)
    starts = [add_months(anchor, k * months) for k in range(0, 12 * 100 // months + 2)]
    assert result.day in starts
    if earliest > anchor:
        assert result.day >= earliest
    else:
        assert result.day == anchor  # the change waits for the first period at the anchor
    assert not [s for s in starts if max(earliest, anchor) <= s < result.day]


def test_notice_4_continued_use_accepts_and_refusal_cancels_that_day() -> None:
    """NOTICE-4: use on/after the effective day accepts; a refusal cancels effective the day
    the change takes effect (4 Feb), as the application layer records it, not on the day it
    came (10 Feb)."""
    effective = date(2026, 2, 4)
    assert not change_accepted(effective, date(2026, 2, 3))
    assert change_accepted(effective, date(2026, 2, 4))
    assert refusal_cancels_on(effective) == NoticeDate(date(2026, 2, 4), "NOTICE-4")


@pytest.mark.parametrize(
    ("delivered", "last_day"),
    [
        (date(2026, 1, 15), date(2027, 1, 31)),  # runs 1 Feb 2026 .. 31 Jan 2027
        (date(2026, 1, 31), date(2027, 1, 31)),  # delivered on a month end: same
        (date(2026, 2, 1), date(2027, 2, 28)),  # runs 1 Mar 2026 .. 28 Feb 2027
        (date(2027, 2, 10), date(2028, 2, 29)),  # ends in a leap February
        (date(2028, 2, 29), date(2029, 2, 28)),  # delivered on leap day
        (date(2026, 12, 31), date(2027, 12, 31)),  # runs 1 Jan 2027 .. 31 Dec 2027
    ],
)
def test_end_2_vendor_notice_twelve_months_from_next_month(delivered: date, last_day: date) -> None:
    """END-2: 12 months starting the first day of the month after delivery."""
    assert vendor_notice_end(delivered, NOTICE) == NoticeDate(last_day, "END-2")


@pytest.mark.parametrize(
    ("posted", "collected", "delivered"),
    [
        (date(2026, 1, 30), None, date(2026, 2, 2)),  # 3rd day after posting, across month end
        (date(2028, 2, 27), None, date(2028, 3, 1)),  # 28, 29 Feb (leap), 1 Mar
        (date(2026, 2, 27), None, date(2026, 3, 2)),  # 28 Feb, 1 Mar, 2 Mar
        (date(2026, 1, 30), date(2026, 1, 31), date(2026, 1, 31)),  # collected earlier
        (date(2026, 1, 30), date(2026, 2, 10), date(2026, 2, 2)),  # collected late: deemed day
    ],
)
def test_end_2_posted_notice_deemed_delivered_on_3rd_day(
    posted: date, collected: date | None, delivered: date
) -> None:
    """END-2: uncollected post counts as delivered on the 3rd day after posting."""
    assert notice_delivered_on(posted, NOTICE, collected) == NoticeDate(delivered, "END-2")


def test_end_2_posted_on_leap_day_chain() -> None:
    """END-2 end to end: posted 26 Feb 2028, deemed delivered 29 Feb 2028, contract ends
    28 Feb 2029 (notice runs 1 Mar 2028 .. 28 Feb 2029)."""
    delivered = notice_delivered_on(date(2028, 2, 26), NOTICE).day
    assert delivered == date(2028, 2, 29)
    assert contract_end(EndReason.VENDOR_NOTICE, delivered, NOTICE).day == date(2029, 2, 28)


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        (EndReason.FIXED_TERM_EXPIRY, "END-1"),
        (EndReason.VENDOR_WITHDRAWAL, "END-3"),
        (EndReason.CUSTOMER_CANCELLATION, "END-4"),
        (EndReason.PAYMENT_DELAY, "PAY-3"),
        (EndReason.REFUSAL_OF_TERMS, "NOTICE-4"),
    ],
)
def test_end_1_3_4_same_day_endings(reason: EndReason, rule: str) -> None:
    """END-1 reasons; END-3 withdrawal ends on delivery; END-4 cancellation the same day."""
    assert contract_end(reason, date(2028, 2, 29), NOTICE) == NoticeDate(date(2028, 2, 29), rule)


@given(DAYS)
def test_end_2_property_notice_at_least_12_months(delivered: date) -> None:
    """END-2 property: the contract ends on a month's last day, 12-13 months after delivery."""
    end = vendor_notice_end(delivered, NOTICE).day
    assert (end + timedelta(days=1)).day == 1
    assert 365 <= (end - delivered).days <= 366 + 31

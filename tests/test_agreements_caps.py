"""The volunteer-allowance cap engine: property tests over any sequence of entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.agreements import caps
from portal.agreements.caps import Allowance

TABLE = caps.cap_table()

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400"), places=2)
hours = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("60"), places=2)
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))
births = st.dates(min_value=date(1950, 1, 1), max_value=date(2012, 12, 31))


@st.composite
def entries(draw):
    kind = draw(st.sampled_from(caps.ALLOWANCE_KINDS))
    day = draw(days)
    age = caps.age_on(draw(births), day)
    if kind == caps.HOURLY:
        entry_hours = draw(hours)
        rate = draw(st.decimals(min_value=Decimal("1"), max_value=Decimal("7"), places=2))
        return Allowance(day=day, amount=caps.money(entry_hours * rate), kind=kind, hours=entry_hours, age=age)
    return Allowance(day=day, amount=draw(amounts), kind=kind, age=age)


def approve_all(sequence):
    """Offer every entry in turn; keep the approved ones (as the service does)."""
    approved = []
    for entry in sequence:
        if caps.check(approved, entry, TABLE).allowed:
            approved.append(entry)
    return approved


@settings(max_examples=300, deadline=None)
@given(st.lists(entries(), max_size=60))
def test_approved_allowances_never_exceed_a_cap(sequence):
    approved = approve_all(sequence)
    for year in {entry.day.year for entry in approved}:
        in_year = [entry for entry in approved if entry.day.year == year]
        assert sum(entry.amount for entry in in_year) <= TABLE[year].yearly
        for month in {entry.day.month for entry in in_year}:
            assert sum(e.amount for e in in_year if e.day.month == month) <= TABLE[year].monthly
    for entry in approved:
        if entry.kind == caps.HOURLY:
            assert entry.amount <= caps.money(TABLE[entry.day.year].hourly_for(entry.age) * entry.hours)


@settings(max_examples=200, deadline=None)
@given(st.lists(entries(), max_size=40), entries())
def test_a_refusal_names_the_cap_and_the_exact_excess(history, candidate):
    approved = approve_all(history)
    verdict = caps.check(approved, candidate, TABLE)
    for use in verdict.refused:
        assert use.excess == use.used - use.limit > 0
    # The largest amount the refusal names (the candidate less its largest excess) fits every cap,
    # and a cent more does not: the officer may approve exactly that much.
    largest = verdict.largest_allowed(candidate.amount)
    if verdict.refused and largest > 0:
        assert caps.check(approved, replace(candidate, amount=largest), TABLE).allowed
        assert not caps.check(approved, replace(candidate, amount=largest + caps.CENT), TABLE).allowed
    if verdict.allowed:
        assert largest == candidate.amount


@settings(max_examples=200, deadline=None)
@given(births, days, hours)
def test_the_under_21_rate_applies_by_age_on_the_activity_date(birth, day, entry_hours):
    age = caps.age_on(birth, day)
    year = TABLE[day.year]
    at_young_cap = Allowance(day=day, amount=caps.money(year.hourly_young * entry_hours), hours=entry_hours, age=age)
    at_adult_cap = Allowance(day=day, amount=caps.money(year.hourly_adult * entry_hours), hours=entry_hours, age=age)
    hourly_refused = [u.cap for u in caps.check([], at_adult_cap, TABLE).refused if u.cap == caps.HOURLY_CAP]
    assert caps.HOURLY_CAP not in [u.cap for u in caps.check([], at_young_cap, TABLE).refused]
    assert bool(hourly_refused) == (age < 21)


def test_age_on_the_activity_date_turns_on_the_birthday():
    birth = date(2005, 6, 15)
    assert caps.age_on(birth, date(2026, 6, 14)) == 20
    assert caps.age_on(birth, date(2026, 6, 15)) == 21
    assert caps.age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert caps.age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_the_2026_hourly_caps_by_age():
    day = date(2026, 3, 10)
    young = Allowance(day=day, amount=Decimal("6.90"), hours=Decimal(2), age=20)  # 3.45 an hour
    verdict = caps.check([], young, TABLE)
    assert [(u.cap, u.limit, u.excess) for u in verdict.refused] == [("hourly", Decimal("6.80"), Decimal("0.10"))]
    assert caps.check([], Allowance(day=day, amount=Decimal("6.90"), hours=Decimal(2), age=21), TABLE).allowed


def test_a_warning_from_80_percent_of_the_monthly_cap():
    day = date(2026, 5, 1)
    approved = [Allowance(day=day, amount=Decimal("170"), kind=caps.FIXED)]
    verdict = caps.check(approved, Allowance(day=day, amount=Decimal("6"), kind=caps.GIFT), TABLE)
    assert verdict.allowed
    assert [u.cap for u in verdict.warnings] == ["monthly"]
    low = caps.check([], Allowance(day=day, amount=Decimal("100"), kind=caps.FIXED), TABLE)
    assert low.allowed and not low.warnings


def test_the_monthly_cap_refuses_with_the_excess_and_other_months_are_apart():
    approved = [Allowance(day=date(2025, 4, 3), amount=Decimal("200"), kind=caps.FIXED)]
    verdict = caps.check(approved, Allowance(day=date(2025, 4, 20), amount=Decimal("15"), kind=caps.GIFT), TABLE)
    assert [(u.cap, u.excess) for u in verdict.refused] == [("monthly", Decimal("5.00"))]
    assert caps.check(approved, Allowance(day=date(2025, 5, 1), amount=Decimal("15"), kind=caps.GIFT), TABLE).allowed


def test_the_yearly_cap_is_per_fiscal_year():
    approved = [Allowance(day=date(2026, month, 1), amount=Decimal("210"), kind=caps.FIXED) for month in range(1, 11)]
    verdict = caps.check(approved, Allowance(day=date(2026, 11, 2), amount=Decimal("150"), kind=caps.FIXED), TABLE)
    assert [(u.cap, u.excess) for u in verdict.refused] == [("yearly", Decimal("50.00"))]
    # A year not configured yet uses the latest earlier year's caps; before the table: refused.
    assert caps.check(approved, Allowance(day=date(2027, 1, 2), amount=Decimal("220"), kind=caps.FIXED), TABLE).allowed
    assert not caps.check([], Allowance(day=date(2027, 1, 2), amount=Decimal("221"), kind=caps.FIXED), TABLE).allowed
    with pytest.raises(caps.UnknownYear):
        caps.check([], Allowance(day=date(2024, 1, 2), amount=Decimal("10"), kind=caps.FIXED), TABLE)


def test_a_configured_year_extends_the_table_and_bad_values_are_refused():
    table = caps.cap_table({"2027": {"hourly_adult": "5.90", "hourly_young": "3.50", "monthly": "230", "yearly": "2300"}})
    assert table[2027].monthly == Decimal("230") and table[2026] == TABLE[2026]
    assert caps.check([], Allowance(day=date(2027, 1, 5), amount=Decimal("229"), kind=caps.FIXED), table).allowed
    with pytest.raises(ValueError):
        caps.cap_table({"2027": {"hourly_adult": "x"}})
    with pytest.raises(ValueError):
        caps.cap_table({"2027": {"hourly_adult": "0", "hourly_young": "1", "monthly": "1", "yearly": "1"}})


# The hourly caps of domain.md, written out here so the engine's table is checked against them.
DOMAIN_HOURLY_CAPS = {2025: {"21+": Decimal("5.60"), "under 21": Decimal("3.30")},
                      2026: {"21+": Decimal("5.75"), "under 21": Decimal("3.40")}}
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("20"), places=2)


@settings(max_examples=300, deadline=None)
@given(births, days, rates)
def test_terms_are_flagged_exactly_when_the_rate_is_above_the_hourly_cap_of_the_age_on_that_day(birth, day, rate):
    age = caps.age_on(birth, day)
    cap = DOMAIN_HOURLY_CAPS[day.year]["21+" if age >= 21 else "under 21"]
    check = caps.check_terms(caps.HOURLY, rate, Decimal(0), age, day, TABLE)
    assert check.exceeds(caps.HOURLY_CAP) == (rate > cap)
    assert [use.excess for use in check.exceeded] == ([rate - cap] if rate > cap else [])
    assert check.rate == min(rate, cap)  # what the member is proposed


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=40), days, rates, hours)
def test_the_planned_amount_at_the_rate_the_member_gets_is_checked_against_the_monthly_cap(age, day, rate, planned):
    check = caps.check_terms(caps.HOURLY, rate, planned, age, day, TABLE)
    planned_amount = caps.money(min(rate, TABLE[day.year].hourly_for(age)) * planned)
    monthly = [use for use in check.exceeded if use.cap == caps.MONTHLY_CAP]
    assert bool(monthly) == (planned_amount > TABLE[day.year].monthly)
    assert all(use.excess == planned_amount - TABLE[day.year].monthly for use in monthly)


def test_terms_on_the_21st_birthday_and_for_a_fixed_amount():
    birth = date(2005, 3, 10)
    day_before, birthday = date(2026, 3, 9), date(2026, 3, 10)
    before = caps.check_terms(caps.HOURLY, Decimal("5.75"), Decimal(4), caps.age_on(birth, day_before), day_before, TABLE)
    assert [(u.cap, u.limit, u.excess) for u in before.exceeded] == [("hourly", Decimal("3.40"), Decimal("2.35"))]
    assert before.rate == Decimal("3.40")
    on = caps.check_terms(caps.HOURLY, Decimal("5.75"), Decimal(4), caps.age_on(birth, birthday), birthday, TABLE)
    assert on.exceeded == () and on.rate == Decimal("5.75")
    # A fixed amount is paid at once: above the monthly cap (and the yearly one) whatever the age.
    fixed = caps.check_terms(caps.FIXED, Decimal("2500"), Decimal(0), 30, birthday, TABLE)
    assert [(u.cap, u.excess) for u in fixed.exceeded] == [("monthly", Decimal("2280.00")), ("yearly", Decimal("300.00"))]
    with pytest.raises(caps.UnknownYear):
        caps.check_terms(caps.HOURLY, Decimal("1"), Decimal(1), 30, date(2024, 5, 1), TABLE)


def test_tenant_settings_for_terms_and_caps_are_checked():
    from portal.agreements.terms import _check_agreement_terms, _check_volunteer_caps

    assert _check_agreement_terms({"youth": {"rate": "3.40", "payer": "Gemeente"}}) is None
    assert "rate" in _check_agreement_terms({"youth": {"rate": "veel"}})
    assert "basis" in _check_agreement_terms({"youth": {"basis": "cash"}})
    assert "unknown fields" in _check_agreement_terms({"parents": {"colour": "red"}})
    assert _check_agreement_terms({"pets": {}}) is not None
    assert _check_volunteer_caps({"2027": {"hourly_adult": "x"}}) is not None
    assert _check_volunteer_caps([]) == "must be a table per year"

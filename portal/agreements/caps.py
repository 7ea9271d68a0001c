"""The volunteer-allowance cap engine: pure rules, no HTTP, no database.

Dutch tax law lets an organisation pay a volunteer an untaxed allowance only while three caps
hold at once, per payer and per fiscal year: an hourly rate (lower under 21, by age on the day
of the activity), a monthly total and a yearly total. Gifts in kind count towards the totals;
expenses reimbursed against receipts do not (they never reach this module). Going over a single
cap makes the whole allowance taxable, so an approval that would exceed one is refused, and the
officer is warned from 80% of a cap.

The caps are a yearly table as data: ``BUILT_IN_CAPS`` holds 2025 and 2026 (domain.md); a
tenant adds or corrects years through its ``volunteer_caps`` setting (see ``cap_table``).
Money is Decimal, rounded to cents; never float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
WARNING_SHARE = Decimal("0.8")
ADULT_RATE_AGE = 21

# Kinds of allowance the caps apply to.
HOURLY = "hourly"  # a volunteer allowance per hour: amount = hours x rate
FIXED = "fixed"  # a fixed volunteer allowance (no hours)
GIFT = "gift"  # a gift in kind (a voucher): counts towards the monthly and yearly caps
ALLOWANCE_KINDS = (HOURLY, FIXED, GIFT)

# Which cap; the service turns these into messages.
HOURLY_CAP = "hourly"
MONTHLY_CAP = "monthly"
YEARLY_CAP = "yearly"


@dataclass(frozen=True)
class YearCaps:
    hourly_adult: Decimal  # 21 and over
    hourly_young: Decimal  # under 21
    monthly: Decimal
    yearly: Decimal

    def hourly_for(self, age: int) -> Decimal:
        return self.hourly_adult if age >= ADULT_RATE_AGE else self.hourly_young


BUILT_IN_CAPS: dict[int, YearCaps] = {
    2025: YearCaps(Decimal("5.60"), Decimal("3.30"), Decimal("210"), Decimal("2100")),
    2026: YearCaps(Decimal("5.75"), Decimal("3.40"), Decimal("220"), Decimal("2200")),
}
CAP_FIELDS = ("hourly_adult", "hourly_young", "monthly", "yearly")


class UnknownYear(Exception):
    """No caps are known for this fiscal year: configure them before approving."""


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def cap_table(configured: Mapping | None = None) -> dict[int, YearCaps]:
    """The built-in years, with a tenant's configured years added or replacing them.

    ``configured`` maps a year ("2027") to the four amounts (``CAP_FIELDS``); a year with a
    missing or unreadable amount raises ValueError (the tenant loader reports it).
    """
    table = dict(BUILT_IN_CAPS)
    for year, amounts in (configured or {}).items():
        try:
            values = [Decimal(str(amounts[name])) for name in CAP_FIELDS]
        except (KeyError, TypeError, InvalidOperation) as error:
            raise ValueError(f"volunteer_caps {year}: give {', '.join(CAP_FIELDS)} as amounts") from error
        if any(not value.is_finite() or value <= 0 for value in values):
            raise ValueError(f"volunteer_caps {year}: amounts must be above zero")
        table[int(year)] = YearCaps(*values)
    return table


def caps_for(table: Mapping[int, YearCaps], year: int) -> YearCaps:
    """The caps of ``year``; a later year not configured yet uses the latest earlier year (caps
    only ever rose), so approvals in January do not stop before the new amounts are entered."""
    known = [candidate for candidate in table if candidate <= year]
    if not known:
        raise UnknownYear(year)
    return table[max(known)]


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day`` (someone born on 29 February turns a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class Allowance:
    """One entry that counts towards the caps, for one member and one payer."""

    day: date
    amount: Decimal
    kind: str = HOURLY
    hours: Decimal = Decimal(0)
    age: int = ADULT_RATE_AGE  # on ``day``


@dataclass(frozen=True)
class CapUse:
    """How much of one cap is used, counting the candidate entry."""

    cap: str
    limit: Decimal
    used: Decimal

    @property
    def excess(self) -> Decimal:
        return max(self.used - self.limit, Decimal(0))

    @property
    def share(self) -> Decimal:
        return self.used / self.limit


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a candidate: ``refused`` caps (with the excess) and ``warnings``
    (caps at 80% or more). Approve only when ``allowed``."""

    refused: tuple[CapUse, ...] = ()
    warnings: tuple[CapUse, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.refused

    def largest_allowed(self, amount: Decimal) -> Decimal:
        """The largest part of the candidate's ``amount`` every cap allows: each cap's use grows
        one for one with the amount, so taking off the largest excess makes every cap fit."""
        return max(amount - max((use.excess for use in self.refused), default=Decimal(0)), Decimal(0))


def _hourly_use(candidate: Allowance, caps: YearCaps) -> CapUse | None:
    if candidate.kind != HOURLY or candidate.hours <= 0:
        return None
    limit = money(caps.hourly_for(candidate.age) * candidate.hours)
    return CapUse(HOURLY_CAP, limit, money(candidate.amount))


def check(approved: Iterable[Allowance], candidate: Allowance, table: Mapping[int, YearCaps]) -> Verdict:
    """May ``candidate`` be approved next to the already ``approved`` entries of the same member
    and payer? The hourly cap applies to the candidate alone (by age on its day); the monthly and
    yearly caps to the totals of its calendar month and fiscal year."""
    caps = caps_for(table, candidate.day.year)
    year = [entry for entry in approved if entry.day.year == candidate.day.year]
    month = [entry for entry in year if entry.day.month == candidate.day.month]
    uses = [
        _hourly_use(candidate, caps),
        CapUse(MONTHLY_CAP, caps.monthly, money(sum((e.amount for e in month), candidate.amount))),
        CapUse(YEARLY_CAP, caps.yearly, money(sum((e.amount for e in year), candidate.amount))),
    ]
    uses = [use for use in uses if use is not None]
    return Verdict(
        refused=tuple(use for use in uses if use.used > use.limit),
        warnings=tuple(use for use in uses if use.limit >= use.used >= use.limit * WARNING_SHARE),
    )


@dataclass(frozen=True)
class TermCheck:
    """Terms for one member against the caps of their age on the planned activity day: the rate
    they can be proposed (their hourly cap when the terms' rate is above it) and the caps the
    terms exceed (an hourly cap per hour: ``used`` is the rate, ``limit`` the cap)."""

    rate: Decimal
    exceeded: tuple[CapUse, ...] = ()

    def exceeds(self, cap: str) -> bool:
        return any(use.cap == cap for use in self.exceeded)


def check_terms(kind: str, rate, planned_hours, age: int, day: date, table: Mapping[int, YearCaps]) -> TermCheck:
    """Check proposed terms of ``kind`` for a member of ``age`` on the planned activity ``day``.

    An hourly rate above the member's hourly cap exceeds it by the difference per hour; the
    member can be paid at most the cap. What the round pays with the rate the member can get
    (the planned hours at that rate, or the fixed amount) is checked against the monthly and
    yearly caps, as if no other allowance were paid that month or year.
    """
    year_caps = caps_for(table, day.year)
    rate = money(rate)
    exceeded = []
    if kind == HOURLY:
        hourly = year_caps.hourly_for(age)
        if rate > hourly:
            exceeded.append(CapUse(HOURLY_CAP, hourly, rate))
            rate = hourly
        planned = money(rate * Decimal(str(planned_hours)))
    else:
        planned = rate
    exceeded.extend(CapUse(cap, limit, planned) for cap, limit in (
        (MONTHLY_CAP, year_caps.monthly), (YEARLY_CAP, year_caps.yearly)) if planned > limit)
    return TermCheck(rate, tuple(exceeded))

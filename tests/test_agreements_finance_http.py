"""Agreements and payments that finance can use (issue 10): terms checked against each member's
hourly cap, the payments CSV (entry states, pending amounts, dialects, formula-safe), approving a
smaller amount, and export periods that are wrong."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.accounts.tables import User
from portal.agreements.tables import Claim, PaymentAgreement, RoundTerms
from portal.core.i18n import current_locale
from portal.core.templating import format_date as _format_date
from portal.panels.tables import PanelMembership
from portal.privacy.tables import PersonalDetails
from portal.rounds import service as rounds
from tests import test_agreements_http
from tests.support import login, nl
from tests.test_agreements_http import (
    PDF,
    TERMS,
    accept_both,
    agreement_of,
    log,
    send_with_terms,
    submit,
)

world = test_agreements_http.world  # the fixture: a draft round to a parent panel, the officer logged in

EURO = "€\xa0"


def per_hour(amount: str) -> str:
    return nl("%(amount)s an hour", amount=EURO + amount)


def activity_day(world) -> date:
    return rounds.deadline_date(world["round"].deadline)


async def make_19_on_the_activity_day(world) -> None:
    born = activity_day(world).replace(year=activity_day(world).year - 19)
    await world["scope"].new(PersonalDetails, user=world["member"].id, date_of_birth=born).save()


def format_date(day: date) -> str:
    token = current_locale.set("nl")
    try:
        return _format_date(day)
    finally:
        current_locale.reset(token)


def excess_rows(html: str) -> list[str]:
    """The rows of the table of members the terms exceed a cap for, cells joined by " | "."""
    section = html.split('id="excesses-heading"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr class="utrecht-table__row">(.*?)</tr>', section, flags=re.S)
    return [" | ".join(re.sub(r"[ \n]+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
                       for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)) for row in rows]


# --- terms against each member's cap -----------------------------------------------------------


async def test_the_terms_page_shows_whom_the_rate_exceeds_and_by_how_much_before_and_after_saving(client, world):
    await make_19_on_the_activity_day(world)
    url = f"/t/alpha/rounds/{world['round'].id}/terms"
    page = await client.get(url)  # the parents' defaults: 5.75 an hour
    assert page.status_code == 200
    rows = excess_rows(page.text)
    assert rows[1:] == [f"Moeder van twee | {nl('18 to 20')} | {per_hour('3,40')} | {per_hour('5,75')} | "
                        f"{per_hour('2,35')}"]
    born = activity_day(world).replace(year=activity_day(world).year - 19)
    assert born.isoformat() not in page.text and format_date(born) not in page.text

    # Checking other terms saves nothing; within the caps it says so.
    fine = await submit(client, url, {**TERMS, "rate": "3,40", "action": "check"})
    assert fine.status_code == 200 and 'id="excesses-heading"' not in fine.text
    assert nl("Nothing has been saved yet.") in fine.text and 'value="3,40"' in fine.text
    planned = await submit(client, url, {**TERMS, "planned_hours": "40", "action": "check"})
    assert excess_rows(planned.text)[1:] == [
        f"Moeder van twee | {nl('18 to 20')} | {per_hour('3,40')} | {per_hour('5,75')} | {per_hour('2,35')}",
        f"Vader | {nl('27 or older')} | {nl('%(amount)s a month', amount=EURO + '220,00')} | "
        f"{nl('%(amount)s in this round', amount=EURO + '230,00')} | {EURO}10,00",
    ]
    assert await world["scope"].count(RoundTerms) == 0

    # Saving warns, the round's pages show it, and the under-21 member is proposed her cap.
    saved = await submit(client, url, TERMS)
    assert saved.status_code == 303
    agreements = await client.get(saved.headers["location"])
    assert nl("The terms are above a volunteer allowance cap for %(names)s: see the table.",
              names="Moeder van twee") in agreements.text
    assert "Moeder van twee | " in "\n".join(excess_rows(agreements.text))
    round_page = await client.get(f"/t/alpha/rounds/{world['round'].id}")
    assert nl("The payment terms are above a volunteer allowance cap for %(names)s. A rate above a member's "
              "hourly cap is proposed to them as the cap; the terms page shows each cap and by how much.",
              names="Moeder van twee") in round_page.text
    assert (await submit(client, f"/t/alpha/rounds/{world['round'].id}/send")).status_code == 303
    assert (await agreement_of(world, world["member"])).rate == Decimal("3.40")
    assert (await agreement_of(world, world["other"])).rate == Decimal("5.75")


async def test_without_a_date_of_birth_the_age_band_decides(client, world):
    await world["scope"].update(PanelMembership, {PanelMembership.age_band: "16_17"}).where(
        PanelMembership.user == world["other"].id)
    page = await client.get(f"/t/alpha/rounds/{world['round'].id}/terms")
    assert excess_rows(page.text)[1:] == [f"Vader | {nl('16 or 17')} | {per_hour('3,40')} | {per_hour('5,75')} | "
                                          f"{per_hour('2,35')}"]


async def test_terms_for_one_member_above_their_own_cap_are_refused_next_to_the_rate(client, world):
    await make_19_on_the_activity_day(world)
    await send_with_terms(client, world, rate="3,40")
    payment = await agreement_of(world, world["member"])
    refused = await submit(client, f"/t/alpha/agreements/{payment.id}/terms", {**TERMS, "rate": "5,00"})
    assert refused.status_code == 422
    assert 'id="field-rate-error"' in refused.text and 'value="5,00"' in refused.text
    assert nl("On the activity date this member is in the age group %(band)s, with a volunteer allowance cap of "
              "%(cap)s an hour. This rate is %(excess)s above it: choose at most %(cap)s.",
              band=nl("18 to 20"), cap=f"{EURO}3,40", excess=f"{EURO}1,60") in refused.text
    assert (await agreement_of(world, world["member"])).rate == Decimal("3.40")
    assert (await submit(client, f"/t/alpha/agreements/{payment.id}/terms",
                         {**TERMS, "rate": "3,40", "planned_hours": "6"})).status_code == 303


async def test_a_fixed_amount_above_the_monthly_cap_is_refused(client, world):
    url = f"/t/alpha/rounds/{world['round'].id}/terms"
    refused = await submit(client, url, {**TERMS, "basis": "volunteer_fixed", "rate": "250"})
    assert refused.status_code == 422 and 'id="field-rate-error"' in refused.text
    assert nl("This amount is above the volunteer allowance cap of %(cap)s a month in %(year)s, so it could never "
              "be approved. Choose at most %(cap)s, or a basis outside the volunteer allowance.",
              cap=f"{EURO}220,00", year=activity_day(world).year) in refused.text
    assert await world["scope"].count(RoundTerms) == 0
    assert (await submit(client, url, {**TERMS, "basis": "volunteer_fixed", "rate": "200"})).status_code == 303


# --- the payments CSV ---------------------------------------------------------------------------


def read_csv(response, delimiter=";") -> list[dict]:
    assert response.headers.get_list("content-type") == ["text/csv; charset=utf-8"]
    text = response.content.decode("utf-8")
    if delimiter == ";":
        assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter))


@pytest.fixture
async def payments(client, world):
    """Approved hours (2 x 5.75), a pending expense and pending hours (3 x 5.75); the payee has
    named themselves like a formula."""
    await User.update({User.name: "=HYPERLINK(\"https://evil.example\")"}).where(User.id == world["member"].id)
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert (await log(client, payment, hours="2", activity_date=yesterday)).status_code == 303
    assert (await log(client, payment, kind="expense", amount="12,50",
                      receipt_file=("bon.pdf", PDF, "application/pdf"))).status_code == 303
    assert (await log(client, payment, hours="3")).status_code == 303
    first = await world["scope"].objects(Claim).order_by(Claim.id).first()
    await login(client, world["officer"].email)
    assert (await submit(client, f"/t/alpha/claims/{first.id}/approve")).status_code == 303
    return payment


async def test_the_csv_shows_each_entry_state_empty_hours_for_expenses_and_what_approval_would_pay(client, world, payments):
    response = await client.get("/t/alpha/payments/export.csv")
    assert response.status_code == 200
    rows = read_csv(response)
    status, hours, amount, payee = nl("Status"), nl("Hours"), nl("Amount"), nl("Payee")
    assert [(row[nl("Kind")], row[hours], row[amount], row[status]) for row in rows] == [
        (nl("hours"), "2,00", "11,50", nl("approved")),
        (nl("expense"), "", "12,50", nl("waiting for approval")),
        (nl("hours"), "3,00", "17,25", nl("waiting for approval")),
    ]
    assert {row[payee] for row in rows} == {"'=HYPERLINK(\"https://evil.example\")"}
    page = await client.get("/t/alpha/payments")
    assert f"{EURO}17,25" in page.text and nl("waiting for approval") in page.text

    # Approve the rest, submit and pay: every entry is paid, not the agreement "submitted".
    for claim in await world["scope"].objects(Claim).where(Claim.status == "submitted"):
        assert (await submit(client, f"/t/alpha/claims/{claim.id}/approve")).status_code == 303
    assert (await submit(client, f"/t/alpha/agreements/{payments.id}/submit")).status_code == 303
    plain = read_csv(await client.get("/t/alpha/payments/export.csv?format=plain"), delimiter=",")
    assert {row[status] for row in plain} == {nl("approved")}
    assert [row[amount] for row in plain] == ["11.50", "12.50", "17.25"]
    assert (await submit(client, f"/t/alpha/agreements/{payments.id}/paid",
                         {"paid_on": date.today().isoformat()})).status_code == 303
    paid = read_csv(await client.get("/t/alpha/payments/export.csv"))
    assert {row[status] for row in paid} == {nl("paid")}
    assert {row[nl("Paid on")] for row in paid} == {date.today().isoformat()}


async def test_a_fixed_amount_waiting_twice_is_counted_once(client, world):
    await send_with_terms(client, world, basis="volunteer_fixed", rate="50")
    payment = await accept_both(client, world, world["member"])
    for _ in range(2):
        assert (await log(client, payment, hours="1")).status_code == 303
    await login(client, world["officer"].email)
    rows = read_csv(await client.get("/t/alpha/payments/export.csv"))
    assert [row[nl("Amount")] for row in rows] == ["50,00", "0,00"]


async def test_the_yearly_report_in_both_formats(client, world):
    await send_with_terms(client, world, basis="freelance_fee", rate="40")
    payment = await accept_both(client, world, world["member"])
    assert (await log(client, payment, hours="2")).status_code == 303
    await login(client, world["officer"].email)
    claim = await world["scope"].objects(Claim).first()
    assert (await submit(client, f"/t/alpha/claims/{claim.id}/approve")).status_code == 303
    year = date.today().year
    nl_rows = read_csv(await client.get(f"/t/alpha/payments/reportable.csv?year={year}"))
    assert [row[nl("Total amount")] for row in nl_rows] == ["80,00"]
    plain = read_csv(await client.get(f"/t/alpha/payments/reportable.csv?year={year}&report_format=plain"), ",")
    assert [row[nl("Total amount")] for row in plain] == ["80.00"]


# --- approving a smaller amount ----------------------------------------------------------------


async def test_the_officer_approves_the_smaller_amount_the_refusal_names(client, world):
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    for hours in ("13", "13", "5", "8"):  # x 5.75 = 74.75, 74.75, 28.75, 46.00 in one month
        assert (await log(client, payment, hours=hours)).status_code == 303
    claims = await world["scope"].objects(Claim).order_by(Claim.id)
    await login(client, world["officer"].email)
    for claim in claims[:3]:
        assert (await submit(client, f"/t/alpha/claims/{claim.id}/approve")).status_code == 303
    last = claims[3]
    url = f"/t/alpha/claims/{last.id}/approve"
    field = f"amount_{last.id}"

    page = await client.get(f"/t/alpha/agreements/{payment.id}")
    assert f'id="field-{field}"' in page.text
    assert nl("Leave empty to approve the full %(amount)s. Enter a smaller amount only when the caps leave no "
              "room for all of it.", amount=f"{EURO}46,00") in page.text
    refused = await submit(client, url)
    assert refused.status_code == 422 and f'id="field-{field}-error"' in refused.text
    assert nl("At most %(amount)s fits within the caps: approve that amount, and pay the rest outside the "
              "volunteer allowance if it is due.", amount=f"{EURO}41,75") in refused.text

    for bad, message in (("0", None), ("-5", None), ("abc", None), ("1e9", None),
                         ("46,01", nl("Approve at most %(amount)s: what this entry is worth.", amount=f"{EURO}46,00")),
                         ("42", nl("This would exceed %(cap)s of %(limit)s by %(excess)s.", cap=nl("the monthly cap"),
                                   limit=f"{EURO}220,00", excess=f"{EURO}0,25"))):
        response = await submit(client, url, {field: bad})
        assert response.status_code == 422, bad
        assert f'id="field-{field}-error"' in response.text and f'value="{bad}"' in response.text, bad
        assert message is None or message in response.text, bad
    assert (await world["scope"].get(Claim, last.id)).status == "submitted"

    approved = await submit(client, url, {field: "41,75"})
    assert approved.status_code == 303
    claim = await world["scope"].get(Claim, last.id)
    assert (claim.status, claim.amount) == ("approved", Decimal("41.75"))


async def test_a_smaller_amount_for_an_expense(client, world):
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    assert (await log(client, payment, kind="expense", amount="30",
                      receipt_file=("bon.pdf", PDF, "application/pdf"))).status_code == 303
    claim = await world["scope"].objects(Claim).first()
    await login(client, world["officer"].email)
    assert (await submit(client, f"/t/alpha/claims/{claim.id}/approve", {f"amount_{claim.id}": "20"})).status_code == 303
    assert (await world["scope"].get(Claim, claim.id)).amount == Decimal("20.00")


# --- export periods ------------------------------------------------------------------------------


@pytest.mark.parametrize("query, field, message", [
    ("start=2026-05-01&end=2026-04-01", "end",
     nl("The end date is before the start date. Choose an end date on or after %(start)s.", start="1 mei 2026")),
    ("start=2026-02-30&end=2026-04-01", "start", None),
    ("start=1-5-2026&end=2026-04-01", "start", None),
    ("start=0001-01-01&end=2026-04-01", "start", None),
    ("start=2026-01-01&end=9999-12-31", "end", None),
    ("start=&end=2026-04-01", "start", None),
    ("start=2026-01-01&end=2026-04-01&format=xlsx", "format", None),
])
async def test_a_wrong_period_is_an_error_next_to_the_field_never_a_one_day_export(client, world, query, field, message):
    for url in ("/t/alpha/payments/export.csv", "/t/alpha/payments"):
        response = await client.get(f"{url}?{query}")
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("text/html")
        assert f'id="field-{field}-error"' in response.text
        assert message is None or message in response.text
        for value in query.split("&"):
            name, _, raw = value.partition("=")
            if name in ("start", "end") and raw:
                assert f'value="{raw}"' in response.text


@pytest.mark.parametrize("year", ["1900", "abc", "", "3000"])
async def test_a_wrong_report_year_is_an_error_next_to_the_field(client, world, year):
    response = await client.get(f"/t/alpha/payments/reportable.csv?year={year}")
    assert response.status_code == 422 and 'id="field-year-error"' in response.text


async def test_the_payments_page_queries_do_not_grow_with_pending_entries(client, world):
    from portal.core.database import query_counter

    await send_with_terms(client, world, basis="volunteer_fixed", rate="50")
    payment = await accept_both(client, world, world["member"])
    await log(client, payment, hours="1")
    await login(client, world["officer"].email)

    async def count() -> int:
        with query_counter.measure() as measured:
            assert (await client.get("/t/alpha/payments/export.csv")).status_code == 200
        return measured["queries"]

    few = await count()
    other = await accept_both(client, world, world["other"])
    for _ in range(5):
        await log(client, other, hours="1")
    await login(client, world["officer"].email)
    assert await world["scope"].count(PaymentAgreement) == 2
    assert await count() == few

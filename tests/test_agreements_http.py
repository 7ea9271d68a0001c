"""Agreements through HTTP: terms when sending, accept or ask to change, the posting check, hours
and expenses with approval through the caps, and the bad input of issue 6."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.accounts.tables import Membership
from portal.agreements.tables import Claim, OwnershipAgreement, PaymentAgreement, RoundTerms
from portal.core.audit import AuditEntry
from portal.core.tenancy import TenantScope
from portal.deliberation import service as deliberation
from portal.panels.tables import PanelMembership
from portal.privacy.tables import PersonalDetails
from portal.rounds import service as rounds
from tests.support import (
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    login,
    make_tenant,
    make_user,
    nl,
    post_form,
)


async def submit(client, url, data=None, **kwargs):
    """POST a form without following the redirect, to see the 303."""
    kwargs.setdefault("follow_redirects", False)
    return await post_form(client, url, data, **kwargs)

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
TERMS = {
    "basis": "volunteer_hourly", "payer": "Gemeente Alpha", "rate": "5,75", "planned_hours": "4",
    "owner": "member", "licence": "approval", "attribution": "pseudonym", "review_edits": "1",
    "withdrawal_terms": "Terugtrekken kan altijd.",
}


@pytest.fixture
async def world(client):
    """A draft round to a parent panel with two members; the client is logged in as the officer."""
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    member = await build_panel_member(tenant, parents, "ouder@alpha.example", display_name="Moeder van twee")
    other = await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader")
    round_ = await build_round(tenant, stage, panels=[parents])
    await login(client, officer.email)
    return {"tenant": tenant, "officer": officer, "member": member, "other": other, "round": round_,
            "scope": TenantScope(tenant), "parents": parents}


async def send_with_terms(client, world, **changes):
    response = await submit(client, f"/t/alpha/rounds/{world['round'].id}/terms", {**TERMS, **changes})
    assert response.status_code == 303, response.text
    response = await submit(client, f"/t/alpha/rounds/{world['round'].id}/send")
    assert response.status_code == 303, response.text


async def agreement_of(world, user) -> PaymentAgreement:
    return await world["scope"].objects(PaymentAgreement).where(PaymentAgreement.user == user.id).first()


async def accept_both(client, world, user) -> PaymentAgreement:
    payment = await agreement_of(world, user)
    ownership = await world["scope"].objects(OwnershipAgreement).where(OwnershipAgreement.user == user.id).first()
    await login(client, user.email)
    assert (await submit(client, f"/t/alpha/agreements/{payment.id}/accept")).status_code == 303
    assert (await submit(client, f"/t/alpha/ownership/{ownership.id}/accept")).status_code == 303
    return payment


async def test_sending_proposes_the_terms_and_the_member_accepts_before_posting(client, world):
    await send_with_terms(client, world)
    payment = await agreement_of(world, world["member"])
    assert (payment.status, payment.rate, payment.unit, payment.fiscal_year) == (
        "proposed", Decimal("5.75"), "hour", rounds.deadline_date(world["round"].deadline).year)
    round_ = await world["scope"].get(type(world["round"]), world["round"].id)
    threads = await deliberation.ensure_round_threads(world["scope"], round_)
    thread = threads[0]
    await login(client, world["member"].email)
    refused = await submit(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Mijn ervaring."})
    assert refused.status_code == 403
    assert nl("Accept your payment and ownership agreements for this round before you post.") in refused.text
    page = await client.get(f"/t/alpha/agreements/{payment.id}")
    assert page.status_code == 200 and "Gemeente Alpha" in page.text
    home = await client.get("/t/alpha/")
    assert nl("Agreements to read and accept") in home.text and f"/agreements/{payment.id}" in home.text
    await accept_both(client, world, world["member"])
    posted = await submit(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Mijn ervaring."})
    assert posted.status_code == 303
    assert nl("Agreements to read and accept") not in (await client.get("/t/alpha/")).text
    actions = {row["action"] for row in await AuditEntry.select(AuditEntry.action)}
    assert {"payment_agreement.proposed", "payment_agreement.agreed", "ownership_agreement.accepted",
            "round_terms.saved"} <= actions


async def test_asking_for_a_change_and_the_officer_proposing_again(client, world):
    await send_with_terms(client, world)
    payment = await agreement_of(world, world["member"])
    await login(client, world["member"].email)
    empty = await submit(client, f"/t/alpha/agreements/{payment.id}/change", {"change_request": "  "})
    assert empty.status_code == 422 and nl("Write what you would like to change.") in empty.text
    asked = await submit(client, f"/t/alpha/agreements/{payment.id}/change", {"change_request": "Liever 3 uur."})
    assert asked.status_code == 303
    await login(client, world["officer"].email)
    overview = await client.get(f"/t/alpha/rounds/{world['round'].id}/agreements")
    assert "Moeder van twee" in overview.text
    await submit(client, f"/t/alpha/rounds/{world['round'].id}/terms", {**TERMS, "planned_hours": "3"})
    payment = await agreement_of(world, world["member"])
    assert payment.planned_hours == Decimal("3") and payment.change_request == ""
    # Other terms for this one member only.
    assert (await client.get(f"/t/alpha/agreements/{payment.id}/terms")).status_code == 200
    bad = await submit(client, f"/t/alpha/agreements/{payment.id}/terms", {**TERMS, "rate": "-3"})
    assert bad.status_code == 422
    own = await submit(client, f"/t/alpha/agreements/{payment.id}/terms", {**TERMS, "planned_hours": "6",
                                                                         "attribution": "anonymous"})
    assert own.status_code == 303
    assert (await agreement_of(world, world["member"])).planned_hours == Decimal("6")
    assert (await agreement_of(world, world["other"])).planned_hours == Decimal("3")
    ownership = await world["scope"].objects(OwnershipAgreement).where(OwnershipAgreement.user == world["member"].id).first()
    assert ownership.attribution == "anonymous"
    await accept_both(client, world, world["member"])
    await login(client, world["officer"].email)
    late = await submit(client, f"/t/alpha/agreements/{payment.id}/terms", TERMS)
    assert late.status_code == 409


async def test_another_member_cannot_see_or_answer_my_agreement(client, world):
    await send_with_terms(client, world)
    payment = await agreement_of(world, world["member"])
    await login(client, world["other"].email)
    assert (await client.get(f"/t/alpha/agreements/{payment.id}")).status_code == 404
    assert (await submit(client, f"/t/alpha/agreements/{payment.id}/accept")).status_code == 404


async def test_terms_bad_input(client, world):
    url = f"/t/alpha/rounds/{world['round'].id}/terms"
    above_cap = await submit(client, url, {**TERMS, "rate": "9"})
    assert above_cap.status_code == 422
    assert nl("This rate is above the volunteer allowance cap of %(cap)s an hour in %(year)s. "
              "Choose at most %(cap)s, or a freelance fee.", cap="€ 5,75",
              year=rounds.deadline_date(world["round"].deadline).year).replace("\xa0", " ") in above_cap.text.replace("\xa0", " ")
    open_licence = await submit(client, url, {**TERMS, "licence": "cc_by"})
    assert open_licence.status_code == 422 and nl("An open licence cannot be withdrawn once the text is published. "
                                                  "Tick the box to confirm that this is intended.") in open_licence.text
    confirmed = await submit(client, url, {**TERMS, "licence": "cc0", "confirm_open_licence": "1"})
    assert confirmed.status_code == 303
    world["round"].need = "individual_story"
    await world["scope"].update(type(world["round"]), {type(world["round"]).need: "individual_story"})
    story = await submit(client, url, {**TERMS, "licence": "cc0", "confirm_open_licence": "1"})
    assert story.status_code == 422 and "personal story" in story.text.lower() or "persoonlijk verhaal" in story.text
    for bad in ({"rate": "-1"}, {"rate": "abc"}, {"basis": "cash"}, {"planned_hours": "1e9"}, {"payer": ""}):
        assert (await submit(client, url, {**TERMS, **bad})).status_code == 422
    assert await world["scope"].count(RoundTerms) == 1


async def test_an_under_21_member_gets_the_lower_rate(client, world):
    await world["scope"].new(PersonalDetails, user=world["member"].id,
                             date_of_birth=date.today() - timedelta(days=365 * 19)).save()
    await send_with_terms(client, world)
    payment = await agreement_of(world, world["member"])
    assert payment.rate == Decimal("3.40") and payment.age_band == "18_20"
    assert (await agreement_of(world, world["other"])).rate == Decimal("5.75")


async def log(client, payment, **data):
    values = {"kind": "hours", "activity_date": date.today().isoformat(), "hours": "2", **data}
    files = {"receipt": data.pop("receipt_file")} if "receipt_file" in data else None
    values.pop("receipt_file", None)
    return await submit(client, f"/t/alpha/agreements/{payment.id}/claims", values, files=files)


async def test_hours_are_logged_approved_through_the_caps_and_paid(client, world):
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    assert (await log(client, payment, hours="2")).status_code == 303
    assert (await agreement_of(world, world["member"])).status == "hours_logged"
    claim = await world["scope"].objects(Claim).first()
    await login(client, world["officer"].email)
    approved = await submit(client, f"/t/alpha/claims/{claim.id}/approve")
    assert approved.status_code == 303
    claim = await world["scope"].get(Claim, claim.id)
    assert (claim.status, claim.amount) == ("approved", Decimal("11.50"))
    again = await submit(client, f"/t/alpha/claims/{claim.id}/approve")
    assert again.status_code == 409
    assert (await submit(client, f"/t/alpha/agreements/{payment.id}/submit")).status_code == 303
    assert (await submit(client, f"/t/alpha/agreements/{payment.id}/paid",
                            {"paid_on": date.today().isoformat()})).status_code == 303
    assert (await agreement_of(world, world["member"])).status == "paid"
    await login(client, world["member"].email)
    statement = await client.get(f"/t/alpha/statement?year={date.today().year}")
    assert nl("Paid: %(amount)s", amount="€\xa011,50") in statement.text


async def test_an_approval_above_the_monthly_cap_is_refused_with_the_cap_and_the_excess(client, world):
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    for hours in ("13", "13", "5", "8"):  # x 5.75 = 74.75, 74.75, 28.75, 46.00
        assert (await log(client, payment, hours=hours)).status_code == 303
    claims = await world["scope"].objects(Claim).order_by(Claim.id)
    await login(client, world["officer"].email)
    for claim in claims[:2]:
        assert (await submit(client, f"/t/alpha/claims/{claim.id}/approve")).status_code == 303
    warned = await submit(client, f"/t/alpha/claims/{claims[2].id}/approve", follow_redirects=True)
    assert nl("%(share)s%% of %(cap)s (%(limit)s) is used.", share=81, cap=nl("the monthly cap"),
              limit="€\xa0220,00") in warned.text  # 178.25 of 220
    usage = await client.get(f"/t/alpha/agreements/{payment.id}")
    assert nl("%(cap)s: %(used)s of %(limit)s used (%(share)s%%)", cap=nl("the monthly cap"), used="€\xa0178,25",
              limit="€\xa0220,00", share=81) in usage.text
    assert nl("(80%% or more: approve with care)").replace("%%", "%") in usage.text
    refused = await submit(client, f"/t/alpha/claims/{claims[3].id}/approve")
    assert refused.status_code == 422
    assert nl("This would exceed %(cap)s of %(limit)s by %(excess)s.", cap=nl("the monthly cap"),
              limit="€\xa0220,00", excess="€\xa04,25") in refused.text  # 224.25 - 220
    assert (await world["scope"].get(Claim, claims[3].id)).status == "submitted"


async def test_claim_bad_input(client, world):
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    for bad in ({"hours": "-2"}, {"hours": "1000"}, {"hours": "abc"}, {"kind": "bonus"},
                {"activity_date": (date.today() + timedelta(days=3)).isoformat()}, {"activity_date": "gisteren"}):
        response = await log(client, payment, **bad)
        assert response.status_code == 422, bad
    no_receipt = await log(client, payment, kind="expense", amount="12,50")
    assert no_receipt.status_code == 422
    assert nl("Add the receipt: an expense is paid only against a receipt.") in no_receipt.text
    fake = await log(client, payment, kind="expense", amount="12,50",
                     receipt_file=("bon.pdf", b"MZ not a pdf", "application/pdf"))
    assert fake.status_code == 422 and nl("Add the receipt as a PDF, JPEG or PNG file.") in fake.text
    assert await world["scope"].count(Claim) == 0
    good = await log(client, payment, kind="expense", amount="12,50", receipt_file=("bon.pdf", PDF, "application/pdf"))
    assert good.status_code == 303
    claim = await world["scope"].objects(Claim).first()
    receipt = await client.get(f"/t/alpha/claims/{claim.id}/receipt")
    assert receipt.status_code == 200 and receipt.content == PDF
    await login(client, world["other"].email)
    assert (await client.get(f"/t/alpha/claims/{claim.id}/receipt")).status_code == 404
    await login(client, world["officer"].email)
    no_reason = await submit(client, f"/t/alpha/claims/{claim.id}/reject", {"reason": ""})
    assert no_reason.status_code == 422
    assert (await submit(client, f"/t/alpha/claims/{claim.id}/reject", {"reason": "Bon onleesbaar"})).status_code == 303


async def test_the_officer_pages_issue_the_same_number_of_queries_for_more_members_and_entries(client, world):
    from portal.core.database import query_counter

    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    await log(client, payment, hours="1")
    await login(client, world["officer"].email)
    pages = [f"/t/alpha/rounds/{world['round'].id}/agreements", f"/t/alpha/agreements/{payment.id}",
             "/t/alpha/payments"]

    async def counts() -> list[int]:
        result = []
        for url in pages:
            with query_counter.measure() as measured:
                assert (await client.get(url)).status_code == 200
            result.append(measured["queries"])
        return result

    few = await counts()
    for number in range(8):
        await build_panel_member(world["tenant"], world["parents"], f"lid{number}@alpha.example")
    await submit(client, f"/t/alpha/rounds/{world['round'].id}/terms", TERMS)  # proposes to the new members
    await login(client, world["member"].email)
    for _ in range(6):
        await log(client, payment, hours="1")
    await login(client, world["officer"].email)
    for claim in await world["scope"].objects(Claim):
        await submit(client, f"/t/alpha/claims/{claim.id}/approve")
    assert await world["scope"].count(PaymentAgreement) == 10
    assert await counts() == few


async def test_a_member_removed_from_the_space_leaves_their_panels_and_their_pages_still_open(client, world):
    await send_with_terms(client, world)
    payment = await agreement_of(world, world["member"])
    admin = await make_user("beheer@alpha.example", tenant=world["tenant"], roles=("tenant_admin",))
    role = await world["scope"].objects(Membership).where(
        (Membership.user == world["member"].id) & (Membership.role == "panel_member")).first()
    await login(client, admin.email)
    assert (await submit(client, f"/t/alpha/members/{role.id}/remove")).status_code == 303

    left = await world["scope"].objects(PanelMembership).where(PanelMembership.user == world["member"].id).first()
    assert left.status == "ended"
    assert await AuditEntry.exists().where((AuditEntry.action == "panel_membership.status_changed")
                                           & (AuditEntry.object_id == left.id))
    await login(client, world["officer"].email)
    assert (await client.get(f"/t/alpha/rounds/{world['round'].id}")).status_code == 200
    page = await client.get(f"/t/alpha/agreements/{payment.id}")
    assert page.status_code == 200 and "Oud-deelnemer" in page.text
    assert (await submit(client, f"/t/alpha/agreements/{payment.id}/withdraw")).status_code == 303
    again = await submit(client, f"/t/alpha/agreements/{payment.id}/withdraw")
    assert again.status_code == 409 and "Oud-deelnemer" in again.text

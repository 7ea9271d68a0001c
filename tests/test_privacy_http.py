"""Consent and the guardian's confirmation for a member under 16; details and exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from portal.core.tenancy import TenantScope
from portal.invitations import service as invitations
from portal.panels import service as panels
from portal.panels.tables import PanelMembership
from portal.privacy.rules import CONSENT_TEXT_VERSION
from portal.privacy.tables import Consent, GuardianRequest, PersonalDetails
from tests.support import build_panel, link_in, login, make_tenant, make_user, nl, outbox, post_form
from tests.test_agreements_http import accept_both, log, send_with_terms, submit, world  # noqa: F401


async def _invited_15_year_old(tenant, officer, panel):
    scope = TenantScope(tenant)
    membership, invitation, _token = await panels.invite_member(
        scope, panel, inviter=officer, inviter_roles={"policy_officer"}, email="jong@alpha.example",
        age_band="under_16", support_contact_id=None, monthly_hours_budget=Decimal(4), days=7)
    user = await invitations.accept_invitation(scope, invitation, user=None, display_name="Jong",
                                               new_account={"name": "Jonge Deelnemer", "password": "correct-horse-battery"})
    return scope, user, membership


async def test_an_under_16_member_is_held_until_the_guardian_confirms_once(client):
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    panel = await build_panel(tenant, "Jongerenpanel", "youth")
    scope, user, membership = await _invited_15_year_old(tenant, officer, panel)
    assert (await scope.get(PanelMembership, membership.id)).status == "invited"
    await login(client, user.email)
    home = await client.get("/t/alpha/")
    assert nl("Your parent or guardian must give consent before you can take part in a panel.") in home.text
    page = await client.get("/t/alpha/privacy")
    assert nl("You are under 16. Your parent or guardian must give consent before you can take part in a panel.") in page.text
    own = await submit(client, "/t/alpha/privacy/guardian", {"guardian_email": user.email})
    assert own.status_code == 422
    bad = await submit(client, "/t/alpha/privacy/guardian", {"guardian_email": "geen-adres"})
    assert bad.status_code == 422
    assert (await submit(client, "/t/alpha/privacy/guardian", {"guardian_email": "ouder@alpha.example"})).status_code == 303
    link = link_in((await outbox("ouder@alpha.example"))[-1].body)
    client.cookies.clear()
    assert (await client.get(link)).status_code == 200
    confirmed = await post_form(client, link)
    assert confirmed.status_code == 200
    assert nl("Thank you. Your consent has been recorded and your child can now take part.") in confirmed.text
    assert (await scope.get(PanelMembership, membership.id)).status == "active"
    consent = await scope.objects(Consent).where(Consent.kind == "guardian").first()
    assert (consent.given_by, consent.text_version) == ("guardian", CONSENT_TEXT_VERSION)
    twice = await post_form(client, link)
    assert twice.status_code == 410
    assert nl("This link has already been used: your consent was recorded before. Nothing more is needed.") in twice.text
    assert await scope.count(Consent) == 3  # the guardian's, and the account and experience on their behalf


async def test_an_expired_or_unknown_guardian_link_is_refused(client):
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    panel = await build_panel(tenant, "Jongerenpanel", "youth")
    scope, user, membership = await _invited_15_year_old(tenant, officer, panel)
    await login(client, user.email)
    await submit(client, "/t/alpha/privacy/guardian", {"guardian_email": "ouder@alpha.example"})
    link = link_in((await outbox("ouder@alpha.example"))[-1].body)
    await scope.update(GuardianRequest, {GuardianRequest.expires_at: datetime.now(UTC) - timedelta(minutes=1)})
    expired = await post_form(client, link)
    assert expired.status_code == 410
    assert nl("This link has expired. Ask your child to send a new request from the portal.") in expired.text
    assert (await client.get("/t/alpha/guardian/not-a-token")).status_code == 404
    assert (await scope.get(PanelMembership, membership.id)).status == "invited"


async def test_consents_are_given_and_withdrawn_with_the_text_version(client, world):  # noqa: F811
    await login(client, world["member"].email)
    url = "/t/alpha/privacy/consents"
    assert (await submit(client, url, {"kind": "publication", "action": "give"})).status_code == 303
    assert (await submit(client, url, {"kind": "publication", "action": "withdraw"})).status_code == 303
    assert (await submit(client, url, {"kind": "bogus", "action": "give"})).status_code == 303
    refused = await submit(client, url, {"kind": "publication", "action": "withdraw"}, follow_redirects=True)
    assert nl("This consent was not given, so it cannot be withdrawn.") in refused.text
    rows = await world["scope"].objects(Consent).where(Consent.kind == "publication")
    assert len(rows) == 1 and rows[0].withdrawn_at is not None and rows[0].text_version == CONSENT_TEXT_VERSION


async def test_details_and_the_benefit_reminder(client, world):  # noqa: F811
    await login(client, world["member"].email)
    future = await submit(client, "/t/alpha/privacy/details", {"date_of_birth": "2999-01-01", "benefit": ""})
    assert future.status_code == 422
    assert (await submit(client, "/t/alpha/privacy/details", {"date_of_birth": "2001-05-04", "benefit": "nope"})).status_code == 422
    saved = await submit(client, "/t/alpha/privacy/details", {"date_of_birth": "2001-05-04", "benefit": "social_assistance"},
                         follow_redirects=True)
    assert nl("Tell your municipality's social assistance team about this volunteer work. "
              "If you are under 27, an allowance is usually deducted from your benefit: "
              "ask for a reimbursement of expenses instead.") in saved.text
    details = await world["scope"].objects(PersonalDetails).first()
    assert details.date_of_birth == date(2001, 5, 4)


async def test_the_payments_csv_and_the_statement_show_the_approved_amount(client, world):  # noqa: F811
    await send_with_terms(client, world)
    payment = await accept_both(client, world, world["member"])
    await log(client, payment, hours="2")
    from portal.agreements.tables import Claim

    claim = await world["scope"].objects(Claim).first()
    await login(client, world["officer"].email)
    await submit(client, f"/t/alpha/claims/{claim.id}/approve")
    today = date.today().isoformat()
    csv = await client.get(f"/t/alpha/payments/export.csv?start={today}&end={today}&payer=Gemeente+Alpha")
    assert csv.status_code == 200 and ";11,50;" in csv.text  # the Dutch spreadsheet format
    assert world["member"].name in csv.text  # the payee's name on the account, for finance
    assert (await client.get(f"/t/alpha/payments?start={today}&end=gisteren")).status_code == 422
    other_payer = await client.get(f"/t/alpha/payments/export.csv?start={today}&end={today}&payer=Elders")
    assert "11,50" not in other_payer.text
    report = await client.get("/t/alpha/payments/reportable.csv?year=2026")
    assert report.status_code == 200
    printable = await client.get(f"/t/alpha/agreements/{payment.id}/statement?year={date.today().year}")
    assert printable.status_code == 200 and "11,50" in printable.text and world["member"].name in printable.text
    await login(client, world["member"].email)
    statement = await client.get(f"/t/alpha/statement?year={date.today().year}")
    assert "11,50" in statement.text

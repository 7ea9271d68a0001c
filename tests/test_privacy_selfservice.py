"""Privacy self-service: download my data, withdraw a contribution, erase me (twice), and after
erasure a search of every text column of every table for the person's email and name."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from decimal import Decimal

from portal.advice.tables import AdoptionVote, Advice, AdviceItem, AdviceVersion, HeardAnswer
from portal.agreements import privacy as agreement_privacy
from portal.agreements.tables import Claim, OwnershipAgreement, PaymentAgreement, RestrictedPayee
from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.deliberation import service as deliberation
from portal.deliberation.tables import Post
from portal.invitations import service as invitations
from portal.panels import service as panels
from portal.panels.tables import Panel
from portal.piccolo_app import TABLES
from portal.rounds.tables import ConsultationRound
from tests.support import (
    build_panel,
    build_round,
    build_stage,
    everywhere,
    login,
    make_tenant,
    make_user,
    nl,
)
from tests.test_agreements_http import TERMS, submit

NAME = "Zora Quist-Vermeulen"
EMAIL = "zora.quist@alpha.example"


async def _member_with_a_history(client):
    """A member who joined by invitation, accepted terms, posted, logged hours (approved), gave
    consents and details, and was emailed: every kind of trace the portal keeps."""
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    panel = await build_panel(tenant, "Ouderpanel", "parents")
    _membership, invitation, _token = await panels.invite_member(
        scope, panel, inviter=officer, inviter_roles={"policy_officer"}, email=EMAIL, age_band="27_plus",
        support_contact_id=None, monthly_hours_budget=Decimal(8), days=7)
    member = await invitations.accept_invitation(scope, invitation, user=None, display_name="Zee",
                                                 new_account={"name": NAME, "password": "correct-horse-battery"},
                                                 consents=("experience",))
    round_ = await build_round(tenant, await build_stage(tenant), panels=[panel])
    await login(client, officer.email)
    await submit(client, f"/t/alpha/rounds/{round_.id}/terms", TERMS)
    await submit(client, f"/t/alpha/rounds/{round_.id}/send")
    payment = await scope.objects(PaymentAgreement).first()
    await login(client, EMAIL)
    await submit(client, f"/t/alpha/agreements/{payment.id}/accept")
    ownership = await scope.objects(OwnershipAgreement).first()
    await submit(client, f"/t/alpha/ownership/{ownership.id}/accept")
    await submit(client, f"/t/alpha/agreements/{payment.id}/claims",
                 {"kind": "hours", "activity_date": date.today().isoformat(), "hours": "2", "description": "Overleg"})
    round_ = await scope.get(ConsultationRound, round_.id)
    thread = (await deliberation.ensure_round_threads(scope, round_))[0]
    await submit(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Wat ik meemaakte met de wachtlijst."})
    await submit(client, "/t/alpha/privacy/consents", {"kind": "attribution", "action": "give"})
    await submit(client, "/t/alpha/privacy/details", {"date_of_birth": "1990-03-04", "benefit": "uwv"})
    await login(client, officer.email)
    claim = await scope.objects(Claim).first()
    await submit(client, f"/t/alpha/claims/{claim.id}/approve")
    await login(client, EMAIL)
    return {"tenant": tenant, "scope": scope, "member": member, "round": round_, "thread": thread,
            "payment": payment, "officer": officer}


async def advice_history(client, world):
    """The member writes advice for the round (two items), asks the panel to adopt it and
    confirms it (the only member: submitted); the officer publishes a response to the first item
    and the member answers that they feel heard. Logged in as the member before and after."""
    scope, round_ = world["scope"], world["round"]
    panel = await scope.objects(Panel).where(Panel.name == "Ouderpanel").first()
    started = await submit(client, "/t/alpha/advice", {"round": str(round_.id), "panel": str(panel.id),
                                                      "title": "Advies van Zee"})
    assert started.status_code == 303, started.text[-2000:]
    advice = await scope.objects(Advice).order_by(Advice.id, ascending=False).first()
    await submit(client, f"/t/alpha/advice/{advice.id}/edit", {
        "title": "Advies van Zee", "version": "1", "item_count": "2", "item-1-title": "Kortere wachtlijst",
        "item-1-recommendation": "Hooguit vier weken wachten.", "item-1-rationale": "Wij wachtten maanden."})
    await submit(client, f"/t/alpha/advice/{advice.id}/adopt")
    await submit(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "confirm"})
    item = await scope.objects(AdviceItem).where(AdviceItem.advice == advice.id).first()
    await login(client, world["officer"].email)
    await submit(client, f"/t/alpha/advice-items/{item.id}/response",
                 {"status": "adopted", "reasoning": "Goed idee.", "based_on": "0"})
    await submit(client, f"/t/alpha/advice/{advice.id}/items/{item.id}/publish")
    await login(client, EMAIL)
    await submit(client, f"/t/alpha/advice-items/{item.id}/heard", {"answer": "yes", "comment": "Ik voel me gehoord."})
    advice = await scope.get(Advice, advice.id)
    assert advice.status == "submitted" and await scope.exists(HeardAnswer)
    assert await scope.exists(AdoptionVote).where(AdoptionVote.user == world["member"].id)
    return advice, item


async def every_text_value():
    """(table, column, value) for every text value in the database, SQLite or PostgreSQL alike."""
    found = []
    for table in TABLES:
        for row in await everywhere(table).select():
            for column, value in row.items():
                if isinstance(value, str):
                    found.append((table._meta.tablename, column, value))
    return found


async def test_after_erasure_the_email_and_name_are_only_in_the_restricted_financial_record(client):
    world = await _member_with_a_history(client)
    advice, _item = await advice_history(client, world)
    # An invitation to a panel of another tenant, never accepted, holds the address there too.
    beta = await make_tenant("beta")
    beta_officer = await make_user("beleid@beta.example", tenant=beta, roles=("policy_officer",))
    await panels.invite_member(
        TenantScope(beta), await build_panel(beta, "Betapanel"), inviter=beta_officer, inviter_roles={"policy_officer"},
        email=EMAIL, age_band="27_plus", support_contact_id=None, monthly_hours_budget=Decimal(8), days=7)
    before = [hit for hit in await every_text_value() if EMAIL in hit[2] or NAME in hit[2]]
    assert {hit[0] for hit in before} >= {"account", "outbox_message", "invitation"}  # the search finds them
    assert (await client.get("/t/alpha/privacy/erase")).status_code == 200
    unconfirmed = await submit(client, "/t/alpha/privacy/erase", {})
    assert unconfirmed.status_code == 422
    erased = await submit(client, "/t/alpha/privacy/erase", {"confirm": "1"})
    assert erased.status_code == 200
    leftovers = [hit for hit in await every_text_value()
                 if (EMAIL in hit[2] or NAME in hit[2]) and hit[0] != RestrictedPayee._meta.tablename]
    assert leftovers == []
    payee = await world["scope"].objects(RestrictedPayee).first()
    assert payee.name == NAME and payee.keep_until.year == date.today().year + 7
    agreement = await world["scope"].get(PaymentAgreement, world["payment"].id)
    assert agreement.user is None and agreement.restricted_payee == payee.id
    post = await world["scope"].objects(Post).first()
    assert post.author is None and post.body_markdown  # the contribution stays, as a former participant's
    again = await submit(client, "/t/alpha/privacy/erase", {"confirm": "1"})
    assert again.status_code == 410 and nl("This account has already been erased.") in again.text
    # Finance still sees the payment, under the restricted name.
    await login(client, world["officer"].email)
    today = date.today().isoformat()
    csv = await client.get(f"/t/alpha/payments/export.csv?start={today}&end={today}")
    assert NAME in csv.text and ";11,50;" in csv.text
    page = await client.get(f"/t/alpha/threads/{world['thread'].id}")
    assert nl("Former member") in page.text
    # The advice stays whole, written by a former participant; their vote and answer are gone.
    scope = world["scope"]
    assert await scope.count(AdviceVersion).where(AdviceVersion.advice == advice.id) == 2
    assert not await scope.exists(AdviceVersion).where(AdviceVersion.author.is_not_null())
    assert not await scope.exists(AdoptionVote) and not await scope.exists(HeardAnswer)
    assert (await scope.get(Advice, advice.id)).status == "submitted"
    page = await client.get(f"/t/alpha/advice/{advice.id}")
    assert page.status_code == 200 and nl("Former participant") in page.text


async def test_download_my_data_is_a_zip_with_json_and_a_readable_page(client):
    world = await _member_with_a_history(client)
    response = await client.get("/t/alpha/privacy/download")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("mijn-gegevens.json"))
    assert data["account"]["email"] == EMAIL
    assert data["posts"][0]["text"] == "Wat ik meemaakte met de wachtlijst."
    assert data["agreements"]["payment_agreements"][0]["status"] == "hours_logged"
    assert {row["kind"] for row in data["consents"]} == {"account", "experience", "attribution"}
    page = archive.read("mijn-gegevens.html").decode()
    assert NAME in page and "wachtlijst" in page
    await login(client, world["officer"].email)
    assert (await client.get("/t/alpha/privacy/download")).status_code == 403


async def test_withdrawing_a_post_removes_its_text(client):
    world = await _member_with_a_history(client)
    post = await world["scope"].objects(Post).first()
    withdrawn = await submit(client, "/t/alpha/privacy/contributions/withdraw",
                             {"kind": "post", "contribution_id": str(post.id)}, follow_redirects=True)
    assert nl("Your contribution has been withdrawn.") in withdrawn.text
    post = await world["scope"].get(Post, post.id)
    assert post.deleted_at is not None and post.body_markdown == ""
    twice = await submit(client, "/t/alpha/privacy/contributions/withdraw",
                         {"kind": "post", "contribution_id": str(post.id)}, follow_redirects=True)
    assert nl("This contribution cannot be found, or it was already withdrawn.") in twice.text


async def test_public_attribution_follows_the_ownership_agreement(client):
    world = await _member_with_a_history(client)
    scope, member = world["scope"], world["member"]
    async def attribution(value):
        await scope.update(OwnershipAgreement, {OwnershipAgreement.attribution: value})
        return (await agreement_privacy.public_attribution(scope, world["round"].id, [member.id, 999]))

    # (The words are in the language of the request being served: compare through the catalogue.)
    assert await attribution("pseudonym") == {member.id: "Zee", 999: _("Former participant")}
    assert (await attribution("name"))[member.id] == NAME  # consent to attribution was given
    assert (await attribution("panel"))[member.id] == "Ouderpanel"
    assert (await attribution("anonymous"))[member.id] == _("Anonymous participant")
    await submit(client, "/t/alpha/privacy/consents", {"kind": "attribution", "action": "withdraw"})
    assert (await attribution("name"))[member.id] == "Zee"
    await scope.update(OwnershipAgreement, {OwnershipAgreement.status: "proposed"})
    assert (await agreement_privacy.public_attribution(scope, world["round"].id, [member.id]))[member.id] == _("Anonymous participant")

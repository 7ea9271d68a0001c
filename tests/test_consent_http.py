"""Consent before participation (issue 10): the consent step on accepting a panel invitation, the
gate on every way of taking part (with the reason shown before typing), withdrawal with the choice
to withdraw contributions, the guardian's consent for a member under 16, and the demo's consents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portal.accounts.tables import User
from portal.advice.tables import AdoptionVote, Advice, AdviceItem, AdviceVersion, HeardAnswer
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement
from portal.app import create_mail_service
from portal.cli import DEMO_PASSWORD
from portal.core.audit import AuditEntry
from portal.core.settings import PROJECT_ROOT, load_settings
from portal.core.tenancy import TenantScope
from portal.deliberation.tables import Poll, PollOption, PollVote, Post, Reaction, Thread
from portal.demo import create_demo_content
from portal.invitations.tables import Invitation
from portal.panels import service as panels
from portal.panels.tables import PanelMembership
from portal.privacy import service as privacy
from portal.privacy.rules import CONSENT_TEXT_VERSION
from portal.privacy.tables import Consent
from portal.tenants.loader import load_tenants
from portal.tenants.tables import Tenant
from tests.support import (
    Browser,
    build_advice,
    build_panel,
    build_panel_member,
    build_post_row,
    build_round,
    build_stage,
    build_thread_row,
    everywhere,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)

PASSWORD = "a-long-enough-password"
NEW = "nieuw@alpha.example"
PRIVACY_LINK = 'href="/t/alpha/privacy#consents"'
REFUSAL = ("You can only post, write advice and vote once you have given consent for the processing "
           "of your lived experience of youth care.")


async def send(client, url: str, data: dict | None = None, **kwargs):
    return await post_form(client, url, data, follow_redirects=False, **kwargs)


async def consents_of(tenant, user_id: int) -> dict[str, Consent]:
    return await privacy.active_consents(TenantScope(tenant), user_id)


# --- accepting an invitation to a panel ---------------------------------------------------------


@pytest.fixture
async def invited(client):
    """An officer invited NEW (18 to 20) into a parent panel; returns the tenant and the link."""
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    panel = await build_panel(tenant, "Ouderpanel")
    _membership, _invitation, token = await panels.invite_member(
        TenantScope(tenant), panel, inviter=officer, inviter_roles={"policy_officer"}, email=NEW,
        age_band="18_20", support_contact_id=None, monthly_hours_budget=Decimal(4), days=7)
    return {"tenant": tenant, "panel": panel, "officer": officer, "link": f"/t/alpha/invitations/accept/{token}"}


def new_person(**values) -> dict:
    return {"display_name": "Zonnebloem", "name": "Zoë de Vries", "password": PASSWORD,
            "password_confirmation": PASSWORD, **values}


async def test_the_acceptance_form_shows_the_consent_text_with_separate_unticked_boxes(client, invited):
    form = await client.get(invited["link"])
    assert form.status_code == 200
    assert nl("Consent for your lived experience") in form.text
    assert nl("Text version %(version)s.", version=CONSENT_TEXT_VERSION) in form.text
    for kind in ("experience", "publication", "attribution"):
        box = form.text.split(f'id="field-{kind}"', 1)[1].split(">", 1)[0]
        assert "checked" not in box, kind
    assert nl("Publishing what you write (optional)") in form.text


async def test_accepting_without_the_experience_consent_is_refused_with_the_values_kept(client, invited):
    refused = await send(client, invited["link"], new_person(publication="1"))
    assert refused.status_code == 422
    message = nl("Tick the box to give your consent for the processing of your lived experience. "
                 "Without it you cannot take part in the panel.")
    assert 'id="field-experience-error"' in refused.text and message in refused.text
    assert 'href="#field-experience"' in refused.text  # the error summary links to the box
    assert 'value="Zonnebloem"' in refused.text and 'value="Zoë de Vries"' in refused.text
    publication = refused.text.split('id="field-publication"', 1)[1].split(">", 1)[0]
    assert "checked" in publication  # the optional choice made stays made
    # Nothing stored half-way: no account, the invitation still open, no consent.
    assert await User.count().where(User.email == NEW) == 0
    assert (await everywhere(Invitation).objects().first()).accepted_at is None
    assert await everywhere(Consent).count() == 0


async def test_accepting_records_the_consents_given_with_the_text_version(client, invited):
    accepted = await send(client, invited["link"], new_person(experience="1", publication="1"))
    assert accepted.status_code == 303
    user = await User.objects().get(User.email == NEW)
    consents = await consents_of(invited["tenant"], user.id)
    assert set(consents) == {"account", "experience", "publication"}  # attribution stays separate: not given
    assert {(c.given_by, c.text_version) for c in consents.values()} == {("self", CONSENT_TEXT_VERSION)}
    assert await AuditEntry.count().where(AuditEntry.action == "consent.given") == 3
    membership = await everywhere(PanelMembership).objects().get(PanelMembership.user == user.id)
    assert membership.status == "active"


async def test_an_invitation_to_a_role_only_asks_no_consent(client, invited):
    from portal.invitations import service as invitations

    _invitation, token = await invitations.create_invitation(
        TenantScope(invited["tenant"]), inviter=invited["officer"], inviter_roles={"policy_officer"},
        email="raad@alpha.example", role="council_member", days=7)
    form = await client.get(f"/t/alpha/invitations/accept/{token}")
    assert 'id="field-experience"' not in form.text
    accepted = await send(client, f"/t/alpha/invitations/accept/{token}",
                          {**new_person(), "display_name": "Raadslid"})
    assert accepted.status_code == 303 and await everywhere(Consent).count() == 0


# --- the gate on every way of taking part -------------------------------------------------------


@pytest.fixture
async def world(client):
    """A sent round to a parent panel: a member who gave consent, one who joined before the consent
    step (none), their thread with a post and a poll, draft advice, advice being adopted and
    submitted advice with a published response."""
    tenant = await make_tenant("alpha")
    await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel")
    consented = await build_panel_member(tenant, parents, "ouder@alpha.example", display_name="Moeder")
    member = await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader", consent=False)
    round_ = await build_round(tenant, stage, status="sent", panels=[parents])
    thread = await build_thread_row(tenant, round_, parents)
    post = await build_post_row(tenant, thread, consented, "Wij wachtten lang.")
    scope = TenantScope(tenant)
    poll = scope.new(Poll, thread=thread.id, question="Wat eerst?", kind="single", created_by=consented.id,
                     closes_at=datetime.now(UTC) + timedelta(days=3))
    await poll.save()
    option = scope.new(PollOption, poll=poll.id, position=1, label="Wachttijd")
    await option.save()
    draft = await build_advice(tenant, round_, parents, consented, status="draft")
    adopting = await build_advice(tenant, round_, parents, consented, status="adopting")
    submitted = await build_advice(tenant, round_, parents, consented, status="submitted")
    item = await scope.objects(AdviceItem).where(AdviceItem.advice == submitted.id).first()
    await scope.update(AdviceItem, {AdviceItem.response_status: "adopted", AdviceItem.responded_at: datetime.now(UTC)}
                       ).where(AdviceItem.id == item.id)
    await login(client, member.email)
    return {"tenant": tenant, "scope": scope, "member": member, "consented": consented, "round": round_,
            "thread": thread, "post": post, "poll": poll, "option": option, "draft": draft,
            "adopting": adopting, "item": item}


async def test_without_consent_every_page_shows_why_and_where_before_typing(client, world):
    thread = await client.get(f"/t/alpha/threads/{world['thread'].id}")
    assert thread.status_code == 200
    assert nl(REFUSAL) in thread.text and PRIVACY_LINK in thread.text
    for form_part in ('name="body"', f'/posts/{world["post"].id}/reactions', f'/polls/{world["poll"].id}/vote',
                      "/polls/new"):
        assert form_part not in thread.text, form_part
    assert "Wij wachtten lang." in thread.text  # reading stays possible

    threads = await client.get(f"/t/alpha/rounds/{world['round'].id}/threads")
    assert PRIVACY_LINK in threads.text and 'name="title"' not in threads.text
    new_poll = await client.get(f"/t/alpha/threads/{world['thread'].id}/polls/new")
    assert new_poll.status_code == 403 and PRIVACY_LINK in new_poll.text
    new_advice = await client.get(f"/t/alpha/advice/new?round={world['round'].id}")
    assert PRIVACY_LINK in new_advice.text and 'action="/t/alpha/advice"' not in new_advice.text
    draft = await client.get(f"/t/alpha/advice/{world['draft'].id}")
    assert PRIVACY_LINK in draft.text and "/adopt" not in draft.text
    edit = await client.get(f"/t/alpha/advice/{world['draft'].id}/edit")
    assert PRIVACY_LINK in edit.text and 'name="item-1-title"' not in edit.text
    adopting = await client.get(f"/t/alpha/advice/{world['adopting'].id}")
    assert PRIVACY_LINK in adopting.text and 'name="choice"' not in adopting.text
    item = await client.get(f"/t/alpha/advice-items/{world['item'].id}")
    assert PRIVACY_LINK in item.text and f"/advice-items/{world['item'].id}/heard" not in item.text
    home = await client.get("/t/alpha/")
    assert nl(REFUSAL) in home.text and PRIVACY_LINK in home.text


async def test_without_consent_every_way_of_taking_part_is_refused_with_the_reason(client, world):
    scope, reason = world["scope"], nl(REFUSAL)
    post = await send(client, f"/t/alpha/threads/{world['thread'].id}/posts", {"body": "Mijn verhaal."})
    assert post.status_code == 403 and reason in post.text
    assert "Mijn verhaal." in post.text  # what they typed is kept
    reaction = await send(client, f"/t/alpha/posts/{world['post'].id}/reactions", {"kind": "agree"},
                          headers={"HX-Request": "true"})
    assert reason in reaction.text
    vote = await send(client, f"/t/alpha/polls/{world['poll'].id}/vote", {"option": str(world["option"].id)})
    assert vote.status_code == 403 and reason in vote.text
    poll = await send(client, f"/t/alpha/threads/{world['thread'].id}/polls",
                      {"question": "En nu?", "kind": "scale", "closes_date": "2099-01-01", "closes_time": "17:00"})
    assert poll.status_code == 403 and reason in poll.text
    topic = await send(client, f"/t/alpha/rounds/{world['round'].id}/threads", {"title": "Wachttijd", "panel_id": str(world["draft"].panel)})
    assert topic.status_code == 403 and reason in topic.text
    advice = await send(client, "/t/alpha/advice", {"round": str(world["round"].id), "title": "Ons advies",
                                                     "panel": str(world["draft"].panel)})
    assert advice.status_code == 422 and reason in advice.text
    save = await send(client, f"/t/alpha/advice/{world['draft'].id}/edit",
                      {"title": "Nieuw", "version": "1", "item_count": "1", "item-1-title": "Sneller",
                       "item-1-recommendation": "Binnen vier weken.", "item-1-rationale": ""})
    assert save.status_code == 409 and reason in save.text
    adopt = await send(client, f"/t/alpha/advice/{world['adopting'].id}/vote", {"choice": "confirm"})
    assert adopt.status_code == 409 and reason in adopt.text
    heard = await send(client, f"/t/alpha/advice-items/{world['item'].id}/heard", {"answer": "yes"})
    assert heard.status_code == 409 and reason in heard.text
    # Nothing of it was stored.
    assert await scope.count(Post) == 1 and await scope.count(Reaction) == 0 and await scope.count(PollVote) == 0
    assert await scope.count(Poll) == 1 and await scope.count(Thread) == 1 and await scope.count(Advice) == 3
    assert await scope.count(AdviceVersion) == 3 and await scope.count(AdoptionVote) == 0
    assert await scope.count(HeardAnswer) == 0

    # Given on the privacy page, the same member takes part.
    assert (await send(client, "/t/alpha/privacy/consents", {"kind": "experience", "action": "give"})).status_code == 303
    assert (await send(client, f"/t/alpha/threads/{world['thread'].id}/posts", {"body": "Mijn verhaal."})).status_code == 303
    assert (await send(client, f"/t/alpha/polls/{world['poll'].id}/vote", {"option": str(world["option"].id)})).status_code == 303
    assert (await send(client, f"/t/alpha/posts/{world['post'].id}/reactions", {"kind": "agree"})).status_code == 303
    assert (await send(client, f"/t/alpha/advice/{world['adopting'].id}/vote", {"choice": "confirm"})).status_code == 303
    assert (await send(client, f"/t/alpha/advice-items/{world['item'].id}/heard", {"answer": "yes"})).status_code == 303
    assert await scope.count(Post) == 2 and await scope.count(Reaction) == 1 and await scope.count(HeardAnswer) == 1


async def test_officers_take_part_without_the_members_consent(client, world):
    await login(client, "beleid@alpha.example")
    answer = await send(client, f"/t/alpha/threads/{world['thread'].id}/posts", {"body": "Dank voor jullie input."})
    assert answer.status_code == 303


# --- withdrawing the consent --------------------------------------------------------------------


async def test_withdrawing_stops_taking_part_and_offers_to_withdraw_contributions(client, world):
    await login(client, world["consented"].email)
    own_post = world["post"]
    withdrawn = await send(client, "/t/alpha/privacy/consents", {"kind": "experience", "action": "withdraw"})
    assert withdrawn.headers["location"] == "/t/alpha/privacy/withdrawn"
    choice = await client.get("/t/alpha/privacy/withdrawn")
    assert nl("Your consent has been withdrawn") in choice.text
    assert 'action="/t/alpha/privacy/contributions/withdraw-all"' in choice.text
    assert f'name="contribution_id" value="{own_post.id}"' in choice.text
    assert "Advies over de inkoop" in choice.text  # the advice they wrote is listed too
    # Stopped at once; nothing of theirs is withdrawn without asking.
    thread = await client.get(f"/t/alpha/threads/{world['thread'].id}")
    assert PRIVACY_LINK in thread.text and 'name="body"' not in thread.text
    refused = await send(client, f"/t/alpha/threads/{world['thread'].id}/posts", {"body": "Nog iets."})
    assert refused.status_code == 403
    assert (await world["scope"].get(Post, own_post.id)).deleted_at is None

    one = await send(client, "/t/alpha/privacy/contributions/withdraw",
                     {"kind": "post", "contribution_id": str(own_post.id), "back": "withdrawn"})
    assert one.headers["location"] == "/t/alpha/privacy/withdrawn"
    assert (await world["scope"].get(Post, own_post.id)).deleted_at is not None
    everything = await send(client, "/t/alpha/privacy/contributions/withdraw-all", {"back": "withdrawn"})
    assert everything.headers["location"] == "/t/alpha/privacy/withdrawn"
    page = await client.get("/t/alpha/privacy/withdrawn")
    assert nl("Nothing to withdraw.") in page.text
    actions = await AuditEntry.select(AuditEntry.action).where(AuditEntry.action.is_in(
        ["consent.withdrawn", "contribution.withdrawn"]))
    assert sorted(row["action"] for row in actions) == ["consent.withdrawn", *["contribution.withdrawn"] * 4]


async def test_the_withdrawal_page_leads_back_once_consent_is_given_again(client, world):
    await login(client, world["consented"].email)
    assert (await client.get("/t/alpha/privacy/withdrawn", follow_redirects=False)).status_code == 303


# --- a member under 16: the guardian consents ---------------------------------------------------


async def test_the_guardian_gives_the_experience_consent_for_a_member_under_16(client):
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    panel = await build_panel(tenant, "Jongerenpanel", "youth")
    stage = await build_stage(tenant)
    round_ = await build_round(tenant, stage, status="sent", panels=[panel])
    thread = await build_thread_row(tenant, round_, panel)
    scope = TenantScope(tenant)
    _membership, _invitation, token = await panels.invite_member(
        scope, panel, inviter=officer, inviter_roles={"policy_officer"}, email=NEW, age_band="under_16",
        support_contact_id=None, monthly_hours_budget=Decimal(4), days=7)
    link = f"/t/alpha/invitations/accept/{token}"
    form = await client.get(link)
    assert 'id="field-experience"' not in form.text and 'id="field-publication"' in form.text
    accepted = await send(client, link, new_person(display_name="Jong", experience="1"))
    assert accepted.headers["location"] == "/t/alpha/privacy"
    user = await User.objects().get(User.email == NEW)
    assert await consents_of(tenant, user.id) == {}  # under 16: not by themselves, not even the account
    refused = await send(client, "/t/alpha/privacy/consents", {"kind": "experience", "action": "give"})
    assert nl("You are under 16: your parent or guardian gives this consent for you.") in (
        await client.get(refused.headers["location"])).text

    assert (await send(client, "/t/alpha/privacy/guardian", {"guardian_email": "ouder@alpha.example"})).status_code == 303
    guardian_link = link_in((await outbox("ouder@alpha.example"))[-1].body)
    guardian = Browser(client)  # no account: a browser of their own
    page = await guardian.get(guardian_link)
    assert nl("Consent for your child's lived experience") in page.text
    assert nl("Text version %(version)s.", version=CONSENT_TEXT_VERSION) in page.text
    assert (await post_form(guardian, guardian_link)).status_code == 200
    consents = await consents_of(tenant, user.id)
    assert {kind: (c.given_by, c.text_version) for kind, c in consents.items()} == {
        kind: ("guardian", CONSENT_TEXT_VERSION) for kind in ("guardian", "account", "experience")}
    # Active now, so the round's terms were proposed to them (a late joiner): accepted, they post.
    payment = await scope.objects(PaymentAgreement).where(PaymentAgreement.user == user.id).first()
    ownership = await scope.objects(OwnershipAgreement).where(OwnershipAgreement.user == user.id).first()
    assert (await send(client, f"/t/alpha/agreements/{payment.id}/accept", {})).status_code == 303
    assert (await send(client, f"/t/alpha/ownership/{ownership.id}/accept", {})).status_code == 303
    posted = await send(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Ik doe mee."})
    assert posted.status_code == 303


async def test_at_16_the_members_own_consent_takes_over_from_the_guardians(client):
    from datetime import date

    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    member = await build_panel_member(tenant, await build_panel(tenant, "Jongerenpanel", "youth"),
                                      "jong@alpha.example", consent=False)
    await privacy.save_details(scope, member, date.today() - timedelta(days=365 * 15), "")
    for kind in ("guardian", "experience"):
        await scope.new(Consent, user=member.id, kind=kind, given_by="guardian", text_version="2026-1").save()
    with pytest.raises(privacy.PrivacyError):
        await privacy.give_consent(scope, member, "experience")  # under 16: the guardian's to give
    await privacy.save_details(scope, member, date.today() - timedelta(days=365 * 16 + 5), "")
    await privacy.give_consent(scope, member, "experience")
    experience = await scope.objects(Consent).where(Consent.kind == "experience").order_by(Consent.id)
    assert [(row.given_by, row.withdrawn_at is None) for row in experience] == [("guardian", False), ("self", True)]
    assert await AuditEntry.count().where(AuditEntry.action == "consent.withdrawn") == 1


# --- the demo ---------------------------------------------------------------------------------------


async def test_demo_members_have_the_consents_and_the_ledger_names_the_writer(client):
    await load_tenants(PROJECT_ROOT / "tenants", demo_password=DEMO_PASSWORD)
    await create_demo_content(create_mail_service(load_settings()))
    rows = await everywhere(Consent).select(Consent.user.email.as_alias("email"), Consent.kind, Consent.given_by,
                                Consent.text_version).where(Consent.withdrawn_at.is_null())
    given: dict[str, set[str]] = {}
    for row in rows:
        assert (row["given_by"], row["text_version"]) == ("self", CONSENT_TEXT_VERSION)
        given.setdefault(row["email"], set()).add(row["kind"])
    members = await User.select(User.email).where(User.email.like("%@%.example"))
    demo_members = {row["email"] for row in members if row["email"].split("@")[0] in
                    ("ouder", "vader", "jongere", "jongere2", "inkoop")}
    assert len(demo_members) == 6
    for email in demo_members:
        assert {"account", "experience"} <= given[email], email
    for parent in ("ouder@voorbeeldstad.example", "vader@voorbeeldstad.example"):
        assert {"publication", "attribution"} <= given[parent]

    ledger = await Browser(client).get("/t/voorbeeldstad/ledger")
    assert ledger.status_code == 200
    assert "Moeder van twee" in ledger.text and "Lisa Visser" not in ledger.text

    # Loading the demo again gives no consent twice, nor one that was withdrawn.
    tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
    mother = await User.objects().get(User.email == "ouder@voorbeeldstad.example")
    await privacy.withdraw_consent(TenantScope(tenant), mother, "publication")
    count = await everywhere(Consent).count()
    await load_tenants(PROJECT_ROOT / "tenants", demo_password=DEMO_PASSWORD)
    assert await everywhere(Consent).count() == count
    assert "publication" not in await consents_of(tenant, mother.id)

"""Nobody who joins later is left out (issue 10): a member who becomes active after a round was
sent (invitation accepted, guardian confirmed, pause ended, date of birth corrected) gets its
terms; the officer's table lists members without agreements; a date of birth decides activation
again; the parent-panel warning is on the round page too."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from portal.accounts.tables import User
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement
from portal.core.audit import AuditEntry
from portal.core.database import query_counter
from portal.core.i18n import translations_for
from portal.deliberation import service as deliberation
from portal.panels.tables import PanelMembership
from portal.privacy.tables import PersonalDetails
from portal.rounds.tables import ConsultationRound, RoundPanel
from tests.support import (
    PASSWORD,
    Browser,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)
from tests.test_agreements_http import accept_both, send_with_terms, submit
from tests.test_agreements_http import world as agreements_world  # noqa: F401 (a fixture)

WITHOUT = ("%(num)s member has no agreements yet", "%(num)s members have no agreements yet")
PROPOSED = ("The terms have been proposed to %(num)s member.", "The terms have been proposed to %(num)s members.")


@pytest.fixture
def world(agreements_world):  # noqa: F811 (the fixture imported above)
    """A draft round to a parent panel with two members; the client is logged in as the officer."""
    return agreements_world


def nl_count(singular: str, plural: str, num: int) -> str:
    """A message with a count as the default (Dutch) page shows it."""
    return translations_for("nl").ngettext(singular, plural, num) % {"num": num}


def years_ago(years: int) -> date:
    """A date of birth that makes someone ``years`` old today (give or take a leap day)."""
    today = date.today()
    return today.replace(year=today.year - years) - timedelta(days=1)


async def invite_and_accept(client, world, email: str, *, age_band: str = "21_26", display_name: str = "Nieuwe ouder"):
    """The officer (the client) invites ``email`` into the parent panel; the person follows the
    emailed link in another browser and accepts with a new account."""
    invited = await submit(client, f"/t/alpha/panels/{world['parents'].id}/invite", {
        "email": email, "age_band": age_band, "support_contact": "", "monthly_hours_budget": "8"})
    assert invited.status_code == 303, invited.text
    link = link_in((await outbox(email))[-1].body)
    accepted = await post_form(Browser(client), link, {
        "display_name": display_name, "name": "Nieuw Lid", "password": PASSWORD, "password_confirmation": PASSWORD,
        "experience": "1",  # the consent step (under 16 the form has no such box: the guardian gives it)
    }, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    return await User.objects().get(User.email == email)


async def agreements_of(world, user) -> tuple[list, list]:
    scope = world["scope"]
    payments = await scope.objects(PaymentAgreement).where(PaymentAgreement.user == user.id)
    ownerships = await scope.objects(OwnershipAgreement).where(OwnershipAgreement.user == user.id)
    return payments, ownerships


async def membership_of(world, user) -> PanelMembership:
    return await world["scope"].objects(PanelMembership).where(
        (PanelMembership.user == user.id) & (PanelMembership.panel == world["parents"].id)).first()


async def main_thread(world):
    round_ = await world["scope"].get(ConsultationRound, world["round"].id)
    return (await deliberation.ensure_round_threads(world["scope"], round_))[0]


# --- joining after the round was sent ------------------------------------------------------------


async def test_a_member_who_accepts_after_sending_gets_both_agreements_and_posts_after_accepting(client, world):
    await send_with_terms(client, world)
    thread = await main_thread(world)
    newcomer = await invite_and_accept(client, world, "nieuw@alpha.example")
    payments, ownerships = await agreements_of(world, newcomer)
    assert [(row.status, row.payer, row.round) for row in payments] == [("proposed", "Gemeente Alpha", world["round"].id)]
    assert [(row.status, row.licence) for row in ownerships] == [("proposed", "approval")]

    await login(client, newcomer.email)
    home = await client.get("/t/alpha/")
    assert nl("Agreements to read and accept") in home.text and f"/agreements/{payments[0].id}" in home.text
    refused = await submit(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Ik ben nieuw."})
    assert refused.status_code == 403
    assert nl("Accept your payment and ownership agreements for this round before you post.") in refused.text
    await accept_both(client, world, newcomer)
    assert (await submit(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Ik ben nieuw."})).status_code == 303
    activated = await AuditEntry.objects().where(AuditEntry.action == "panel_membership.activated").first()
    assert json.loads(activated.after)["by"] == "invitation_accepted"


async def test_a_closed_round_gives_no_agreements_and_an_open_one_gives_them_once(client, world):
    await send_with_terms(client, world)
    closed = await build_round(world["tenant"], await build_stage(world["tenant"], cycle_title="Vorige cyclus"),
                               title="Afgelopen ronde", status="closed", panels=[world["parents"]])
    newcomer = await invite_and_accept(client, world, "nieuw@alpha.example")
    payments, ownerships = await agreements_of(world, newcomer)
    assert [row.round for row in payments] == [world["round"].id] == [row.round for row in ownerships]
    assert not await world["scope"].exists(PaymentAgreement).where(PaymentAgreement.round == closed.id)


async def test_a_member_in_two_invited_panels_never_gets_a_second_agreement(client, world):
    youth = await build_panel(world["tenant"], "Jongerenpanel", "youth")
    await submit(client, f"/t/alpha/rounds/{world['round'].id}/panels", {"panel_id": str(youth.id)})
    await send_with_terms(client, world)
    member = world["member"]
    # Already in the parent panel (with agreements); now also active in the youth panel.
    membership = world["scope"].new(PanelMembership, panel=youth.id, user=member.id, status="paused", age_band="27_plus")
    await membership.save()
    resumed = await submit(client, f"/t/alpha/panel-members/{membership.id}/status", {"status": "active"})
    assert resumed.status_code == 303
    # The officer's "propose now" does not give a second one either.
    assert (await submit(client, f"/t/alpha/rounds/{world['round'].id}/agreements/propose")).status_code == 303
    payments, ownerships = await agreements_of(world, member)
    assert (len(payments), len(ownerships)) == (1, 1)


async def test_a_round_sent_before_agreements_existed_is_left_as_it_was(client, world):
    # Sent with members but without agreements (as before the agreements feature).
    await world["scope"].update(ConsultationRound, {ConsultationRound.status: "sent"}).where(
        ConsultationRound.id == world["round"].id)
    newcomer = await invite_and_accept(client, world, "nieuw@alpha.example")
    assert await agreements_of(world, newcomer) == ([], [])
    await login(client, world["member"].email)
    thread = await main_thread(world)
    assert (await submit(client, f"/t/alpha/threads/{thread.id}/posts", {"body": "Nog steeds."})).status_code == 303


# --- a guardian confirms, a pause ends ----------------------------------------------------------


async def test_a_member_under_16_gets_the_agreements_when_the_guardian_confirms(client, world):
    await send_with_terms(client, world)
    young = await invite_and_accept(client, world, "jong@alpha.example", age_band="under_16", display_name="Jong")
    assert (await membership_of(world, young)).status == "invited"
    assert await agreements_of(world, young) == ([], [])
    held = await AuditEntry.objects().where(AuditEntry.action == "panel_membership.held").first()
    assert json.loads(held.after)["by"] == "invitation_accepted"

    await login(client, young.email)
    assert (await submit(client, "/t/alpha/privacy/guardian", {"guardian_email": "ouder.van.jong@alpha.example"})).status_code == 303
    link = link_in((await outbox("ouder.van.jong@alpha.example"))[-1].body)
    assert (await post_form(Browser(client), link)).status_code == 200
    assert (await membership_of(world, young)).status == "active"
    payments, ownerships = await agreements_of(world, young)
    assert (len(payments), len(ownerships)) == (1, 1)


async def test_the_end_of_a_pause_gives_the_agreements_of_rounds_sent_meanwhile(client, world):
    paused = await build_panel_member(world["tenant"], world["parents"], "pauze@alpha.example", status="paused")
    await send_with_terms(client, world)
    assert await agreements_of(world, paused) == ([], [])
    membership = await membership_of(world, paused)
    resumed = await submit(client, f"/t/alpha/panel-members/{membership.id}/status", {"status": "active"},
                           follow_redirects=True)
    assert nl("The membership is active again.") in resumed.text
    payments, ownerships = await agreements_of(world, paused)
    assert (len(payments), len(ownerships)) == (1, 1)
    # Paused and active again: still the one agreement.
    await submit(client, f"/t/alpha/panel-members/{membership.id}/status", {"status": "paused"})
    await submit(client, f"/t/alpha/panel-members/{membership.id}/status", {"status": "active"})
    assert tuple(map(len, await agreements_of(world, paused))) == (1, 1)


async def test_a_pause_of_a_member_now_known_to_be_under_16_ends_in_a_hold(client, world):
    paused = await build_panel_member(world["tenant"], world["parents"], "pauze@alpha.example", status="paused")
    await world["scope"].new(PersonalDetails, user=paused.id, date_of_birth=years_ago(14)).save()
    membership = await membership_of(world, paused)
    held = await submit(client, f"/t/alpha/panel-members/{membership.id}/status", {"status": "active"},
                        follow_redirects=True)
    assert nl("The membership waits until the member may take part: under 16, a parent or guardian must give consent first.") in held.text
    assert (await membership_of(world, paused)).status == "invited"


# --- the officer's table -----------------------------------------------------------------------


async def test_the_officer_table_lists_members_without_agreements_with_a_warning_and_proposes_to_them(client, world):
    await send_with_terms(client, world)
    # Active before this fix, without agreements: added as a row, as the old acceptance did.
    late = await build_panel_member(world["tenant"], world["parents"], "laat@alpha.example", display_name="Laatkomer")
    url = f"/t/alpha/rounds/{world['round'].id}/agreements"
    page = await client.get(url)
    assert nl_count(*WITHOUT, 1) in page.text
    assert "Laatkomer" in page.text and nl("no agreement yet") in page.text
    assert f'action="{url}/propose"' in page.text

    proposed = await submit(client, f"{url}/propose", follow_redirects=True)
    assert nl_count(*PROPOSED, 1) in proposed.text
    assert "utrecht-alert--warning" not in proposed.text
    payments, _ownerships = await agreements_of(world, late)
    assert [(row.status, row.payer) for row in payments] == [("proposed", "Gemeente Alpha")]
    # Nothing more to propose: a second click proposes to nobody.
    again = await submit(client, f"{url}/propose", follow_redirects=True)
    assert nl_count(*PROPOSED, 0) in again.text
    assert await world["scope"].count(PaymentAgreement) == 3


async def test_the_officer_table_makes_the_same_number_of_queries_for_more_members_without_agreements(client, world):
    await send_with_terms(client, world)
    await build_panel_member(world["tenant"], world["parents"], "laat@alpha.example")
    url = f"/t/alpha/rounds/{world['round'].id}/agreements"

    async def count() -> int:
        with query_counter.measure() as measured:
            assert (await client.get(url)).status_code == 200
        return measured["queries"]

    few = await count()
    youth = await build_panel(world["tenant"], "Jongerenpanel", "youth")
    await world["scope"].new(RoundPanel, round=world["round"].id, panel=youth.id).save()
    for number in range(8):
        panel = world["parents"] if number % 2 else youth
        await build_panel_member(world["tenant"], panel, f"lid{number}@alpha.example")
    page = await client.get(url)
    assert nl_count(*WITHOUT, 9) in page.text
    assert await count() == few


async def test_proposing_to_members_of_a_draft_round_is_refused(client, world):
    refused = await submit(client, f"/t/alpha/rounds/{world['round'].id}/agreements/propose")
    assert refused.status_code == 409
    assert nl("Terms are proposed to the members of a sent round only. A draft round proposes them when it is "
              "sent; a closed round no longer.") in refused.text
    assert await world["scope"].count(PaymentAgreement) == 0


# --- the date of birth -------------------------------------------------------------------------


async def test_a_member_held_by_the_age_band_who_enters_a_date_of_birth_of_16_becomes_active(client, world):
    await send_with_terms(client, world)
    young = await invite_and_accept(client, world, "jong@alpha.example", age_band="under_16", display_name="Jong")
    assert (await membership_of(world, young)).status == "invited"
    await login(client, young.email)
    saved = await submit(client, "/t/alpha/privacy/details", {"date_of_birth": years_ago(16).isoformat(), "benefit": ""},
                         follow_redirects=True)
    assert nl("Your details have been saved.") in saved.text
    assert nl("You can take part in your panel now.") in saved.text
    assert (await membership_of(world, young)).status == "active"
    payments, ownerships = await agreements_of(world, young)
    assert (len(payments), len(ownerships)) == (1, 1)
    entry = await AuditEntry.objects().where(
        (AuditEntry.action == "panel_membership.activated") & (AuditEntry.actor == young.id)).first()
    assert json.loads(entry.after) == {"status": "active", "by": "date_of_birth"}


async def test_an_active_member_whose_date_of_birth_shows_under_16_is_held_until_the_guardian_confirms(client, world):
    await send_with_terms(client, world)
    member = world["member"]
    await login(client, member.email)
    saved = await submit(client, "/t/alpha/privacy/details", {"date_of_birth": years_ago(15).isoformat(), "benefit": ""},
                         follow_redirects=True)
    assert nl("Your parent or guardian must give consent before you can take part in a panel.") in saved.text
    assert (await membership_of(world, member)).status == "invited"
    assert (await client.get(f"/t/alpha/rounds/{world['round'].id}")).status_code in (403, 404)
    held = await AuditEntry.objects().where(AuditEntry.action == "panel_membership.held").first()
    assert json.loads(held.before) == {"status": "active"}


async def test_the_officer_corrects_a_date_of_birth_audited_without_the_value(client, world):
    await send_with_terms(client, world)
    young = await invite_and_accept(client, world, "jong@alpha.example", age_band="under_16", display_name="Jong")
    membership = await membership_of(world, young)
    url = f"/t/alpha/panel-members/{membership.id}/date-of-birth"
    edit = await client.get(f"/t/alpha/panel-members/{membership.id}/edit")
    assert f'action="{url}"' in edit.text and nl("No date of birth is given: the age band decides.") in edit.text

    empty = await submit(client, url, {"date_of_birth": ""})
    assert empty.status_code == 422 and nl("Fill in %(label)s.", label=nl("Date of birth").lower()) in empty.text
    future = await submit(client, url, {"date_of_birth": "2999-01-01"})
    assert future.status_code == 422
    assert nl("Enter a real date of birth: not in the future and not before 1900.") in future.text
    assert 'value="2999-01-01"' in future.text
    assert not await world["scope"].exists(PersonalDetails)

    birth = years_ago(17)
    corrected = await submit(client, url, {"date_of_birth": birth.isoformat()}, follow_redirects=True)
    assert nl("The date of birth has been corrected.") in corrected.text
    assert nl("The membership is active now.") in corrected.text
    assert (await world["scope"].objects(PersonalDetails).first()).date_of_birth == birth
    assert (await membership_of(world, young)).status == "active"
    assert tuple(map(len, await agreements_of(world, young))) == (1, 1)
    entry = await AuditEntry.objects().where(AuditEntry.action == "personal_details.corrected").first()
    assert (entry.actor, entry.object_id, json.loads(entry.after)) == (
        world["officer"].id, young.id, {"date_of_birth_given": True})
    trail = " ".join(row["before"] + row["after"] for row in await AuditEntry.select(AuditEntry.before, AuditEntry.after))
    assert birth.isoformat() not in trail


async def test_only_officers_of_the_tenant_correct_a_date_of_birth(client, world):
    membership = await membership_of(world, world["member"])
    url = f"/t/alpha/panel-members/{membership.id}/date-of-birth"
    await login(client, world["member"].email)
    assert (await submit(client, url, {"date_of_birth": "2001-01-01"})).status_code == 403
    beta = await make_tenant("beta")
    other = await make_user("beleid@beta.example", tenant=beta, roles=("policy_officer",))
    await login(client, other.email)
    assert (await submit(client, url.replace("/alpha/", "/beta/"), {"date_of_birth": "2001-01-01"})).status_code == 404
    assert not await world["scope"].exists(PersonalDetails)


async def test_an_officer_changing_the_age_band_decides_activation_again(client, world):
    young = await invite_and_accept(client, world, "jong@alpha.example", age_band="under_16", display_name="Jong")
    membership = await membership_of(world, young)
    saved = await submit(client, f"/t/alpha/panel-members/{membership.id}/edit", {
        "age_band": "16_17", "support_contact": "", "monthly_hours_budget": "8"}, follow_redirects=True)
    assert nl("The membership is active now.") in saved.text
    assert (await membership_of(world, young)).status == "active"


# --- the parent-panel warning on the round page -----------------------------------------------


async def test_the_round_page_warns_when_no_parent_panel_is_invited_in_the_stage(client):
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    stage = await build_stage(tenant)
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    round_ = await build_round(tenant, stage, panels=[youth])
    await login(client, officer.email)
    warning = nl("No panel of parents is invited to a round in this stage. The parent perspective is often "
                 "forgotten: consider inviting a parent panel or a mixed panel.")
    assert warning in (await client.get(f"/t/alpha/rounds/{round_.id}")).text
    await submit(client, f"/t/alpha/rounds/{round_.id}/panels", {"panel_id": str(parents.id)})
    assert warning not in (await client.get(f"/t/alpha/rounds/{round_.id}")).text

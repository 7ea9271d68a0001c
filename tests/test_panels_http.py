"""Panel pages through HTTP: creating panels, inviting members, accepting, status changes, access."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.accounts.tables import Membership, User
from portal.core.audit import AuditEntry
from portal.core.tenancy import TenantScope
from portal.invitations.tables import Invitation
from portal.panels.tables import Panel, PanelMembership
from portal.privacy.tables import Consent
from tests.support import (
    Browser,
    everywhere,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)

GOOD_PASSWORD = "a-long-enough-password"
NEW = "nieuw@x.example"


@pytest.fixture
async def tenant():
    return await make_tenant("alpha", name="Gemeente Alpha")


@pytest.fixture
async def officer(client, tenant):
    """The test client, logged in as a policy officer of alpha."""
    user = await make_user("officer@alpha.example", tenant=tenant, roles=("policy_officer",), name="Olaf")
    await login(client, user.email)
    return user


@pytest.fixture
async def panel(tenant):
    panel = TenantScope(tenant).new(Panel, name="Ouderpanel", kind="parents", partner_organisation="Stichting Samen")
    await panel.save()
    return panel


@pytest.fixture
async def coach(tenant):
    return await make_user("coach@alpha.example", tenant=tenant, roles=("support_contact",), display_name="Coach Carla")


async def create(client, **values):
    data = {"name": "Jongerenpanel", "kind": "youth", "partner_organisation": "", "description": "", **values}
    return await post_form(client, "/t/alpha/panels", data, follow_redirects=False)


async def invite(client, panel, email=NEW, **values):
    data = {"email": email, "age_band": "21_26", "support_contact": "", "monthly_hours_budget": "8", **values}
    return await post_form(client, f"/t/alpha/panels/{panel.id}/invite", data, follow_redirects=False)


async def accept_as_new_person(browser, link: str):
    data = {"display_name": "Zonnebloem", "name": "Zoë de Vries", "password": GOOD_PASSWORD,
            "password_confirmation": GOOD_PASSWORD, "experience": "1"}
    return await post_form(browser, link, data, follow_redirects=False)


async def membership_of(email: str) -> PanelMembership:
    user = await User.objects().get(User.email == email)
    return await everywhere(PanelMembership).objects().get(PanelMembership.user == user.id)


# --- panels ----------------------------------------------------------------------------------------


async def test_officer_creates_a_panel_and_sees_it_listed(client, officer):
    response = await create(client, partner_organisation="Jongerenwerk Alpha", description="Voor 12 tot 23 jaar")
    assert response.status_code == 303
    panel = await everywhere(Panel).objects().get(Panel.name == "Jongerenpanel")
    assert response.headers["location"] == f"/t/alpha/panels/{panel.id}"
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert nl("The panel %(name)s has been created.", name="Jongerenpanel") in page.text
    assert "Jongerenwerk Alpha" in page.text and "Voor 12 tot 23 jaar" in page.text
    listing = await client.get("/t/alpha/panels")
    assert f'href="/t/alpha/panels/{panel.id}"' in listing.text
    assert nl("Young people") in listing.text
    assert 'action="/t/alpha/panels"' in listing.text  # the create form, for managers
    entry = await AuditEntry.objects().get(AuditEntry.action == "panel.created")
    assert (entry.object_id, entry.actor) == (panel.id, officer.id)


async def test_duplicate_panel_name_is_422_and_nothing_is_stored(client, officer, panel):
    response = await create(client, name="ouderpanel", kind="parents")
    assert response.status_code == 422
    assert nl("A panel with this name already exists.") in response.text
    assert 'href="#field-name"' in response.text and 'value="ouderpanel"' in response.text
    assert await everywhere(Panel).count() == 1
    assert not await AuditEntry.exists().where(AuditEntry.action == "panel.created")


@pytest.mark.parametrize(
    ("values", "bad_fields"),
    [({"name": "", "kind": ""}, ["name", "kind"]), ({"name": "x" * 121}, ["name"]), ({"kind": "elders"}, ["kind"])],
    ids=["missing", "too-long", "unknown-kind"],
)
async def test_bad_panel_input_is_shown_and_nothing_stored(client, officer, values, bad_fields):
    response = await create(client, **values)
    assert response.status_code == 422
    for name in bad_fields:
        assert f'href="#field-{name}"' in response.text
    assert await everywhere(Panel).count() == 0


async def test_officer_edits_a_panel(client, officer, panel):
    form = await client.get(f"/t/alpha/panels/{panel.id}/edit")
    assert form.status_code == 200 and 'value="Ouderpanel"' in form.text
    data = {"name": "Ouderpanel Noord", "kind": "mixed", "partner_organisation": "", "description": "Nieuw"}
    response = await post_form(client, f"/t/alpha/panels/{panel.id}/edit", data, follow_redirects=False)
    assert response.status_code == 303
    stored = await everywhere(Panel).objects().get(Panel.id == panel.id)
    assert (stored.name, stored.kind, stored.partner_organisation) == ("Ouderpanel Noord", "mixed", "")
    assert await AuditEntry.exists().where(AuditEntry.action == "panel.updated")
    bad = await post_form(client, f"/t/alpha/panels/{panel.id}/edit", {**data, "kind": "x"})
    assert bad.status_code == 422


async def test_another_tenants_panel_is_not_found(client, officer):
    beta = TenantScope(await make_tenant("beta"))
    foreign = beta.new(Panel, name="Ouderpanel", kind="parents")
    await foreign.save()
    assert (await client.get(f"/t/alpha/panels/{foreign.id}")).status_code == 404
    assert (await invite(client, foreign)).status_code == 404
    assert await everywhere(Invitation).count() == 0


# --- inviting and accepting ------------------------------------------------------------------------


async def test_invitation_email_names_the_panel_and_following_it_activates_the_membership(
    client, officer, panel, coach
):
    response = await invite(client, panel, support_contact=str(coach.id), monthly_hours_budget="6,5")
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/alpha/panels/{panel.id}"
    page = await client.get(f"/t/alpha/panels/{panel.id}")
    assert nl("The invitation to %(panel)s has been sent to %(email)s.", panel="Ouderpanel", email=NEW) in page.text
    assert NEW in page.text  # the invited person in the members table and the open invitations

    messages = await outbox(NEW)
    assert len(messages) == 1
    assert messages[0].subject == nl(
        "Invitation to the panel %(panel)s of %(tenant)s", panel="Ouderpanel", tenant="Gemeente Alpha")
    assert nl(
        "%(inviter)s invites you to join the panel %(panel)s in the participation space of %(tenant)s, as: %(role)s.",
        inviter="Olaf", panel="Ouderpanel", tenant="Gemeente Alpha", role=nl("Panel member"),
    ) in messages[0].body
    link = link_in(messages[0].body)

    visitor = Browser(client)
    form = await visitor.get(link)
    assert form.status_code == 200 and "Ouderpanel" in form.text
    accepted = await accept_as_new_person(visitor, link)
    assert accepted.status_code == 303
    home = await visitor.get("/t/alpha/")
    assert nl("Welcome! You have joined the panel %(panel)s.", panel="Ouderpanel") in home.text

    membership = await membership_of(NEW)
    assert (membership.status, membership.support_contact, membership.monthly_hours_budget) == (
        "active", coach.id, Decimal("6.5"))
    roles = await everywhere(Membership).select(Membership.role).where(Membership.user == membership.user)
    assert roles == [{"role": "panel_member"}]
    page = await client.get(f"/t/alpha/panels/{panel.id}")
    assert "Zonnebloem" in page.text and "Coach Carla" in page.text and "Zoë de Vries" not in page.text
    assert await AuditEntry.exists().where(AuditEntry.action == "panel_membership.activated")
    listing = await client.get("/t/alpha/panels")
    assert '<td class="utrecht-table__cell" data-label="' in listing.text and ">1</td>" in listing.text


@pytest.mark.parametrize(
    ("values", "bad_field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"age_band": ""}, "age_band"),
        ({"monthly_hours_budget": "161"}, "monthly_hours_budget"),
        ({"monthly_hours_budget": "veel"}, "monthly_hours_budget"),
        ({"support_contact": "999999"}, "support_contact"),
    ],
    ids=["email", "age-band", "budget-too-high", "budget-not-a-number", "unknown-support-contact"],
)
async def test_bad_invitation_input_is_422_and_nothing_is_sent(client, officer, panel, values, bad_field):
    response = await invite(client, panel, **values)
    assert response.status_code == 422
    assert f'href="#field-{bad_field}"' in response.text
    assert await everywhere(Invitation).count() == 0 and await everywhere(PanelMembership).count() == 0
    assert await outbox() == []


async def test_inviting_a_current_member_again_is_refused(client, officer, panel):
    assert (await invite(client, panel)).status_code == 303
    again = await invite(client, panel)
    assert again.status_code == 422
    assert nl("This person has already been invited to this panel and the invitation is still open.") in again.text
    assert await everywhere(Invitation).count() == 1 and len(await outbox(NEW)) == 1


async def test_existing_panel_member_is_invited_to_another_panel(client, officer, tenant, panel):
    """Someone who already has the role panel member here joins a second panel; the role stays one."""
    await make_user("sky@x.example", tenant=tenant, roles=("panel_member",), display_name="Sky")
    assert (await invite(client, panel, "sky@x.example")).status_code == 303
    link = link_in((await outbox("sky@x.example"))[0].body)
    sky = Browser(client)
    await login(sky, "sky@x.example")
    accepted = await post_form(sky, link, {"display_name": "Sky", "experience": "1"}, follow_redirects=False)
    assert accepted.status_code == 303
    assert (await membership_of("sky@x.example")).status == "active"
    assert await everywhere(Membership).count().where(Membership.role == "panel_member") == 1


# --- status changes ----------------------------------------------------------------------------------


async def test_status_buttons_change_the_membership(client, officer, tenant, panel):
    member = await make_user("m@x.example", tenant=tenant, roles=("panel_member",), display_name="Sky")
    membership = TenantScope(tenant).new(PanelMembership, panel=panel.id, user=member.id, status="active",
                                         age_band="16_17")
    await membership.save()
    url = f"/t/alpha/panel-members/{membership.id}/status"
    page = await client.get(f"/t/alpha/panels/{panel.id}")
    assert f'action="{url}"' in page.text and 'value="paused"' in page.text

    response = await post_form(client, url, {"status": "paused"}, follow_redirects=False)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert nl("The membership has been paused.") in page.text
    assert (await everywhere(PanelMembership).objects().get(PanelMembership.id == membership.id)).status == "paused"

    refused = await post_form(client, url, {"status": "invited"})
    assert refused.status_code == 409
    assert (await post_form(client, url, {"status": "retired"})).status_code == 422
    assert (await everywhere(PanelMembership).objects().get(PanelMembership.id == membership.id)).status == "paused"
    entries = await AuditEntry.count().where(AuditEntry.action == "panel_membership.status_changed")
    assert entries == 1


async def test_withdrawing_an_invitation_from_the_panel_page_makes_the_link_unusable(client, officer, panel):
    await invite(client, panel)
    link = link_in((await outbox(NEW))[0].body)
    membership = await everywhere(PanelMembership).objects().first()
    response = await post_form(client, f"/t/alpha/panel-members/{membership.id}/status", {"status": "withdrawn"},
                               follow_redirects=False)
    assert response.status_code == 303
    assert (await Browser(client).get(link)).status_code in (404, 409, 410)
    assert (await everywhere(Invitation).objects().first()).revoked_at is not None


async def test_officer_edits_a_membership(client, officer, tenant, panel, coach):
    membership = TenantScope(tenant).new(PanelMembership, panel=panel.id, invited_email=NEW, age_band="16_17")
    await membership.save()
    url = f"/t/alpha/panel-members/{membership.id}/edit"
    form = await client.get(url)
    assert form.status_code == 200 and 'value="8"' in form.text
    data = {"age_band": "18_20", "support_contact": str(coach.id), "monthly_hours_budget": "10"}
    assert (await post_form(client, url, data, follow_redirects=False)).status_code == 303
    stored = await everywhere(PanelMembership).objects().get(PanelMembership.id == membership.id)
    assert (stored.age_band, stored.support_contact, stored.monthly_hours_budget) == ("18_20", coach.id, Decimal(10))
    bad = await post_form(client, url, {**data, "monthly_hours_budget": "-2"})
    assert bad.status_code == 422 and 'value="-2"' in bad.text


# --- who may see what --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["panel_member", "council_member"])
async def test_panel_members_and_council_members_get_403(client, tenant, panel, role):
    await make_user("someone@alpha.example", tenant=tenant, roles=(role,))
    await login(client, "someone@alpha.example")
    assert (await client.get("/t/alpha/panels")).status_code == 403
    assert (await client.get(f"/t/alpha/panels/{panel.id}")).status_code == 403
    assert (await create(client)).status_code == 403
    assert (await invite(client, panel)).status_code == 403
    assert await everywhere(Panel).count() == 1 and await everywhere(Invitation).count() == 0


async def test_support_contact_reads_panels_and_sees_only_their_members(client, tenant, panel, coach):
    scope = TenantScope(tenant)
    for email, name, contact in (("a@x.example", "Supported Sam", coach.id), ("b@x.example", "Other Olga", None)):
        user = await make_user(email, tenant=tenant, roles=("panel_member",), display_name=name)
        await scope.new(PanelMembership, panel=panel.id, user=user.id, status="active", support_contact=contact).save()
    await login(client, coach.email)
    listing = await client.get("/t/alpha/panels")
    assert listing.status_code == 200 and "Ouderpanel" in listing.text
    assert 'action="/t/alpha/panels"' not in listing.text
    page = await client.get(f"/t/alpha/panels/{panel.id}")
    assert page.status_code == 200
    assert "Supported Sam" in page.text and "Other Olga" not in page.text
    assert "/invite" not in page.text and "/status" not in page.text
    assert (await invite(client, panel)).status_code == 403
    assert (await create(client)).status_code == 403


# --- my invitations ----------------------------------------------------------------------------------


async def test_my_invitations_and_accepting_without_the_link(client, officer, tenant, panel):
    raad = await make_user("raad@x.example", tenant=tenant, roles=("council_member",), display_name="Raadslid R.")
    assert (await invite(client, panel, raad.email)).status_code == 303
    invitation = await everywhere(Invitation).objects().first()

    browser = Browser(client)
    await login(browser, raad.email)
    mine = await browser.get("/t/alpha/invitations/mine")
    assert mine.status_code == 200
    assert "Ouderpanel" in mine.text
    assert f'href="/t/alpha/invitations/{invitation.id}/accept-mine"' in mine.text

    # Joining a panel from "my invitations" asks for consent, as the emailed link does.
    form = await browser.get(f"/t/alpha/invitations/{invitation.id}/accept-mine")
    assert form.status_code == 200 and 'id="field-experience"' in form.text
    assert 'id="field-display_name"' not in form.text  # the name they show here already is used
    refused = await post_form(browser, f"/t/alpha/invitations/{invitation.id}/accept-mine", {"publication": "1"})
    assert refused.status_code == 422
    assert nl("Tick the box to give your consent for the processing of your lived experience. "
              "Without it you cannot take part in the panel.") in refused.text
    assert 'id="field-publication" name="publication" value="1" checked' in refused.text
    assert (await everywhere(Invitation).objects().first()).accepted_at is None  # nothing stored

    accepted = await post_form(browser, f"/t/alpha/invitations/{invitation.id}/accept-mine",
                               {"experience": "1"}, follow_redirects=False)
    assert accepted.status_code == 303
    consents = await everywhere(Consent).select(Consent.kind).where(Consent.user == raad.id)
    assert {row["kind"] for row in consents} == {"account", "experience"}
    after = await browser.get(accepted.headers["location"])
    assert nl("You have joined the panel %(panel)s.", panel="Ouderpanel") in after.text
    assert nl("You have no open invitations in this space.") in after.text
    membership = await membership_of(raad.email)
    assert membership.status == "active"
    roles = {row["role"]: row["display_name"] for row in
             await everywhere(Membership).select(Membership.role, Membership.display_name).where(Membership.user == raad.id)}
    assert roles == {"council_member": "Raadslid R.", "panel_member": "Raadslid R."}
    again = await post_form(browser, f"/t/alpha/invitations/{invitation.id}/accept-mine")
    assert again.status_code == 409


async def test_accept_mine_refuses_someone_elses_invitation(client, officer, tenant, panel):
    await invite(client, panel, "someone-else@x.example")
    invitation = await everywhere(Invitation).objects().first()
    await make_user("me@x.example", tenant=tenant, roles=("council_member",))
    browser = Browser(client)
    await login(browser, "me@x.example")
    assert "Ouderpanel" not in (await browser.get("/t/alpha/invitations/mine")).text
    refused = await post_form(browser, f"/t/alpha/invitations/{invitation.id}/accept-mine")
    assert refused.status_code == 403
    assert (await everywhere(PanelMembership).objects().first()).status == "invited"
    assert (await everywhere(Invitation).objects().first()).accepted_at is None


async def test_my_invitations_needs_a_role_here(client, tenant):
    await make_user("outsider@x.example")
    await login(client, "outsider@x.example")
    assert (await client.get("/t/alpha/invitations/mine")).status_code == 403

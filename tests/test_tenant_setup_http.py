"""The platform operator creates a tenant space in the browser and invites its first administrator,
who accepts and finds the space set up; the invitation form chooses no role for the inviter."""

from __future__ import annotations

import pytest

from portal.accounts.tables import Membership
from portal.core.audit import AuditEntry
from portal.core.tenancy import TenantScope
from portal.cycles.tables import StageTemplateStep
from portal.invitations.tables import Invitation
from portal.tenants.tables import Tenant
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

ADMIN_EMAIL = "beheer@nieuwstad.example"
SPACE = {"name": "Gemeente Nieuwstad", "slug": "nieuwstad", "kind": "municipality", "locale": "nl",
         "admin_email": ADMIN_EMAIL}


@pytest.fixture
async def operator(client):
    user = await make_user("op@platform.example", operator=True, name="Olga Operator")
    await login(client, user.email)
    return user


async def create_space(client, **values):
    return await post_form(client, "/platform/spaces", {**SPACE, **values}, follow_redirects=False)


async def test_operator_creates_a_space_with_the_default_template_and_invites_its_admin(client, operator):
    response = await create_space(client)
    assert response.status_code == 303 and response.headers["location"] == "/platform"
    page = await client.get("/platform")
    assert nl("The space %(name)s has been created and its administrator has been invited.",
              name="Gemeente Nieuwstad") in page.text
    tenant = await Tenant.objects().get(Tenant.slug == "nieuwstad")
    assert (tenant.name, tenant.kind, tenant.locale) == ("Gemeente Nieuwstad", "municipality", "nl")
    steps = await TenantScope(tenant).select(
        StageTemplateStep, StageTemplateStep.position, StageTemplateStep.name, StageTemplateStep.participation_form
    ).order_by(StageTemplateStep.position)
    assert [step["name"] for step in steps] == [
        "Agendavorming", "Beleidsvoorbereiding", "Besluitvorming", "Uitvoering & inkoop",
        "Evaluatie & terugkoppeling"]
    assert [step["position"] for step in steps] == [0, 1, 2, 3, 4]
    invitation = await TenantScope(tenant).objects(Invitation).first()
    assert (invitation.email, invitation.role) == (ADMIN_EMAIL, "tenant_admin")
    messages = await outbox(ADMIN_EMAIL)
    assert len(messages) == 1 and "Gemeente Nieuwstad" in messages[0].body
    entries = await AuditEntry.objects().where(AuditEntry.tenant == tenant.id).order_by(AuditEntry.id)
    assert [(entry.action, entry.actor) for entry in entries] == [
        ("tenant.created", operator.id), ("invitation.created", operator.id)]
    assert not any("@" in entry.before + entry.after or "Olga" in entry.after for entry in entries)


async def test_the_invited_admin_accepts_and_manages_the_new_space(client, operator):
    await create_space(client)
    link = link_in((await outbox(ADMIN_EMAIL))[0].body)
    newcomer = Browser(client)
    accepted = await post_form(newcomer, link, {
        "display_name": "Beheer Nieuwstad", "name": "Nina Nieuw", "password": "a-long-enough-password",
        "password_confirmation": "a-long-enough-password"}, follow_redirects=False)
    assert accepted.status_code == 303
    tenant = await Tenant.objects().get(Tenant.slug == "nieuwstad")
    assert await TenantScope(tenant).exists(Membership).where(Membership.role == "tenant_admin")
    space = await newcomer.get("/t/nieuwstad/space")
    assert space.status_code == 200
    assert "Agendavorming" in space.text and nl("Change the policy-cycle template") in space.text


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"slug": "Nieuw Stad"}, "slug", None),
        ({"slug": "-nieuwstad"}, "slug", None),
        ({"slug": ""}, "slug", None),
        ({"name": ""}, "name", None),
        ({"name": "x" * 201}, "name", None),
        ({"kind": "province"}, "kind", None),
        ({"locale": "de"}, "locale", None),
        ({"admin_email": "beheer"}, "admin_email", "Enter an email address like name@example.nl."),
    ],
    ids=["spaces", "leading-hyphen", "empty-slug", "empty-name", "long-name", "kind", "locale", "email"],
)
async def test_bad_space_input_is_shown_next_to_the_field_and_nothing_is_stored(
    client, operator, values, field, message
):
    response = await create_space(client, **values)
    assert response.status_code == 422
    assert nl("Please check the following") in response.text
    assert f'id="field-{field}-error"' in response.text
    if message:
        assert nl(message) in response.text
    kept = {**SPACE, **values}
    for name in ("name", "admin_email"):
        if name != field and kept[name]:
            assert f'value="{kept[name]}"' in response.text
    assert await Tenant.count() == 0
    assert await everywhere(Invitation).count() == 0
    assert await outbox() == []


async def test_a_slug_in_use_is_refused_with_its_own_message(client, operator):
    await make_tenant("nieuwstad")
    response = await create_space(client)
    assert response.status_code == 422
    assert nl("Another space already has this address. Choose another one.") in response.text
    assert 'value="Gemeente Nieuwstad"' in response.text
    assert await Tenant.count() == 1
    assert await everywhere(Invitation).count() == 0


async def test_the_slug_message_explains_the_format_in_dutch(client, operator):
    response = await create_space(client, slug="Nieuw_Stad")
    assert nl("Use only lowercase letters, digits and hyphens, at most %(max)s, beginning and ending "
              "with a letter or digit.", max=63) in response.text
    assert 'value="Nieuw_Stad"' in response.text


async def test_only_the_platform_operator_creates_spaces(client):
    tenant = await make_tenant("alpha")
    await make_user("admin@alpha.example", tenant=tenant, roles=("tenant_admin",))
    anonymous = await post_form(client, "/platform/spaces", SPACE, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    await login(client, "admin@alpha.example")
    assert (await post_form(client, "/platform/spaces", SPACE)).status_code == 403
    assert await Tenant.count() == 1
    assert await everywhere(Invitation).count() == 0


# --- the invitation form chooses no role ---------------------------------------------------------


@pytest.fixture
async def tenant_admin(client):
    tenant = await make_tenant("alpha", name="Gemeente Alpha")
    user = await make_user("admin@alpha.example", tenant=tenant, roles=("tenant_admin",))
    await login(client, user.email)
    return user


async def test_the_invitation_form_has_no_role_chosen(client, tenant_admin):
    page = await client.get("/t/alpha/invitations")
    assert f'<option value="" selected>{nl("Choose a role")}</option>' in page.text
    assert 'value="tenant_admin" selected' not in page.text
    assert " selected" not in page.text.split(nl("Choose a role"), 1)[1].split("</select>", 1)[0]


async def test_an_invitation_without_a_role_is_refused_with_a_clear_message(client, tenant_admin):
    response = await post_form(client, "/t/alpha/invitations", {"email": "nieuw@x.example", "role": ""})
    assert response.status_code == 422
    assert nl("Choose the role this person gets in this space.") in response.text
    assert 'value="nieuw@x.example"' in response.text
    assert await everywhere(Invitation).count() == 0
    assert await outbox() == []

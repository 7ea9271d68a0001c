"""Policy cycles and stages through HTTP: what officers, council members and panel members see
and may do, with and without htmx."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from portal.core.audit import AuditEntry
from portal.core.tenancy import TenantScope
from portal.cycles import service
from portal.cycles.tables import PolicyCycle, Stage
from portal.rounds.tables import ConsultationRound
from tests.support import (
    DEFAULT_TEMPLATE_STAGES,
    login,
    make_cycle,
    make_stage_template,
    make_tenant,
    make_user,
    post_form,
)

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def text(message: str, **variables) -> str:
    """``message`` as the English page shows it (escaped like the template does)."""
    return str(escape(message % variables if variables else message))


@pytest.fixture
async def tenant():
    tenant = await make_tenant("alpha", name="Gemeente Alpha")
    await make_stage_template(tenant)
    return tenant


@pytest.fixture
def scope(tenant):
    return TenantScope(tenant)


@pytest.fixture
def english(client):
    client.cookies.set("portal_lang", "en", domain="testserver.local")


async def logged_in(client, tenant, role: str, email: str | None = None, **names):
    user = await make_user(email or f"{role}@alpha.example", tenant=tenant, roles=(role,), **names)
    await login(client, user.email)
    return user


@pytest.fixture
async def officer(client, tenant, english):
    return await logged_in(client, tenant, "policy_officer", name="Olga Jansen", display_name="Olga")


async def stages_of(scope, cycle_id: int) -> list[Stage]:
    return await scope.objects(Stage).where(Stage.cycle == cycle_id).order_by(Stage.position)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'id="field-{re.escape(name)}-error">([^<]*)<', html)
    assert match, f"no error shown next to {name}"
    return match.group(1)


# --- creating a cycle -------------------------------------------------------------------------


async def test_officer_creates_a_cycle_with_the_five_template_stages(client, officer, scope):
    form = await client.get("/t/alpha/cycles/new")
    assert form.status_code == 200
    assert 'name="title"' in form.text and 'name="description"' in form.text
    assert re.search(rf'<option value="{officer.id}" selected>Olga</option>', form.text)

    response = await post_form(client, "/t/alpha/cycles", {
        "title": "Inkoop jeugdhulp 2027", "policy_domain": "Jeugdhulp",
        "description": "Nieuwe contracten.", "owner": str(officer.id),
    }, follow_redirects=False)
    assert response.status_code == 303
    cycle = await scope.objects(PolicyCycle).first()
    assert response.headers["location"] == f"/t/alpha/cycles/{cycle.id}"
    assert (cycle.title, cycle.policy_domain, cycle.owner) == ("Inkoop jeugdhulp 2027", "Jeugdhulp", officer.id)
    stages = await stages_of(scope, cycle.id)
    assert [(s.name, s.participation_form) for s in stages] == list(DEFAULT_TEMPLATE_STAGES)

    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert text("The policy cycle %(title)s has been created.", title=cycle.title) in page.text
    timeline = page.text[page.text.index('<ol class="utrecht-ordered-list portal-timeline__list"'):]
    positions = [timeline.index(text(name)) for name, _form in DEFAULT_TEMPLATE_STAGES]
    assert positions == sorted(positions)
    assert "Stage 1:" in page.text and "Advise</strong>" in page.text
    assert "the municipality must give reasons when it deviates" in page.text
    assert "No dates planned yet" in page.text and "planned" in page.text
    assert await AuditEntry.count().where(AuditEntry.action == "cycle.created") == 1

    listing = await client.get("/t/alpha/cycles")
    assert "Inkoop jeugdhulp 2027" in listing.text and "Olga" in listing.text
    assert "0 of 5 stages closed" in listing.text
    assert "New policy cycle" in listing.text


async def test_bad_cycle_input_is_refused_with_the_values_kept(client, officer, tenant, scope):
    beta = await make_tenant("beta")
    stranger = await make_user("officer@beta.example", tenant=beta, roles=("policy_officer",))
    response = await post_form(client, "/t/alpha/cycles", {
        "title": "", "policy_domain": "d" * 121, "description": "Blijft staan", "owner": str(stranger.id),
    })
    assert response.status_code == 422
    assert field_error(response.text, "title") == "Fill in title."
    assert "120" in field_error(response.text, "policy_domain")
    assert field_error(response.text, "owner") == "Choose owning policy officer from the list."
    assert ">Blijft staan</textarea>" in response.text
    assert 'value="' + "d" * 121 + '"' in response.text
    assert 'id="error-summary"' in response.text
    assert await scope.count(PolicyCycle) == 0 and await scope.count(Stage) == 0


async def test_officer_edits_the_cycle_and_marks_it_completed(client, officer, tenant, scope):
    cycle = await make_cycle(tenant, owner=officer)
    form = await client.get(f"/t/alpha/cycles/{cycle.id}/edit")
    assert form.status_code == 200 and 'value="Inkoop jeugdhulp 2027"' in form.text
    saved = await post_form(client, f"/t/alpha/cycles/{cycle.id}/edit", {
        "title": "Inkoop 2028", "policy_domain": "", "description": "", "owner": "",
    }, follow_redirects=False)
    assert saved.status_code == 303
    stored = await scope.get(PolicyCycle, cycle.id)
    assert (stored.title, stored.owner) == ("Inkoop 2028", None)

    done = await post_form(client, f"/t/alpha/cycles/{cycle.id}/status", {"status": "completed"},
                           follow_redirects=False)
    assert done.status_code == 303
    assert (await scope.get(PolicyCycle, cycle.id)).status == "completed"
    again = await post_form(client, f"/t/alpha/cycles/{cycle.id}/status", {"status": "completed"})
    assert again.status_code == 409
    page = await client.get(f"/t/alpha/cycles/{cycle.id}")
    assert "Mark as active again" in page.text and "Add a stage" not in page.text
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action)]
    assert actions.count("cycle.updated") == 1 and actions.count("cycle.status_changed") == 1


# --- stages -----------------------------------------------------------------------------------


async def test_adding_a_stage_without_javascript_redirects(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    response = await post_form(client, f"/t/alpha/cycles/{cycle.id}/stages",
                               {"name": "Nazorg", "participation_form": "zelfbeheer"},
                               follow_redirects=False)
    assert response.status_code == 303
    stages = await stages_of(scope, cycle.id)
    assert (stages[-1].name, stages[-1].position, stages[-1].status) == ("Nazorg", 6, "planned")
    assert response.headers["location"] == f"/t/alpha/cycles/{cycle.id}#stage-{stages[-1].id}"


async def test_adding_a_stage_with_htmx_returns_the_timeline_fragment(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    response = await post_form(client, f"/t/alpha/cycles/{cycle.id}/stages",
                               {"name": "Nazorg", "participation_form": "zelfbeheer"}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="stage-timeline"')
    assert "Nazorg" in response.text and "Stage 6:" in response.text
    assert text("The stage %(name)s has been added.", name="Nazorg") in response.text
    assert (await stages_of(scope, cycle.id))[-1].name == "Nazorg"

    invalid = await post_form(client, f"/t/alpha/cycles/{cycle.id}/stages",
                              {"name": "", "participation_form": "alles"}, headers=HTMX)
    assert invalid.status_code == 422
    assert "<html" not in invalid.text
    assert field_error(invalid.text, "name") == "Fill in name of the stage."
    assert field_error(invalid.text, "participation_form") == "Choose form of participation from the list."
    assert len(await stages_of(scope, cycle.id)) == 6


async def test_moving_and_removing_stages(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    first, second, third, *_rest = await stages_of(scope, cycle.id)
    moved = await post_form(client, f"/t/alpha/stages/{second.id}/move", {"direction": "up"},
                            follow_redirects=False)
    assert moved.status_code == 303
    assert [s.id for s in await stages_of(scope, cycle.id)][:2] == [second.id, first.id]

    fragment = await post_form(client, f"/t/alpha/stages/{third.id}/remove", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert text("The stage %(name)s has been removed.", name=third.name) in fragment.text
    assert [s.position for s in await stages_of(scope, cycle.id)] == [1, 2, 3, 4]

    first_now = (await stages_of(scope, cycle.id))[0]
    refused = await post_form(client, f"/t/alpha/stages/{first_now.id}/move", {"direction": "up"})
    assert refused.status_code == 409
    assert "This stage is already the first." in refused.text
    assert '<html' in refused.text


async def test_stage_with_rounds_or_open_cannot_be_removed(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    first, second, *_rest = await stages_of(scope, cycle.id)
    await service.open_stage(scope, first, actor=None)
    await scope.new(ConsultationRound, stage=second.id, title="Vraag").save()
    for stage in (first, second):
        response = await post_form(client, f"/t/alpha/stages/{stage.id}/remove")
        assert response.status_code == 409
    assert len(await stages_of(scope, cycle.id)) == 5


async def test_editing_a_stage_on_its_own_page(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[0]
    form = await client.get(f"/t/alpha/stages/{stage.id}/edit")
    assert form.status_code == 200 and 'type="date"' in form.text
    saved = await post_form(client, f"/t/alpha/stages/{stage.id}/edit", {
        "name": "Agenda", "participation_form": "raadplegen",
        "planned_start": "2027-01-10", "planned_end": "2027-02-28",
    }, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/t/alpha/stages/{stage.id}"
    page = await client.get(saved.headers["location"])
    assert "<h1 class=\"utrecht-heading-1\">Agenda</h1>" in page.text
    assert "January 10, 2027 to February 28, 2027" in page.text
    assert "Consult</strong>" in page.text
    assert await AuditEntry.count().where(AuditEntry.action == "stage.updated") == 1


async def test_dates_out_of_order_give_422_next_to_the_end_date(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[0]
    response = await post_form(client, f"/t/alpha/stages/{stage.id}/edit", {
        "name": "Agenda", "participation_form": "adviseren",
        "planned_start": "2027-05-01", "planned_end": "2027-04-30",
    })
    assert response.status_code == 422
    assert field_error(response.text, "planned_end") == "The planned end must be on or after the planned start."
    assert 'value="2027-04-30"' in response.text and 'value="Agenda"' in response.text
    stored = await scope.get(Stage, stage.id)
    assert (stored.name, stored.planned_start) == ("Agendavorming", None)

    bad_date = await post_form(client, f"/t/alpha/stages/{stage.id}/edit", {
        "name": "Agenda", "participation_form": "adviseren", "planned_start": "1 mei",
    })
    assert bad_date.status_code == 422
    assert "as a date" in field_error(bad_date.text, "planned_start")


async def test_a_closed_stage_cannot_be_edited(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[0]
    await service.open_stage(scope, stage, actor=None)
    await service.close_stage(scope, stage, actor=None)
    refusal = "This stage is closed. A closed stage can no longer be changed."
    form = await client.get(f"/t/alpha/stages/{stage.id}/edit")
    assert form.status_code == 409 and refusal in form.text
    response = await post_form(client, f"/t/alpha/stages/{stage.id}/edit", {
        "name": "Anders", "participation_form": "informeren",
        "planned_start": "2027-01-01", "planned_end": "2027-02-01",
    })
    assert response.status_code == 409 and refusal in response.text
    stored = await scope.get(Stage, stage.id)
    assert (stored.name, stored.participation_form, stored.planned_start) == ("Agendavorming", "adviseren", None)
    assert await AuditEntry.count().where(AuditEntry.action == "stage.updated") == 0
    page = await client.get(f"/t/alpha/stages/{stage.id}")
    assert "Edit stage" not in page.text and "Open stage" not in page.text


async def test_inline_edit_with_htmx(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[1]
    prefix = f"stage-{stage.id}-"
    form = await client.get(f"/t/alpha/stages/{stage.id}/edit?inline=1", headers=HTMX)
    assert form.status_code == 200 and "<html" not in form.text
    assert form.text.lstrip().startswith(f'<li id="stage-{stage.id}"')
    assert f'name="{prefix}name"' in form.text and 'name="inline" value="1"' in form.text

    invalid = await post_form(client, f"/t/alpha/stages/{stage.id}/edit", {
        "inline": "1", f"{prefix}name": "", f"{prefix}participation_form": "adviseren",
    }, headers=HTMX)
    assert invalid.status_code == 422 and "<html" not in invalid.text
    assert field_error(invalid.text, f"{prefix}name") == "Fill in name of the stage."

    saved = await post_form(client, f"/t/alpha/stages/{stage.id}/edit", {
        "inline": "1", f"{prefix}name": "Voorbereiden", f"{prefix}participation_form": "meebeslissen",
        f"{prefix}planned_start": "", f"{prefix}planned_end": "2027-06-30",
    }, headers=HTMX)
    assert saved.status_code == 200 and "<html" not in saved.text
    assert saved.text.lstrip().startswith(f'<li id="stage-{stage.id}"')
    assert "Voorbereiden" in saved.text and "Until June 30, 2027" in saved.text
    assert (await scope.get(Stage, stage.id)).participation_form == "meebeslissen"


async def test_opening_and_closing_a_stage(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[0]
    opened = await post_form(client, f"/t/alpha/stages/{stage.id}/open", follow_redirects=False)
    assert opened.status_code == 303
    page = await client.get(f"/t/alpha/cycles/{cycle.id}")
    assert f'<li id="stage-{stage.id}"' in page.text
    item = page.text[page.text.index(f'<li id="stage-{stage.id}"'):]
    assert item[:item.index(">")].endswith('aria-current="step"')
    assert "open (current stage)" in page.text
    assert page.text.count('aria-current="step"') == 1

    async def advice_without_response(_scope, _stage):
        return "One piece of advice has no published response yet."

    service.STAGE_CLOSE_CHECKS.append(advice_without_response)
    try:
        blocked = await post_form(client, f"/t/alpha/stages/{stage.id}/close")
    finally:
        service.STAGE_CLOSE_CHECKS.remove(advice_without_response)
    assert blocked.status_code == 409
    assert "One piece of advice has no published response yet." in blocked.text
    assert (await scope.get(Stage, stage.id)).status == "open"

    closed = await post_form(client, f"/t/alpha/stages/{stage.id}/close", follow_redirects=False)
    assert closed.status_code == 303
    assert (await scope.get(Stage, stage.id)).status == "closed"
    again = await post_form(client, f"/t/alpha/stages/{stage.id}/open")
    assert again.status_code == 409
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action)]
    assert actions.count("stage.opened") == 1 and actions.count("stage.closed") == 1


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["council_member", "support_contact"])
async def test_council_members_and_support_contacts_read_but_cannot_change(client, tenant, scope, english, role):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[0]
    await logged_in(client, tenant, role)
    for url in ("/t/alpha/cycles", f"/t/alpha/cycles/{cycle.id}", f"/t/alpha/stages/{stage.id}"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "Agendavorming" in response.text or "Inkoop jeugdhulp 2027" in response.text
        for control in ("New policy cycle", "Add a stage", "Move down", "Remove", "Open stage", "Edit"):
            assert control not in response.text, (url, control)
    for url, data in [
        ("/t/alpha/cycles", {"title": "X"}),
        (f"/t/alpha/cycles/{cycle.id}/edit", {"title": "X"}),
        (f"/t/alpha/cycles/{cycle.id}/status", {"status": "completed"}),
        (f"/t/alpha/cycles/{cycle.id}/stages", {"name": "X", "participation_form": "informeren"}),
        (f"/t/alpha/stages/{stage.id}/edit", {"name": "X", "participation_form": "informeren"}),
        (f"/t/alpha/stages/{stage.id}/move", {"direction": "down"}),
        (f"/t/alpha/stages/{stage.id}/remove", {}),
        (f"/t/alpha/stages/{stage.id}/open", {}),
        (f"/t/alpha/stages/{stage.id}/close", {}),
    ]:
        assert (await post_form(client, url, data)).status_code == 403, url
    for url in ("/t/alpha/cycles/new", f"/t/alpha/cycles/{cycle.id}/edit", f"/t/alpha/stages/{stage.id}/edit"):
        assert (await client.get(url)).status_code == 403, url
    assert await scope.count(PolicyCycle) == 1
    assert [(s.name, s.status) for s in await stages_of(scope, cycle.id)][0] == ("Agendavorming", "planned")


async def test_panel_members_get_no_cycle_pages(client, tenant, scope):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle.id))[0]
    await logged_in(client, tenant, "panel_member")
    for url in ("/t/alpha/cycles", f"/t/alpha/cycles/{cycle.id}", f"/t/alpha/stages/{stage.id}"):
        assert (await client.get(url)).status_code == 403, url


async def test_another_tenants_cycle_and_stage_are_not_found(client, officer, scope):
    beta = await make_tenant("beta")
    beta_cycle = await make_cycle(beta)
    beta_stage = (await stages_of(TenantScope(beta), beta_cycle.id))[0]
    assert (await client.get(f"/t/alpha/cycles/{beta_cycle.id}")).status_code == 404
    assert (await client.get(f"/t/alpha/stages/{beta_stage.id}")).status_code == 404
    removed = await post_form(client, f"/t/alpha/stages/{beta_stage.id}/remove")
    assert removed.status_code == 404
    added = await post_form(client, f"/t/alpha/cycles/{beta_cycle.id}/stages",
                            {"name": "X", "participation_form": "informeren"})
    assert added.status_code == 404
    assert len(await stages_of(TenantScope(beta), beta_cycle.id)) == 5


async def test_an_owner_who_is_no_longer_an_officer_can_be_kept(client, officer, tenant, scope):
    from portal.accounts.tables import Membership

    former = await make_user("former@alpha.example", tenant=tenant, roles=("policy_officer", "council_member"),
                             display_name="Fenna")
    cycle = await make_cycle(tenant, owner=former)
    await scope.delete(Membership).where(
        (Membership.user == former.id) & (Membership.role == "policy_officer")
    )
    form = await client.get(f"/t/alpha/cycles/{cycle.id}/edit")
    assert f'<option value="{former.id}" selected>Fenna</option>' in form.text
    saved = await post_form(client, f"/t/alpha/cycles/{cycle.id}/edit", {
        "title": "Nieuwe titel", "owner": str(former.id),
    }, follow_redirects=False)
    assert saved.status_code == 303
    stored = await scope.get(PolicyCycle, cycle.id)
    assert (stored.title, stored.owner) == ("Nieuwe titel", former.id)


async def test_an_unknown_cycle_status_is_refused(client, officer, tenant, scope):
    cycle = await make_cycle(tenant)
    response = await post_form(client, f"/t/alpha/cycles/{cycle.id}/status", {"status": "deleted"})
    assert response.status_code == 422
    assert "Choose status from the list." in response.text
    assert (await scope.get(PolicyCycle, cycle.id)).status == "active"

"""The tenant admin sets the space up in the browser: settings, default terms, theme and logo, the
policy-cycle template and archived panels. Checked like the tenant loader checks, audited, in
effect at once; officers are refused."""

from __future__ import annotations

import pytest

from portal.core.audit import AuditEntry
from portal.core.settings import get_settings, load_settings
from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage, StageTemplateStep
from portal.invitations.tables import Invitation
from portal.panels.tables import Panel, PanelMembership
from portal.tenants.settings import settings_of, tenant_setting
from portal.tenants.tables import Tenant
from portal.tenants.theme import contrast_with_white, theme_of
from tests.support import (
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    everywhere,
    login,
    make_cycle,
    make_stage_template,
    make_tenant,
    make_user,
    nl,
    post_form,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0" + bytes(32)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SETTINGS = {"report_hide_threshold": "4", "post_edit_minutes": "15", "advice_confirmation_rule": "all",
            "advice_response_weeks": "8", "retention_months": "36", "public_advice_ledger": "1"}


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Uploads of this test only, so that what a test finds there is what it stored."""
    monkeypatch.setenv("PORTAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    return load_settings()


@pytest.fixture
async def tenant():
    tenant = await make_tenant("alpha", name="Gemeente Alpha")
    await make_stage_template(tenant)
    return tenant


@pytest.fixture
async def admin(client, tenant):
    user = await make_user("admin@alpha.example", tenant=tenant, roles=("tenant_admin",), name="Ada Admin")
    await login(client, user.email)
    return user


async def fresh(tenant) -> Tenant:
    return await Tenant.objects().get(Tenant.id == tenant.id)


async def audit_actions(tenant) -> list[str]:
    entries = await AuditEntry.objects().where(AuditEntry.tenant == tenant.id).order_by(AuditEntry.id)
    assert not any("@" in entry.before + entry.after or "Ada" in entry.before + entry.after for entry in entries)
    return [entry.action for entry in entries]


# --- who may --------------------------------------------------------------------------------------


async def test_officers_and_council_members_are_refused_every_set_up_page(client, tenant):
    await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer", "council_member"))
    await login(client, "beleid@alpha.example")
    step = await TenantScope(tenant).objects(StageTemplateStep).first()
    panel = await build_panel(tenant, "Ouderpanel")
    for path in ("/space", "/space/settings", "/space/terms", "/space/theme", "/space/stages",
                 f"/space/stages/{step.id}/edit"):
        assert (await client.get(f"/t/alpha{path}")).status_code == 403, path
    for path, data in (("/space/settings", SETTINGS), ("/space/theme", {"primary_color": "#000000"}),
                       ("/space/theme/logo/remove", {}), ("/space/terms", {"kind": "parents"}),
                       ("/space/stages", {"name": "X", "participation_form": "informeren"}),
                       (f"/space/stages/{step.id}/edit", {"name": "X", "participation_form": "informeren"}),
                       (f"/space/stages/{step.id}/move", {"direction": "down"}),
                       (f"/space/stages/{step.id}/remove", {}), (f"/panels/{panel.id}/archive", {})):
        assert (await post_form(client, f"/t/alpha{path}", data)).status_code == 403, path
    assert settings_of(await fresh(tenant)) == {}
    assert (await everywhere(Panel).objects().first()).archived_at is None
    assert await TenantScope(tenant).count(StageTemplateStep) == 5


async def test_the_space_page_links_every_set_up_page(client, admin):
    page = await client.get("/t/alpha/space")
    for path in ("/space/settings", "/space/terms?kind=parents", "/space/theme", "/space/stages"):
        assert f'href="/t/alpha{path}"' in page.text


# --- settings ---------------------------------------------------------------------------------------


async def test_settings_are_saved_audited_and_apply_at_once(client, admin, tenant):
    assert (await client.get("/t/alpha/ledger")).status_code == 404
    form = await client.get("/t/alpha/space/settings")
    assert 'value="3"' in form.text and 'value="24"' in form.text  # the defaults
    response = await post_form(client, "/t/alpha/space/settings", SETTINGS, follow_redirects=False)
    assert response.status_code == 303
    stored = await fresh(tenant)
    assert [tenant_setting(stored, key) for key in SETTINGS] == [4, 15, "all", 8, 36, True]
    assert (await client.get("/t/alpha/ledger")).status_code == 200  # on at once
    assert "tenant.settings_updated" in await audit_actions(tenant)
    again = await post_form(client, "/t/alpha/space/settings", SETTINGS)
    assert nl("Nothing was changed.") in again.text
    assert (await audit_actions(tenant)).count("tenant.settings_updated") == 1


async def test_turning_the_ledger_off_keeps_the_other_settings(client, admin, tenant):
    tenant.settings = {"public_advice_ledger": True, "agreement_terms": {"parents": {"planned_hours": "4"}}}
    await tenant.save()
    data = {**SETTINGS}
    del data["public_advice_ledger"]
    assert (await post_form(client, "/t/alpha/space/settings", data, follow_redirects=False)).status_code == 303
    stored = settings_of(await fresh(tenant))
    assert stored["public_advice_ledger"] is False
    assert stored["agreement_terms"] == {"parents": {"planned_hours": "4"}}
    assert (await client.get("/t/alpha/ledger")).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [("report_hide_threshold", "0"), ("post_edit_minutes", "abc"), ("advice_response_weeks", ""),
     ("retention_months", "10001"), ("retention_months", "2.5"), ("advice_confirmation_rule", "most")],
)
async def test_bad_settings_are_explained_next_to_the_field_and_nothing_is_stored(client, admin, tenant, field, value):
    response = await post_form(client, "/t/alpha/space/settings", {**SETTINGS, field: value})
    assert response.status_code == 422
    assert f'id="field-{field}-error"' in response.text
    expected = (nl("Choose one of: %(choices)s.", choices='"majority", "all"') if field == "advice_confirmation_rule"
                else nl("Enter a whole number from %(min)s to %(max)s.", min=1, max=10000))
    assert expected in response.text
    kept = "36" if field != "retention_months" else "15"
    assert f'value="{kept}"' in response.text  # the other values are kept
    if value and field != "advice_confirmation_rule":
        assert f'value="{value}"' in response.text
    assert settings_of(await fresh(tenant)) == {}
    assert await audit_actions(tenant) == []


async def test_settings_page_is_in_english_for_english_readers(client, admin):
    client.cookies.set("portal_lang", "en", domain="testserver.local")
    response = await post_form(client, "/t/alpha/space/settings", {**SETTINGS, "post_edit_minutes": "0"})
    assert "Enter a whole number from 1 to 10000." in response.text


# --- default terms per kind of panel ------------------------------------------------------------------


TERMS = {"kind": "youth", "basis": "volunteer_hourly", "payer": "Gemeente Alpha", "rate": "3,40",
         "planned_hours": "6", "owner": "member", "licence": "approval", "attribution": "pseudonym",
         "review_edits": "1", "withdrawal_terms": "Je kunt altijd stoppen."}


async def test_default_terms_keep_only_what_differs_from_the_portals_defaults(client, admin, tenant):
    page = await client.get("/t/alpha/space/terms?kind=youth")
    assert page.status_code == 200 and 'value="3.40"' in page.text
    response = await post_form(client, "/t/alpha/space/terms", TERMS, follow_redirects=False)
    assert response.status_code == 303
    stored = settings_of(await fresh(tenant))["agreement_terms"]
    assert stored == {"youth": {"planned_hours": "6", "withdrawal_terms": "Je kunt altijd stoppen."}}
    assert "tenant.settings_updated" in await audit_actions(tenant)
    page = await client.get("/t/alpha/space/terms?kind=youth")
    assert 'value="6"' in page.text


@pytest.mark.parametrize(
    ("values", "field"),
    [({"rate": "9,99"}, "rate"), ({"licence": "cc_by"}, "licence"), ({"planned_hours": "-1"}, "planned_hours"),
     ({"payer": ""}, "payer"), ({"basis": "bitcoin"}, "basis")],
    ids=["rate-above-cap", "open-licence-unconfirmed", "negative-hours", "no-payer", "unknown-basis"],
)
async def test_bad_default_terms_are_refused(client, admin, tenant, values, field):
    response = await post_form(client, "/t/alpha/space/terms", {**TERMS, **values})
    assert response.status_code == 422
    assert f'id="field-{field}-error"' in response.text
    assert 'value="Je kunt altijd stoppen."' in response.text or "Je kunt altijd stoppen." in response.text
    assert settings_of(await fresh(tenant)) == {}


async def test_an_unknown_kind_of_panel_is_not_found(client, admin):
    assert (await client.get("/t/alpha/space/terms?kind=grandparents")).status_code == 404


# --- theme and logo -----------------------------------------------------------------------------------


async def test_colours_are_saved_and_shown_on_the_next_page(client, admin, tenant):
    response = await post_form(client, "/t/alpha/space/theme",
                               {"primary_color": "#0B6E4F", "link_color": "#00568b"}, follow_redirects=False)
    assert response.status_code == 303
    assert theme_of(await fresh(tenant)) == {"primary_color": "#0b6e4f", "link_color": "#00568b"}
    page = await client.get("/t/alpha/space")
    assert "--portal-header-background-color: #0b6e4f;" in page.text
    assert await audit_actions(tenant) == ["tenant.theme_updated"]


async def test_a_light_colour_is_refused_with_its_contrast(client, admin, tenant):
    response = await post_form(client, "/t/alpha/space/theme", {"primary_color": "#ffdd00", "link_color": ""})
    assert response.status_code == 422
    assert 'id="field-primary_color-error"' in response.text
    assert nl("%(colour)s contrasts %(ratio)s:1 with white; at least %(minimum)s:1 is needed for "
              "readable text. Choose a darker colour.", colour="#ffdd00", ratio=f"{contrast_with_white('#ffdd00'):.2f}",
              minimum=4.5) in response.text
    assert 'value="#ffdd00"' in response.text
    assert theme_of(await fresh(tenant)) == {}


async def test_a_colour_that_is_no_colour_is_refused(client, admin, tenant):
    response = await post_form(client, "/t/alpha/space/theme", {"primary_color": "red;}", "link_color": ""})
    assert response.status_code == 422
    assert nl("Enter a colour as # and six hexadecimal digits, like #1f4e79.") in response.text
    assert theme_of(await fresh(tenant)) == {}


async def upload(client, name: str, content: bytes, **fields):
    return await post_form(client, "/t/alpha/space/theme", {"primary_color": "", "link_color": "", **fields},
                           files={"logo": (name, content, "image/png")}, follow_redirects=False)


async def test_an_uploaded_logo_is_stored_outside_the_web_root_and_served_with_cache_headers(
    client, admin, tenant, settings
):
    assert (await upload(client, "logo.png", PNG)).status_code == 303
    uploaded = theme_of(await fresh(tenant))["uploaded_logo"]
    assert uploaded["content_type"] == "image/png"
    stored = settings.upload_dir / str(tenant.id) / uploaded["storage_name"]
    assert stored.read_bytes() == PNG
    url = f"/t/alpha/logo/{uploaded['storage_name']}"
    page = await client.get("/t/alpha/space")
    assert f'<img src="{url}" alt="" class="portal-brand__logo">' in page.text
    client.cookies.clear()
    served = await client.get(url)  # the header of a public page shows it: no login needed
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/t/alpha/logo/" + "0" * 64)).status_code == 404


async def test_a_new_logo_replaces_the_old_file_and_removing_it_deletes_it(client, admin, tenant, settings):
    await upload(client, "logo.png", PNG)
    first = theme_of(await fresh(tenant))["uploaded_logo"]
    assert (await upload(client, "logo.jpg", JPEG)).status_code == 303
    second = theme_of(await fresh(tenant))["uploaded_logo"]
    assert second["content_type"] == "image/jpeg" and second != first
    folder = settings.upload_dir / str(tenant.id)
    assert [path.name for path in folder.iterdir()] == [second["storage_name"]]
    assert (await client.get(f"/t/alpha/logo/{first['storage_name']}")).status_code == 404
    response = await post_form(client, "/t/alpha/space/theme/logo/remove", {}, follow_redirects=False)
    assert response.status_code == 303
    assert "uploaded_logo" not in theme_of(await fresh(tenant))
    assert list(folder.iterdir()) == []
    assert (await audit_actions(tenant)).count("tenant.theme_updated") == 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("logo.svg", SVG, "Upload the logo as a PNG or JPEG picture."),
     ("logo.png", b"GIF89a" + bytes(16), "Upload the logo as a PNG or JPEG picture."),
     ("logo.png", PNG + bytes(512 * 1024), "The logo is too large: at most %(max)s KB is allowed."),
     ("logo.png", b"", "Choose a picture to upload. The file you chose is empty.")],
    ids=["svg", "gif", "too-large", "empty"],
)
async def test_a_logo_that_is_not_a_png_or_jpeg_is_refused_and_nothing_is_stored(
    client, admin, tenant, settings, name, content, message
):
    response = await upload(client, name, content, primary_color="#1f4e79")
    assert response.status_code == 422
    assert 'id="field-logo-error"' in response.text
    assert nl(message, max=512) in response.text
    assert 'value="#1f4e79"' in response.text  # the colour is kept
    assert theme_of(await fresh(tenant)) == {}
    assert not (settings.upload_dir / str(tenant.id)).exists()  # nothing stored half-way


# --- the policy-cycle template ----------------------------------------------------------------------------


async def steps_of(tenant) -> list[tuple[str, str]]:
    """The template in order; its positions always follow each other without a gap."""
    rows = await TenantScope(tenant).select(
        StageTemplateStep, StageTemplateStep.position, StageTemplateStep.name, StageTemplateStep.participation_form
    ).order_by(StageTemplateStep.position)
    positions = [row["position"] for row in rows]
    assert positions == list(range(positions[0], positions[0] + len(rows))) if rows else True
    return [(row["name"], row["participation_form"]) for row in rows]


async def step_named(tenant, name: str) -> StageTemplateStep:
    return await TenantScope(tenant).objects(StageTemplateStep).where(StageTemplateStep.name == name).first()


async def test_the_admin_adds_renames_moves_and_removes_stages(client, admin, tenant):
    added = await post_form(client, "/t/alpha/space/stages",
                            {"name": "Nazorg", "name_en": "Aftercare", "participation_form": "informeren"},
                            follow_redirects=False)
    assert added.status_code == 303
    nazorg = await step_named(tenant, "Nazorg")
    assert nazorg.name_en == "Aftercare"
    assert (await steps_of(tenant))[-1] == ("Nazorg", "informeren")
    edit = await client.get(f"/t/alpha/space/stages/{nazorg.id}/edit")
    assert 'value="Nazorg"' in edit.text
    renamed = await post_form(client, f"/t/alpha/space/stages/{nazorg.id}/edit",
                              {"name": "Nazorg en evaluatie", "name_en": "", "participation_form": "meebeslissen"},
                              follow_redirects=False)
    assert renamed.status_code == 303
    moved = await post_form(client, f"/t/alpha/space/stages/{nazorg.id}/move", {"direction": "up"},
                            follow_redirects=False)
    assert moved.status_code == 303
    first = await step_named(tenant, "Agendavorming")
    assert (await post_form(client, f"/t/alpha/space/stages/{first.id}/remove", {},
                            follow_redirects=False)).status_code == 303
    assert await steps_of(tenant) == [
        ("Beleidsvoorbereiding", "coproduceren"), ("Besluitvorming", "adviseren"),
        ("Uitvoering & inkoop", "adviseren"), ("Nazorg en evaluatie", "meebeslissen"),
        ("Evaluatie & terugkoppeling", "raadplegen")]
    assert await audit_actions(tenant) == [
        "stage_template.step_added", "stage_template.step_updated", "stage_template.step_moved",
        "stage_template.step_removed"]
    page = await client.get("/t/alpha/space/stages")
    assert page.text.index("Besluitvorming") < page.text.index("Nazorg en evaluatie")


async def test_existing_cycles_keep_their_stages_and_new_cycles_follow_the_template(client, admin, tenant):
    before = await make_cycle(tenant, "Bestaand traject")
    step = await step_named(tenant, "Besluitvorming")
    await post_form(client, f"/t/alpha/space/stages/{step.id}/edit",
                    {"name": "Besluit door de raad", "participation_form": "informeren"})
    await post_form(client, "/t/alpha/space/stages/" + str((await step_named(tenant, "Agendavorming")).id)
                    + "/remove", {})
    scope = TenantScope(tenant)
    kept = await scope.select(Stage, Stage.name).where(Stage.cycle == before.id).order_by(Stage.position)
    assert [row["name"] for row in kept][:3] == ["Agendavorming", "Beleidsvoorbereiding", "Besluitvorming"]
    after = await make_cycle(tenant, "Nieuw traject")
    new = await scope.select(Stage, Stage.name, Stage.participation_form).where(
        Stage.cycle == after.id).order_by(Stage.position)
    assert new[:2] == [{"name": "Beleidsvoorbereiding", "participation_form": "coproduceren"},
                       {"name": "Besluit door de raad", "participation_form": "informeren"}]


@pytest.mark.parametrize(
    ("values", "field"),
    [({"name": ""}, "name"), ({"name": "x" * 121}, "name"), ({"name_en": "y" * 121}, "name_en"),
     ({"participation_form": "beslissen"}, "participation_form")],
)
async def test_bad_stage_input_is_shown_and_nothing_is_stored(client, admin, tenant, values, field):
    data = {"name": "Nazorg", "name_en": "", "participation_form": "informeren", **values}
    step = await step_named(tenant, "Besluitvorming")
    for url in ("/t/alpha/space/stages", f"/t/alpha/space/stages/{step.id}/edit"):
        response = await post_form(client, url, data)
        assert response.status_code == 422
        assert f'id="field-{field}-error"' in response.text
        if field != "name":
            assert 'value="Nazorg"' in response.text
    assert len(await steps_of(tenant)) == 5
    assert (await step_named(tenant, "Besluitvorming")) is not None
    assert await audit_actions(tenant) == []


async def test_the_first_cannot_move_up_and_the_last_stage_stays(client, admin, tenant):
    first = await step_named(tenant, "Agendavorming")
    refused = await post_form(client, f"/t/alpha/space/stages/{first.id}/move", {"direction": "up"})
    assert refused.status_code == 409
    assert nl("This stage is already the first.") in refused.text
    for step in (await TenantScope(tenant).objects(StageTemplateStep))[:-1]:
        await post_form(client, f"/t/alpha/space/stages/{step.id}/remove", {})
    last = await TenantScope(tenant).objects(StageTemplateStep).first()
    refused = await post_form(client, f"/t/alpha/space/stages/{last.id}/remove", {})
    assert refused.status_code == 409
    assert nl("The policy-cycle template needs at least one stage.") in refused.text
    assert await steps_of(tenant) == [("Evaluatie & terugkoppeling", "raadplegen")]


# --- archived panels --------------------------------------------------------------------------------------


async def test_an_archived_panel_is_not_offered_and_its_members_stay(client, admin, tenant):
    scope = TenantScope(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    member = await build_panel_member(tenant, parents, "ouder@alpha.example")
    invited = await post_form(client, f"/t/alpha/panels/{parents.id}/invite",
                              {"email": "nieuw@alpha.example", "age_band": "27_plus", "support_contact": "",
                               "monthly_hours_budget": "8"}, follow_redirects=False)
    assert invited.status_code == 303
    response = await post_form(client, f"/t/alpha/panels/{parents.id}/archive", {"next": "/t/alpha/space"},
                               follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/t/alpha/space"
    space = await client.get("/t/alpha/space")
    assert nl("The panel %(name)s has been archived; %(num)s open invitation was withdrawn.",
              name="Ouderpanel", num=1) in space.text
    assert (await scope.get(Panel, parents.id)).archived_at is not None
    statuses = await scope.select(PanelMembership, PanelMembership.user, PanelMembership.status).where(
        PanelMembership.panel == parents.id)
    assert {row["status"] for row in statuses if row["user"] == member.id} == {"active"}
    assert {row["status"] for row in statuses if row["user"] is None} == {"withdrawn"}
    assert (await scope.objects(Invitation).first()).revoked_at is not None
    # Not offered for new members, nor for a round; its page stays readable.
    panel_page = await client.get(f"/t/alpha/panels/{parents.id}")
    assert panel_page.status_code == 200 and f'/panels/{parents.id}/invite"' not in panel_page.text
    refused = await post_form(client, f"/t/alpha/panels/{parents.id}/invite",
                              {"email": "ander@alpha.example", "age_band": "27_plus", "support_contact": "",
                               "monthly_hours_budget": "8"})
    assert refused.status_code == 422
    round_ = await build_round(tenant, await build_stage(tenant))
    round_page = await client.get(f"/t/alpha/rounds/{round_.id}")
    assert f'<option value="{parents.id}"' not in round_page.text
    invite_round = await post_form(client, f"/t/alpha/rounds/{round_.id}/panels", {"panel_id": str(parents.id)})
    assert invite_round.status_code == 422
    assert "panel.archived" in await audit_actions(tenant)

    back = await post_form(client, f"/t/alpha/panels/{parents.id}/unarchive", {}, follow_redirects=False)
    assert back.headers["location"] == f"/t/alpha/panels/{parents.id}"
    assert (await scope.get(Panel, parents.id)).archived_at is None
    assert f'<option value="{parents.id}"' in (await client.get(f"/t/alpha/rounds/{round_.id}")).text
    assert (await audit_actions(tenant))[-1] == "panel.unarchived"


async def test_archiving_twice_says_so(client, admin, tenant):
    panel = await build_panel(tenant, "Jongerenpanel", "youth")
    await post_form(client, f"/t/alpha/panels/{panel.id}/archive", {})
    again = await post_form(client, f"/t/alpha/panels/{panel.id}/archive", {})
    assert nl("This panel is already archived.") in again.text
    assert (await audit_actions(tenant)).count("panel.archived") == 1

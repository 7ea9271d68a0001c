"""Consultation rounds through HTTP: from a draft to the panel member's inbox, and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.audit import AuditEntry
from portal.core.tenancy import TenantScope
from portal.rounds import service
from portal.rounds.rules import MAX_DOCUMENT_BYTES
from portal.rounds.tables import ConsultationRound, RoundDocument, RoundPanel
from tests.support import (
    SIX_ANSWERS,
    Browser,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    csrf_token,
    everywhere,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def in_days(days: int) -> str:
    return (service.today() + timedelta(days=days)).isoformat()


@pytest.fixture
async def world(client):
    """Tenant alpha: an open stage, a parent, a youth and a third panel with members, a council
    member; the test client is logged in as the policy officer."""
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    third = await build_panel(tenant, "Derde panel", "mixed")
    await build_panel_member(tenant, parents, "ouder@alpha.example", display_name="Moeder van twee",
                             support_contact=supporter)
    await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader",
                             support_contact=supporter)
    await build_panel_member(tenant, parents, "pauze@alpha.example", status="paused")
    await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky", support_contact=supporter)
    await build_panel_member(tenant, third, "derde@alpha.example", support_contact=supporter)
    await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    await login(client, officer.email)
    return {"tenant": tenant, "stage": stage, "parents": parents, "youth": youth, "third": third}


async def as_person(client, email: str) -> Browser:
    browser = Browser(client)
    await login(browser, email)
    return browser


async def create_draft(client, stage, **fields):
    data = {"title": "Inkoop jeugdhulp: wat moet beter?", "question": "Wat moet er beter?",
            "deadline": in_days(30), "expected_effort_hours": "2", **fields}
    return await post_form(client, f"/t/alpha/stages/{stage.id}/rounds", data, follow_redirects=False)


async def draft_id(client, stage, **fields) -> int:
    response = await create_draft(client, stage, **fields)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def invite(client, round_id: int, panel) -> object:
    return await post_form(client, f"/t/alpha/rounds/{round_id}/panels", {"panel_id": str(panel.id)},
                           follow_redirects=False)


async def upload(client, round_id: int, name: str, content: bytes, content_type: str = "application/pdf"):
    return await client.post(
        f"/t/alpha/rounds/{round_id}/documents",
        data={"_csrf_token": await csrf_token(client)},
        files={"document": (name, content, content_type)},
        follow_redirects=False,
    )


async def stored_round(round_id: int, tenant) -> ConsultationRound:
    return await TenantScope(tenant).get(ConsultationRound, round_id)


# --- the journey ------------------------------------------------------------------------------


async def test_from_draft_to_the_panel_members_inbox(client, world):
    tenant, stage = world["tenant"], world["stage"]
    form = await client.get(f"/t/alpha/stages/{stage.id}/rounds/new")
    assert form.status_code == 200 and 'name="goal"' in form.text and 'name="need"' in form.text

    round_id = await draft_id(client, stage)
    page = await client.get(f"/t/alpha/rounds/{round_id}")
    assert page.status_code == 200
    assert nl("The round has been saved as a draft.") in page.text
    assert nl("Not answered yet") in page.text

    # A council member does not see a draft; it does not exist for them.
    council = await as_person(client, "raad@alpha.example")
    assert (await council.get(f"/t/alpha/rounds/{round_id}")).status_code == 404

    # Sending is refused while the six questions are open.
    await invite(client, round_id, world["parents"])
    refused = await post_form(client, f"/t/alpha/rounds/{round_id}/send", follow_redirects=False)
    assert refused.status_code in (409, 422)
    assert nl("2. What is needed: experience expertise, the collective knowledge of a group, or an individual story?") in refused.text
    assert (await stored_round(round_id, tenant)).status == "draft"
    assert await outbox() == []

    # The officer answers the six questions and invites a youth panel too.
    edit = await client.get(f"/t/alpha/rounds/{round_id}/edit")
    assert edit.status_code == 200 and "Wat moet er beter?" in edit.text
    saved = await post_form(client, f"/t/alpha/rounds/{round_id}/edit", {
        "title": "Inkoop jeugdhulp: wat moet beter?", "question": "Wat moet er beter?",
        "deadline": in_days(30), "expected_effort_hours": "2", **SIX_ANSWERS,
    }, follow_redirects=False)
    assert saved.status_code == 303
    assert (await invite(client, round_id, world["youth"])).status_code == 303

    sent = await post_form(client, f"/t/alpha/rounds/{round_id}/send", follow_redirects=False)
    assert sent.status_code == 303
    stored = await stored_round(round_id, tenant)
    assert stored.status == "sent" and stored.sent_at is not None

    # Every active member of both panels gets an email with a link; the paused member does not.
    for email in ("ouder@alpha.example", "vader@alpha.example", "sky@alpha.example"):
        (message,) = await outbox(email)
        assert "Inkoop jeugdhulp: wat moet beter?" in message.subject
        assert link_in(message.body) == f"/t/alpha/rounds/{round_id}"
        assert message.body.count("http://testserver.local/t/alpha/rounds/") == 1
    sky_mail = (await outbox("sky@alpha.example"))[0].body
    assert "Sky" in sky_mail and "Moeder van twee" not in sky_mail
    assert str(service.deadline_date(stored.deadline).year) in sky_mail
    assert await outbox("pauze@alpha.example") == []
    assert await outbox("derde@alpha.example") == []

    # Following the link as that member shows the round, without the officer's controls.
    member = await as_person(client, "sky@alpha.example")
    shown = await member.get(link_in((await outbox("sky@alpha.example"))[0].body))
    assert shown.status_code == 200
    assert "Wat moet er beter?" in shown.text
    assert f"/rounds/{round_id}/send" not in shown.text and SIX_ANSWERS["goal"] not in shown.text
    mine = await member.get("/t/alpha/rounds/mine")
    assert mine.status_code == 200 and f"/t/alpha/rounds/{round_id}" in mine.text
    assert "/t/alpha/invitations/mine" in mine.text

    # A member of a third panel, and anyone's wrong guess, get 404.
    outsider = await as_person(client, "derde@alpha.example")
    assert (await outsider.get(f"/t/alpha/rounds/{round_id}")).status_code == 404
    assert f"/rounds/{round_id}" not in (await outsider.get("/t/alpha/rounds/mine")).text

    # The council member sees it now that it is sent; the support contact sees it too.
    assert (await council.get(f"/t/alpha/rounds/{round_id}")).status_code == 200
    supporter = await as_person(client, "steun@alpha.example")
    assert (await supporter.get(f"/t/alpha/rounds/{round_id}")).status_code == 200

    closed = await post_form(client, f"/t/alpha/rounds/{round_id}/close", follow_redirects=False)
    assert closed.status_code == 303
    assert (await stored_round(round_id, tenant)).status == "closed"
    rows = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)
    actions = [row["action"] for row in rows if row["action"].startswith("round.")]
    assert actions == ["round.created", "round.panel_invited", "round.updated", "round.panel_invited",
                       "round.sent", "round.closed"]


async def test_sending_without_a_panel_is_refused(client, world):
    round_id = await draft_id(client, world["stage"], **SIX_ANSWERS)
    refused = await post_form(client, f"/t/alpha/rounds/{round_id}/send", follow_redirects=False)
    assert refused.status_code == 409
    assert nl("Invite at least one panel before you send the round.") in refused.text
    assert (await stored_round(round_id, world["tenant"])).status == "draft"


async def test_the_officer_sees_the_warnings(client, world):
    round_id = await draft_id(client, world["stage"])
    await invite(client, round_id, world["third"])
    page = await client.get(f"/t/alpha/rounds/{round_id}")
    assert nl("Fewer than two experts are invited (now: %(count)s). Involve a group rather than one person: invite another panel or add members.", count=1) in page.text


# --- bad input --------------------------------------------------------------------------------


async def test_a_deadline_in_the_past_is_refused_with_the_values_kept(client, world):
    response = await create_draft(client, world["stage"], deadline=in_days(-1), goal="Ons doel")
    assert response.status_code == 422
    assert nl("The deadline is in the past. Choose today or a later date.") in response.text
    assert in_days(-1) in response.text and "Ons doel" in response.text
    assert 'aria-invalid="true"' in response.text
    assert await TenantScope(world["tenant"]).count(ConsultationRound) == 0


async def test_a_title_is_required(client, world):
    response = await create_draft(client, world["stage"], title="  ")
    assert response.status_code == 422
    assert await TenantScope(world["tenant"]).count(ConsultationRound) == 0


async def test_no_round_in_a_closed_stage(client, world):
    closed = await build_stage(world["tenant"], status="closed", cycle_title="Oud traject")
    response = await create_draft(client, closed)
    assert response.status_code == 409
    assert (await client.get(f"/t/alpha/stages/{closed.id}/rounds/new")).status_code == 409
    assert await TenantScope(world["tenant"]).count(ConsultationRound) == 0


async def test_inviting_a_panel_twice_gives_a_message_not_an_error(client, world):
    round_id = await draft_id(client, world["stage"])
    assert (await invite(client, round_id, world["parents"])).status_code == 303
    again = await invite(client, round_id, world["parents"])
    assert again.status_code == 422
    assert nl("%(panel)s is already invited to this round.", panel="Ouderpanel") in again.text
    assert await TenantScope(world["tenant"]).count(RoundPanel) == 1


async def test_a_panel_of_another_tenant_cannot_be_invited(client, world):
    other = await build_panel(await make_tenant("beta"), "Beta-panel")
    round_id = await draft_id(client, world["stage"])
    response = await invite(client, round_id, other)
    assert response.status_code == 422
    assert nl("Choose a panel from the list.") in response.text
    assert await everywhere(RoundPanel).count() == 0  # in no tenant at all


async def test_editing_a_sent_round_is_a_conflict(client, world):
    sent = await build_round(world["tenant"], world["stage"], status="sent", panels=[world["parents"]])
    assert (await client.get(f"/t/alpha/rounds/{sent.id}/edit")).status_code == 409
    response = await post_form(client, f"/t/alpha/rounds/{sent.id}/edit", {"title": "Anders"},
                               follow_redirects=False)
    assert response.status_code == 409
    assert (await stored_round(sent.id, world["tenant"])).title != "Anders"
    removed = await post_form(client, f"/t/alpha/rounds/{sent.id}/panels/{world['parents'].id}/remove",
                              follow_redirects=False)
    assert removed.status_code == 409


async def test_people_without_the_role_cannot_manage(client, world):
    round_id = await draft_id(client, world["stage"], **SIX_ANSWERS)
    member = await as_person(client, "ouder@alpha.example")
    assert (await member.get(f"/t/alpha/stages/{world['stage'].id}/rounds/new")).status_code == 403
    response = await post_form(member, f"/t/alpha/rounds/{round_id}/send", follow_redirects=False)
    assert response.status_code == 403


# --- documents --------------------------------------------------------------------------------


async def test_documents_are_checked_and_served_only_to_who_may_see_the_round(client, world):
    tenant = world["tenant"]
    round_id = await draft_id(client, world["stage"], **SIX_ANSWERS)
    await invite(client, round_id, world["parents"])

    fake = await upload(client, round_id, "plan.pdf", PNG)
    assert fake.status_code == 422
    assert nl("This file cannot be added. Only PDF, ODT and DOCX documents are allowed, and the file must really be of that type.") in fake.text
    assert await TenantScope(tenant).count(RoundDocument) == 0

    too_large = await upload(client, round_id, "groot.pdf", PDF + b"0" * MAX_DOCUMENT_BYTES)
    assert too_large.status_code == 422
    assert nl("The document is too large: at most %(max)s MB is allowed. Make it smaller, for example by saving it as a PDF with smaller pictures.", max=10) in too_large.text

    accepted = await upload(client, round_id, "Plan van aanpak.pdf", PDF)
    assert accepted.status_code == 303
    document = await TenantScope(tenant).objects(RoundDocument).first()
    assert document.filename == "Plan van aanpak.pdf"
    page = await client.get(f"/t/alpha/rounds/{round_id}")
    assert f"/t/alpha/documents/{document.id}" in page.text

    # Not to anyone while it is a draft, except the managers.
    member = await as_person(client, "ouder@alpha.example")
    assert (await member.get(f"/t/alpha/documents/{document.id}")).status_code == 404
    assert (await post_form(client, f"/t/alpha/rounds/{round_id}/send", follow_redirects=False)).status_code == 303

    download = await member.get(f"/t/alpha/documents/{document.id}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"

    outsider = await as_person(client, "derde@alpha.example")
    assert (await outsider.get(f"/t/alpha/documents/{document.id}")).status_code == 404

    # A sent round keeps its documents.
    kept = await post_form(client, f"/t/alpha/documents/{document.id}/remove", follow_redirects=False)
    assert kept.status_code == 409
    assert await TenantScope(tenant).count(RoundDocument) == 1


async def test_removing_a_document_from_a_draft_deletes_the_file(client, world, settings):
    round_id = await draft_id(client, world["stage"])
    assert (await upload(client, round_id, "plan.pdf", PDF)).status_code == 303
    scope = TenantScope(world["tenant"])
    document = await scope.objects(RoundDocument).first()
    path = service.document_path(settings.upload_dir, scope, document)
    assert path.exists()
    removed = await post_form(client, f"/t/alpha/documents/{document.id}/remove", follow_redirects=False)
    assert removed.status_code == 303
    assert not path.exists() and await scope.count(RoundDocument) == 0


async def test_an_upload_without_a_file_gets_a_message(client, world):
    round_id = await draft_id(client, world["stage"])
    response = await post_form(client, f"/t/alpha/rounds/{round_id}/documents", {})
    assert response.status_code == 422
    assert nl("Choose a document to upload.") in response.text

"""Rules of consultation rounds: the form, sending, panels, documents and the warnings."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.core.audit import AuditEntry
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import current_locale
from portal.core.states import TransitionError
from portal.core.tenancy import TenantScope
from portal.rounds import documents, service
from portal.rounds.rules import MAX_DOCUMENT_BYTES
from portal.rounds.tables import ConsultationRound, RoundDocument, RoundPanel
from portal.rounds.warnings import round_warnings, stage_warnings
from tests.support import (
    SIX_ANSWERS,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    make_tenant,
    make_user,
)

NEXT_YEAR = date.today().year + 1
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def english() -> None:
    current_locale.set("en")


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


ODT = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
DOCX = zip_bytes({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"})


def on(month: int, day: int) -> datetime:
    return datetime(NEXT_YEAR, month, day, 12, tzinfo=UTC)


@pytest.fixture
async def tenant():
    return await make_tenant("alpha")


@pytest.fixture
async def officer(tenant):
    return await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))


@pytest.fixture
async def stage(tenant):
    return await build_stage(tenant)


async def audit_actions() -> list[str]:
    return [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]


# --- the form -------------------------------------------------------------------------------


def test_a_draft_needs_only_a_title():
    english()
    form = Form({"title": "Inkoop"})
    values = service.parse_round_form(form)
    assert form.is_valid, form.errors
    assert values["title"] == "Inkoop" and values["deadline"] is None
    assert values["expected_effort_hours"] == Decimal("0.00")
    assert service.parse_round_form(empty := Form({})) and "title" in empty.errors


def test_a_deadline_in_the_past_is_refused_today_is_fine():
    english()
    yesterday = (service.today() - timedelta(days=1)).isoformat()
    form = Form({"title": "Inkoop", "deadline": yesterday})
    service.parse_round_form(form)
    assert form.errors["deadline"] == "The deadline is in the past. Choose today or a later date."
    assert form.values["deadline"] == yesterday  # kept to show again
    today = Form({"title": "Inkoop", "deadline": service.today().isoformat()})
    values = service.parse_round_form(today)
    assert today.is_valid and service.deadline_date(values["deadline"]) == service.today()


@pytest.mark.parametrize("effort", ["-1", "200,5", "veel", "1e3"])
def test_effort_must_be_a_number_from_0_to_200(effort):
    form = Form({"title": "Inkoop", "expected_effort_hours": effort})
    service.parse_round_form(form)
    assert "expected_effort_hours" in form.errors


def test_effort_with_a_comma_and_a_known_need():
    form = Form({"title": "Inkoop", "expected_effort_hours": "1,5", "need": "individual_story"})
    values = service.parse_round_form(form)
    assert form.is_valid
    assert values["expected_effort_hours"] == Decimal("1.50") and values["need"] == "individual_story"
    unknown = Form({"title": "Inkoop", "need": "gossip"})
    service.parse_round_form(unknown)
    assert "need" in unknown.errors


def test_a_deadline_is_the_end_of_that_day_in_dutch_time():
    stored = service.deadline_from_date(date(NEXT_YEAR, 3, 31))
    assert stored.tzinfo is not None
    assert service.deadline_date(stored) == date(NEXT_YEAR, 3, 31)
    assert service.deadline_date(stored.isoformat()) == date(NEXT_YEAR, 3, 31)


# --- creating, sending, closing ----------------------------------------------------------------


async def test_create_is_audited_and_refused_in_a_closed_stage(tenant, officer, stage):
    scope = TenantScope(tenant)
    round_ = await service.create_round(scope, stage, {"title": "Inkoop"}, officer)
    assert round_.status == "draft" and round_.created_by == officer.id
    assert await audit_actions() == ["round.created"]
    closed = await build_stage(tenant, status="closed", cycle_title="Oud")
    with pytest.raises(service.StateConflict):
        await service.create_round(scope, closed, {"title": "Te laat"}, officer)
    assert await scope.count(ConsultationRound) == 1


async def test_sending_is_refused_until_the_six_questions_are_answered(tenant, officer, stage):
    english()
    scope = TenantScope(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    round_ = await build_round(tenant, stage, complete=False, panels=[panel])
    await service.update_round(scope, round_, {"goal": SIX_ANSWERS["goal"]}, officer)
    with pytest.raises(service.IncompleteRoundError) as refused:
        await service.send_round(scope, round_, officer)
    assert refused.value.unanswered == [
        "need", "asked_of_experts", "experts_wishes", "competence_match", "preconditions"
    ]
    assert service.unanswered_labels(["need"])[0].startswith("2. What is needed")
    reloaded = await scope.get(ConsultationRound, round_.id)
    assert reloaded.status == "draft" and reloaded.sent_at is None
    assert "round.sent" not in await audit_actions()


async def test_sending_needs_a_panel_and_a_deadline(tenant, officer, stage):
    scope = TenantScope(tenant)
    lonely = await build_round(tenant, stage)
    with pytest.raises(service.RoundError):
        await service.send_round(scope, lonely, officer)
    panel = await build_panel(tenant, "Ouderpanel")
    late = await build_round(tenant, stage, panels=[panel], deadline=datetime.now(UTC) - timedelta(days=3))
    with pytest.raises(service.RoundError):
        await service.send_round(scope, late, officer)
    assert await scope.count(ConsultationRound).where(ConsultationRound.status == "sent") == 0


async def test_sending_returns_each_active_member_once_and_is_audited(tenant, officer, stage):
    scope = TenantScope(tenant)
    parents = await build_panel(tenant, "Ouderpanel")
    mixed = await build_panel(tenant, "Gemengd panel", "mixed")
    both = await build_panel_member(tenant, parents, "beide@alpha.example", display_name="Moeder van twee")
    await build_panel_member(tenant, mixed, "", user=both)
    await build_panel_member(tenant, mixed, "sky@alpha.example", display_name="Sky")
    await build_panel_member(tenant, parents, "weg@alpha.example", status="withdrawn")
    round_ = await build_round(tenant, stage, panels=[parents, mixed])
    recipients = await service.send_round(scope, round_, officer)
    assert sorted(person["email"] for person in recipients) == ["beide@alpha.example", "sky@alpha.example"]
    assert {person["display_name"] for person in recipients} == {"Moeder van twee", "Sky"}
    reloaded = await scope.get(ConsultationRound, round_.id)
    assert reloaded.status == "sent" and reloaded.sent_at is not None
    # (Sending also proposes agreements to the members, audited by the agreements feature.)
    round_actions = [action for action in await audit_actions() if action.startswith("round.")]
    assert round_actions == ["round.sent"]
    with pytest.raises(TransitionError):
        await service.send_round(scope, reloaded, officer)
    await service.close_round(scope, reloaded, officer)
    assert (await scope.get(ConsultationRound, round_.id)).status == "closed"
    with pytest.raises(TransitionError):
        await service.close_round(scope, reloaded, officer)
    assert [action for action in await audit_actions() if action.startswith("round.")] == ["round.sent", "round.closed"]


async def test_editing_is_for_drafts_only(tenant, officer, stage):
    scope = TenantScope(tenant)
    sent = await build_round(tenant, stage, status="sent")
    with pytest.raises(service.StateConflict):
        await service.update_round(scope, sent, {"title": "Anders"}, officer)
    assert (await scope.get(ConsultationRound, sent.id)).title != "Anders"


# --- panels -----------------------------------------------------------------------------------


async def test_inviting_a_panel_twice_is_refused_and_other_tenants_panels_are_unknown(tenant, officer, stage):
    english()
    scope = TenantScope(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    round_ = await build_round(tenant, stage)
    assert await service.invite_panel(scope, round_, panel.id, officer) == []
    with pytest.raises(service.RoundError) as twice:
        await service.invite_panel(scope, round_, panel.id, officer)
    assert str(twice.value) == "Ouderpanel is already invited to this round."
    assert twice.value.field == "panel_id"
    other = await build_panel(await make_tenant("beta"), "Beta-panel")
    with pytest.raises(service.RoundError):
        await service.invite_panel(scope, round_, other.id, officer)
    assert await scope.count(RoundPanel) == 1
    assert [row["name"] for row in await service.invitable_panels(scope, round_.id)] == []


async def test_the_unique_index_refuses_a_second_invitation_too(tenant, stage):
    """Two clicks at the same moment pass the check; the database refuses the second."""
    scope = TenantScope(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    round_ = await build_round(tenant, stage, panels=[panel])
    with pytest.raises(Exception) as refused:
        await scope.new(RoundPanel, round=round_.id, panel=panel.id).save()
    assert service._is_unique_violation(refused.value)


async def test_inviting_to_a_sent_round_returns_the_new_members_to_tell(tenant, officer, stage):
    scope = TenantScope(tenant)
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    await build_panel_member(tenant, youth, "sky@alpha.example")
    round_ = await build_round(tenant, stage, status="sent")
    recipients = await service.invite_panel(scope, round_, youth.id, officer)
    assert [person["email"] for person in recipients] == ["sky@alpha.example"]


async def test_a_panel_is_removed_from_a_draft_only(tenant, officer, stage):
    scope = TenantScope(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    draft = await build_round(tenant, stage, panels=[panel])
    await service.remove_panel(scope, draft, panel.id, officer)
    assert await service.invited_panel_ids(scope, draft.id) == []
    sent = await build_round(tenant, stage, status="sent", panels=[panel])
    with pytest.raises(service.StateConflict):
        await service.remove_panel(scope, sent, panel.id, officer)
    assert await service.invited_panel_ids(scope, sent.id) == [panel.id]
    assert await audit_actions() == ["round.panel_removed"]


# --- documents --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("plan.pdf", PDF, "application/pdf"),
    ("Plan.PDF", PDF, "application/pdf"),
    ("notulen.odt", ODT, "application/vnd.oasis.opendocument.text"),
    ("brief.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])
def test_accepted_documents_are_recognised_by_content_and_name(name, content, expected):
    assert documents.check_document(name, content)[1] == expected


@pytest.mark.parametrize(("name", "content"), [
    ("foto.pdf", PNG),  # a PNG with a PDF name
    ("plan.docx", PDF),  # a PDF with a DOCX name
    ("plan.odt", DOCX),  # a DOCX with an ODT name
    ("archief.docx", zip_bytes({"other.xml": b"<x/>"})),  # a zip that is no document
    ("rekenblad.odt", zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})),
    ("plan.exe", PDF),
    ("plan", PDF),
    ("kapot.docx", b"PK\x03\x04 not really a zip"),
    ("leeg.pdf", b""),
])
def test_other_files_are_refused(name, content):
    with pytest.raises(documents.DocumentError):
        documents.check_document(name, content)


def test_a_document_above_the_limit_is_refused():
    with pytest.raises(documents.DocumentError, match="10"):
        documents.check_document("groot.pdf", PDF + b"0" * MAX_DOCUMENT_BYTES)


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\me\\Plan van aanpak.pdf", "Plan van aanpak.pdf"),
    ('a"b;c\r\nd.pdf', "a_b_cd.pdf"),
    ("Überblick – 2027.pdf", "Überblick _ 2027.pdf"),
    (".pdf", "document.pdf"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
])
def test_display_names_are_cleaned(raw, clean):
    assert documents.clean_filename(raw) == clean


async def test_a_document_is_stored_outside_the_web_root_under_a_random_name(tenant, officer, stage, tmp_path):
    scope = TenantScope(tenant)
    round_ = await build_round(tenant, stage)
    document = await service.add_document(scope, round_, "../Plan.pdf", PDF, tmp_path, officer)
    path = service.document_path(tmp_path, scope, document)
    assert path.parent == tmp_path / str(tenant.id)
    assert path.read_bytes() == PDF and "Plan" not in path.name and len(path.name) == 64
    assert document.filename == "Plan.pdf" and document.size == len(PDF)
    with pytest.raises(service.RoundError):
        await service.add_document(scope, round_, "foto.pdf", PNG, tmp_path, officer)
    assert await scope.count(RoundDocument) == 1
    assert len(list((tmp_path / str(tenant.id)).iterdir())) == 1
    await service.remove_document(scope, round_, document, tmp_path, officer)
    assert not path.exists() and await scope.count(RoundDocument) == 0
    assert await audit_actions() == ["round.document_added", "round.document_removed"]


async def test_documents_of_a_sent_round_stay(tenant, officer, stage, tmp_path):
    scope = TenantScope(tenant)
    round_ = await build_round(tenant, stage)
    document = await service.add_document(scope, round_, "plan.pdf", PDF, tmp_path, officer)
    round_.status = "sent"
    with pytest.raises(service.StateConflict):
        await service.remove_document(scope, round_, document, tmp_path, officer)
    assert service.document_path(tmp_path, scope, document).exists()


# --- warnings ---------------------------------------------------------------------------------


async def test_stage_without_a_parent_panel_is_warned(tenant, stage):
    english()
    scope = TenantScope(tenant)
    (warning,) = await stage_warnings(scope, stage)
    assert "parent perspective is often forgotten" in warning
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    await build_round(tenant, stage, panels=[youth])
    assert len(await stage_warnings(scope, stage)) == 1
    # A parent panel invited to a round of another stage does not count here.
    other_stage = await build_stage(tenant, cycle_title="Ander traject")
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    await build_round(tenant, other_stage, panels=[parents])
    assert len(await stage_warnings(scope, stage)) == 1


@pytest.mark.parametrize("kind", ["parents", "mixed"])
async def test_stage_with_a_parent_or_mixed_panel_is_not_warned(tenant, stage, kind):
    panel = await build_panel(tenant, "Panel", kind)
    await build_round(tenant, stage, panels=[panel])
    assert await stage_warnings(TenantScope(tenant), stage) == []


async def test_fewer_than_two_active_experts_is_warned(tenant, stage):
    english()
    scope = TenantScope(tenant)
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    panel = await build_panel(tenant, "Ouderpanel")
    await build_panel_member(tenant, panel, "een@alpha.example", support_contact=supporter)
    await build_panel_member(tenant, panel, "pauze@alpha.example", status="paused", support_contact=supporter)
    round_ = await build_round(tenant, stage, panels=[panel])
    assert await round_warnings(scope, round_) == [
        "Fewer than two experts are invited (now: 1). Involve a group rather than one person: invite another panel or add members."
    ]
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    await build_panel_member(tenant, youth, "twee@alpha.example", support_contact=supporter)
    await service.invite_panel(scope, round_, youth.id, await make_user("x@alpha.example"))
    assert await round_warnings(scope, round_) == []


async def test_a_round_without_panels_has_zero_experts(tenant, stage):
    english()
    warnings = await round_warnings(TenantScope(tenant), await build_round(tenant, stage))
    assert warnings == [
        "Fewer than two experts are invited (now: 0). Involve a group rather than one person: invite another panel or add members."
    ]


async def test_members_without_a_support_contact_are_named(tenant, stage):
    english()
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    panel = await build_panel(tenant, "Ouderpanel")
    await build_panel_member(tenant, panel, "a@alpha.example", display_name="Moeder van twee")
    await build_panel_member(tenant, panel, "b@alpha.example", display_name="Sky", support_contact=supporter)
    round_ = await build_round(tenant, stage, panels=[panel])
    assert await round_warnings(TenantScope(tenant), round_) == [
        "Moeder van twee has no support contact. Every active member needs a named support contact."
    ]


async def test_effort_above_the_monthly_budget_is_warned_per_calendar_month(tenant, stage):
    english()
    scope = TenantScope(tenant)
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    parents = await build_panel(tenant, "Ouderpanel")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    busy = await build_panel_member(tenant, parents, "druk@alpha.example", display_name="Druk",
                                    support_contact=supporter, budget="4")
    await build_panel_member(tenant, youth, "", user=busy, support_contact=supporter, budget="6")
    await build_panel_member(tenant, parents, "rustig@alpha.example", display_name="Rustig",
                             support_contact=supporter, budget="10")
    march = await build_round(tenant, stage, panels=[parents], deadline=on(3, 10), effort="2.5")
    # Another round in March, through the other panel of the busy member: 2,5 + 2 = 4,5 > 4.
    await build_round(tenant, stage, panels=[youth], deadline=on(3, 28), effort="2", status="sent")
    # Not counted: April, and a closed round in March.
    await build_round(tenant, stage, panels=[parents], deadline=on(4, 2), effort="20")
    await build_round(tenant, stage, panels=[parents], deadline=on(3, 5), effort="20", status="closed")
    assert await round_warnings(scope, march) == [
        "Druk is asked for 4.5 hours in this month, more than their budget of 4 hours a month."
    ]


async def test_effort_within_the_budget_is_not_warned(tenant, stage):
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    panel = await build_panel(tenant, "Ouderpanel")
    for email in ("a@alpha.example", "b@alpha.example"):
        await build_panel_member(tenant, panel, email, support_contact=supporter, budget="4")
    march = await build_round(tenant, stage, panels=[panel], deadline=on(3, 10), effort="2")
    await build_round(tenant, stage, panels=[panel], deadline=on(3, 20), effort="2")  # exactly 4
    assert await round_warnings(TenantScope(tenant), march) == []


async def test_a_closed_round_has_no_warnings(tenant, stage):
    closed = await build_round(tenant, stage, status="closed")
    assert await round_warnings(TenantScope(tenant), closed) == []


async def test_warnings_take_the_same_number_of_queries_for_many_members(tenant, stage, monkeypatch):
    scope = TenantScope(tenant)
    database_class = type(engine())
    original = database_class.run_querystring
    calls: list[int] = []

    async def counting(self, *args, **kwargs):
        calls.append(1)
        return await original(self, *args, **kwargs)

    async def queries_for(count: int) -> int:
        panel = await build_panel(tenant, f"Panel {count}", "youth")
        for number in range(count):
            await build_panel_member(tenant, panel, f"lid{count}-{number}@alpha.example")
        round_ = await build_round(tenant, stage, panels=[panel], deadline=on(5, 1), effort="50")
        calls.clear()
        monkeypatch.setattr(database_class, "run_querystring", counting)
        warnings = await round_warnings(scope, round_)
        warnings += await stage_warnings(scope, stage)
        monkeypatch.setattr(database_class, "run_querystring", original)
        assert len(warnings) == 2 * count + 1  # over budget and no support contact, each; no parents
        return len(calls)

    assert await queries_for(2) == await queries_for(12)

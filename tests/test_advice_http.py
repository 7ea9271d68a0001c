"""The advice trail through HTTP: writing and adopting advice, responses with versions and
publication, decisions, outcomes, feeling heard, council questions, permissions and bad input."""

from __future__ import annotations

import datetime

import pytest

from portal.advice import notify
from portal.advice.tables import (
    Advice,
    AdviceItem,
    AdviceVersion,
    CouncilQuestion,
    Decision,
    DecisionLink,
    HeardAnswer,
    OutcomeUpdate,
    ResponseVersion,
)
from portal.core.audit import AuditEntry
from portal.core.tenancy import TenantScope
from portal.cycles import service as cycles
from portal.cycles.tables import Stage
from portal.tenants.tables import Tenant
from tests.support import (
    Browser,
    build_advice,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    everywhere,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)


async def send(client, url: str, data: dict | None = None, **kwargs):
    """A form post as the browser sends it, without following the redirect."""
    return await post_form(client, url, data, follow_redirects=False, **kwargs)


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",),
                              display_name="Beleidsmedewerker")
    colleague = await make_user("collega@alpha.example", tenant=tenant, roles=("policy_officer",))
    council = await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    mixed = await build_panel(tenant, "Gemengd panel", "mixed")
    members = [await build_panel_member(tenant, parents, f"ouder{n}@alpha.example", display_name=f"Ouder {n}")
               for n in (1, 2, 3)]
    youngster = await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky")
    outsider = await build_panel_member(tenant, mixed, "ander@alpha.example", display_name="Ander")
    round_ = await build_round(tenant, stage, status="sent", panels=(parents, youth))
    round_.created_by = officer.id
    await round_.save()
    return {"tenant": tenant, "scope": TenantScope(tenant), "officer": officer, "colleague": colleague,
            "council": council, "stage": stage, "parents": parents, "youth": youth, "members": members,
            "youngster": youngster, "outsider": outsider, "round": round_}


async def _set(tenant, **settings):
    await Tenant.update({Tenant.settings: settings}).where(Tenant.id == tenant.id)


def _items_form(version: int, *items: tuple[str, str, str], title: str = "Ons advies") -> dict:
    data = {"title": title, "version": str(version), "item_count": str(len(items) + 1)}
    for number, (item_title, recommendation, rationale) in enumerate(items, start=1):
        data.update({f"item-{number}-title": item_title, f"item-{number}-recommendation": recommendation,
                     f"item-{number}-rationale": rationale})
    return data


TWO_ITEMS = (("Kortere wachtlijst", "Hooguit vier weken wachten.", "Wij wachtten maanden."),
             ("Vaste contactpersoon", "Eén vaste contactpersoon per gezin.", ""))


# --- writing advice together -----------------------------------------------------------------


async def test_a_member_starts_advice_and_every_save_is_a_version_with_its_differences(client, world):
    scope, round_ = world["scope"], world["round"]
    await login(client, "ouder1@alpha.example")
    page = await client.get(f"/t/alpha/advice/new?round={round_.id}")
    assert page.status_code == 200 and "Ouderpanel" in page.text and "Gemengd panel" not in page.text
    response = await send(client, "/t/alpha/advice", {"round": str(round_.id), "panel": str(world["parents"].id),
                                                           "title": "Ons advies"})
    assert response.status_code == 303, response.text[-3000:]
    advice = await scope.objects(Advice).first()
    assert (advice.round, advice.panel, advice.stage, advice.version) == (round_.id, world["parents"].id,
                                                                          world["stage"].id, 1)
    edit = await client.get(f"/t/alpha/advice/{advice.id}/edit")
    assert edit.status_code == 200
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", _items_form(1, *TWO_ITEMS))
    assert response.status_code == 303, response.text
    items = await scope.objects(AdviceItem).where(AdviceItem.advice == advice.id).order_by(AdviceItem.position)
    assert [item.title for item in items] == ["Kortere wachtlijst", "Vaste contactpersoon"]

    # A second member changes one item: version 3, and its page shows what changed.
    await login(client, "ouder2@alpha.example")
    changed = (("Kortere wachtlijst", "Hooguit zes weken wachten.", "Wij wachtten maanden."), TWO_ITEMS[1])
    assert (await send(client, f"/t/alpha/advice/{advice.id}/edit", _items_form(2, *changed))).status_code == 303
    versions = await scope.objects(AdviceVersion).where(AdviceVersion.advice == advice.id).order_by(AdviceVersion.number)
    assert [version.number for version in versions] == [1, 2, 3]
    assert versions[1].author == world["members"][0].id and versions[2].author == world["members"][1].id
    page = await client.get(f"/t/alpha/advice/versions/{versions[2].id}")
    assert page.status_code == 200
    assert "<del" in page.text and "Hooguit vier weken wachten." in page.text
    assert "<ins" in page.text and "Hooguit zes weken wachten." in page.text
    assert nl("Added:") in page.text and nl("Removed:") in page.text


async def test_bad_document_input_gets_messages_and_changes_nothing(client, world):
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    await login(client, "ouder1@alpha.example")
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit",
                               {**_items_form(1, ("", "Alleen een aanbeveling", "")), "title": ""})
    assert response.status_code == 422
    assert nl("Fill in %(label)s.", label=nl("Title of the advice").lower()) in response.text
    assert await world["scope"].count(AdviceVersion).where(AdviceVersion.advice == advice.id) == 1


async def test_advice_without_items_cannot_be_adopted(client, world):
    await login(client, "ouder1@alpha.example")
    await send(client, "/t/alpha/advice", {"round": str(world["round"].id), "panel": str(world["parents"].id),
                                                "title": "Leeg advies"})
    advice = await world["scope"].objects(Advice).first()
    response = await send(client, f"/t/alpha/advice/{advice.id}/adopt")
    assert response.status_code == 409
    assert nl("Add at least one advice item before the panel adopts the advice.") in response.text
    assert (await world["scope"].get(Advice, advice.id)).status == "draft"


async def test_advice_only_for_own_invited_panels(client, world):
    await login(client, "ander@alpha.example")
    response = await send(client, "/t/alpha/advice", {"round": str(world["round"].id),
                                                           "panel": str(world["mixed"].id) if "mixed" in world else "0",
                                                           "title": "Niet van ons"})
    assert response.status_code in (404, 422)
    assert not await world["scope"].exists(Advice)


# --- adoption ------------------------------------------------------------------------------


async def test_the_panel_adopts_by_majority_and_the_advice_is_submitted_with_a_deadline(client, world):
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    await login(client, "ouder1@alpha.example")
    assert (await send(client, f"/t/alpha/advice/{advice.id}/adopt")).status_code == 303
    asked = {message.recipient for message in await outbox() if "Ons advies" not in message.subject}
    assert {"ouder1@alpha.example", "ouder2@alpha.example", "ouder3@alpha.example"} <= asked
    assert "sky@alpha.example" not in asked  # the youth panel does not adopt the parents' advice
    assert (await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "confirm"})).status_code == 303
    assert (await world["scope"].get(Advice, advice.id)).status == "adopting"
    await login(client, "ouder2@alpha.example")
    await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "confirm"})
    advice = await world["scope"].get(Advice, advice.id)
    assert advice.status == "submitted"
    assert advice.response_due == datetime.date.today() + datetime.timedelta(weeks=6) or advice.response_due > datetime.date.today()
    assert advice.owner == world["officer"].id
    assert [message.recipient for message in await outbox("beleid@alpha.example")]
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).where(AuditEntry.object_id == advice.id)]
    assert {"advice.adoption_started", "advice.vote", "advice.submitted"} <= set(actions)


async def test_with_the_all_rule_one_objection_sends_the_advice_back_to_draft(client, world):
    await _set(world["tenant"], advice_confirmation_rule="all", advice_response_weeks=2)
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    await login(client, "ouder1@alpha.example")
    await send(client, f"/t/alpha/advice/{advice.id}/adopt")
    await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "confirm"})
    await login(client, "ouder2@alpha.example")
    await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "abstain"})
    assert (await world["scope"].get(Advice, advice.id)).status == "adopting"
    await login(client, "ouder3@alpha.example")
    response = await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "object"})
    assert response.status_code == 303
    assert (await world["scope"].get(Advice, advice.id)).status == "draft"


async def test_with_the_all_rule_and_abstentions_the_advice_is_submitted_after_the_set_weeks(client, world):
    await _set(world["tenant"], advice_confirmation_rule="all", advice_response_weeks=2)
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    await login(client, "ouder1@alpha.example")
    await send(client, f"/t/alpha/advice/{advice.id}/adopt")
    for email, choice in (("ouder1", "confirm"), ("ouder2", "abstain"), ("ouder3", "confirm")):
        await login(client, f"{email}@alpha.example")
        await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": choice})
    advice = await world["scope"].get(Advice, advice.id)
    assert advice.status == "submitted"
    assert advice.response_due - datetime.date.today() <= datetime.timedelta(weeks=2, days=1)


async def test_a_vote_with_an_unknown_choice_or_from_a_non_member_is_refused(client, world):
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="adopting")
    await login(client, "ouder1@alpha.example")
    response = await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "maybe"})
    assert response.status_code == 409
    await login(client, "sky@alpha.example")  # in an invited panel, but not the advice's panel
    assert (await client.get(f"/t/alpha/advice/{advice.id}")).status_code == 404
    assert not await world["scope"].exists(AdviceVersion).where(AdviceVersion.number > 1)


# --- who sees advice --------------------------------------------------------------------------------


async def test_who_may_see_advice(client, world):
    draft = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    submitted = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0])
    expectations = {
        "ouder2@alpha.example": (200, 200),
        "ander@alpha.example": (404, 404),
        "sky@alpha.example": (404, 404),
        "raad@alpha.example": (404, 200),
        "beleid@alpha.example": (200, 200),
    }
    for email, (draft_status, submitted_status) in expectations.items():
        await login(client, email)
        assert (await client.get(f"/t/alpha/advice/{draft.id}")).status_code == draft_status, email
        assert (await client.get(f"/t/alpha/advice/{submitted.id}")).status_code == submitted_status, email
    listing = await client.get("/t/alpha/advice")
    assert listing.status_code == 200


async def test_joint_advice_belongs_to_every_invited_panel(client, world):
    await login(client, "sky@alpha.example")
    response = await send(client, "/t/alpha/advice", {"round": str(world["round"].id), "panel": "joint",
                                                           "title": "Samen"})
    assert response.status_code == 303
    advice = await world["scope"].objects(Advice).first()
    assert advice.panel is None
    await login(client, "ouder3@alpha.example")
    assert (await client.get(f"/t/alpha/advice/{advice.id}")).status_code == 200
    await login(client, "ander@alpha.example")
    assert (await client.get(f"/t/alpha/advice/{advice.id}")).status_code == 404


# --- responses -------------------------------------------------------------------------------------


async def _submitted(world):
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0])
    items = await world["scope"].objects(AdviceItem).where(AdviceItem.advice == advice.id).order_by(AdviceItem.position)
    return advice, items


async def test_not_adopted_without_reasoning_is_refused_and_nothing_is_stored(client, world):
    _advice, items = await _submitted(world)
    await login(client, "beleid@alpha.example")
    response = await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                               {"status": "not_adopted", "reasoning": " ", "based_on": "0"})
    assert response.status_code == 422
    assert "reasoning" in response.text and 'aria-invalid="true"' in response.text
    assert not await world["scope"].exists(ResponseVersion)


async def test_a_response_is_drafted_published_and_changed_without_overwriting(client, world):
    advice, items = await _submitted(world)
    item = items[0]
    await login(client, "beleid@alpha.example")
    response = await send(client, f"/t/alpha/advice-items/{item.id}/response",
                               {"status": "partly_adopted", "reasoning": "Vier weken lukt nog niet; zes wel.",
                                "based_on": "0"})
    assert response.status_code == 303
    await login(client, "ouder2@alpha.example")
    page = await client.get(f"/t/alpha/advice-items/{item.id}")
    assert "Vier weken lukt nog niet" not in page.text  # a draft is not shown to the panel

    await login(client, "beleid@alpha.example")
    assert (await send(client, f"/t/alpha/advice/{advice.id}/items/{item.id}/publish")).status_code == 303
    mails = await outbox("ouder2@alpha.example")
    assert mails and item.title in mails[-1].body and f"/t/alpha/advice-items/{item.id}" in mails[-1].body
    assert (await world["scope"].get(AdviceItem, item.id)).response_status == "partly_adopted"

    await send(client, f"/t/alpha/advice-items/{item.id}/response",
                    {"status": "adopted", "reasoning": "Na overleg toch vier weken.", "based_on": "1"})
    await send(client, f"/t/alpha/advice/{advice.id}/items/{item.id}/publish")
    versions = await world["scope"].objects(ResponseVersion).where(ResponseVersion.item == item.id).order_by(
        ResponseVersion.number)
    assert [(version.number, version.status) for version in versions] == [(1, "partly_adopted"), (2, "adopted")]
    assert all(version.published_at for version in versions)
    await login(client, "ouder2@alpha.example")
    page = await client.get(f"/t/alpha/advice-items/{item.id}")
    assert "Vier weken lukt nog niet" in page.text and "Na overleg toch vier weken." in page.text


async def test_two_officers_editing_the_same_response_the_second_gets_a_conflict_with_their_text(client, world):
    _advice, items = await _submitted(world)
    await login(client, "beleid@alpha.example")
    first = await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                            {"status": "adopted", "reasoning": "", "based_on": "0"})
    assert first.status_code == 303
    await login(client, "collega@alpha.example")
    second = await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                             {"status": "not_adopted", "reasoning": "Mijn zorgvuldige uitleg.", "based_on": "0"})
    assert second.status_code == 409
    assert "Mijn zorgvuldige uitleg." in second.text and 'name="based_on" value="1"' in second.text
    assert await world["scope"].count(ResponseVersion) == 1


async def test_publishing_an_item_through_advice_of_another_round_is_refused(client, world):
    advice, items = await _submitted(world)
    other_round = await build_round(world["tenant"], world["stage"], status="sent", panels=(world["parents"],),
                                    title="Andere vraag")
    other = await build_advice(world["tenant"], other_round, world["parents"], world["members"][0])
    await login(client, "beleid@alpha.example")
    await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                    {"status": "adopted", "reasoning": "", "based_on": "0"})
    response = await send(client, f"/t/alpha/advice/{other.id}/items/{items[0].id}/publish")
    assert response.status_code == 409
    assert nl("This advice item belongs to other advice (of another round). Nothing was published.") in response.text
    assert not await world["scope"].exists(ResponseVersion).where(ResponseVersion.published_at.is_not_null())


async def test_only_officers_respond(client, world):
    advice, items = await _submitted(world)
    for email in ("raad@alpha.example", "ouder1@alpha.example"):
        await login(client, email)
        response = await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                                   {"status": "adopted", "based_on": "0"})
        assert response.status_code == 403
        assert (await send(client, f"/t/alpha/advice/{advice.id}/items/{items[0].id}/publish")).status_code == 403
    assert not await world["scope"].exists(ResponseVersion)


# --- decisions, outcomes, feeling heard, council questions --------------------------------------------


async def test_decisions_outcomes_feeling_heard_and_council_questions(client, world):
    advice, items = await _submitted(world)
    scope = world["scope"]
    await login(client, "beleid@alpha.example")
    response = await send(
        client, "/t/alpha/decisions",
        {"kind": "council_decision", "title": "Raadsbesluit inkoop jeugdhulp", "reference": "RB-2027-12",
         "decided_on": datetime.date.today().isoformat(), "url": "https://voorbeeldstad.nl/besluit"},
        files={"document": ("besluit.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 303, response.text
    decision = await scope.objects(Decision).first()
    assert decision.filename == "besluit.pdf" and decision.storage_name
    assert (await client.get(f"/t/alpha/decisions/{decision.id}/document")).content == PDF
    for item in items:
        response = await send(client, f"/t/alpha/advice-items/{item.id}/decisions",
                                   {"decision": str(decision.id), "usage": "Overgenomen in de eisen."})
        assert response.status_code == 303
    again = await send(client, f"/t/alpha/advice-items/{items[0].id}/decisions",
                            {"decision": str(decision.id), "usage": "Nog eens."})
    assert again.status_code == 422
    assert await scope.count(DecisionLink) == 2

    response = await send(client, f"/t/alpha/advice-items/{items[0].id}/outcomes",
                               {"progress": "40", "body": "De eisen staan in het bestek."})
    assert response.status_code == 303
    assert any("bestek" not in message.body and item.title in message.body
               for message in await outbox("ouder3@alpha.example") for item in items[:1])
    bad = await send(client, f"/t/alpha/advice-items/{items[0].id}/outcomes", {"progress": "140", "body": ""})
    assert bad.status_code == 422 and await scope.count(OutcomeUpdate) == 1

    # Feeling heard needs a published response first.
    await login(client, "ouder2@alpha.example")
    early = await send(client, f"/t/alpha/advice-items/{items[0].id}/heard", {"answer": "yes"})
    assert early.status_code == 409
    await login(client, "beleid@alpha.example")
    await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                    {"status": "adopted", "reasoning": "", "based_on": "0"})
    await send(client, f"/t/alpha/advice/{advice.id}/items/{items[0].id}/publish")
    heard = await send(client, f"/t/alpha/advice-items/{items[0].id}/heard", {"answer": "yes"})
    assert heard.status_code == 403  # officers are not the panel
    await login(client, "ouder2@alpha.example")
    assert (await send(client, f"/t/alpha/advice-items/{items[0].id}/heard",
                            {"answer": "partly", "comment": "Fijn, maar laat."})).status_code == 303
    assert (await send(client, f"/t/alpha/advice-items/{items[0].id}/heard",
                            {"answer": "yes", "comment": "Toch tevreden."})).status_code == 303
    answers = await scope.objects(HeardAnswer)
    assert [(row.answer, row.comment) for row in answers] == [("yes", "Toch tevreden.")]
    assert (await send(client, f"/t/alpha/advice-items/{items[0].id}/heard", {"answer": "ja"})).status_code == 422

    await login(client, "raad@alpha.example")
    page = await client.get(f"/t/alpha/advice-items/{items[0].id}")
    assert page.status_code == 200
    for text in ("Raadsbesluit inkoop jeugdhulp", "De eisen staan in het bestek.", "Toch tevreden.",
                 nl("Timeline"), nl("Response published")):
        assert text in page.text, text
    assert (await send(client, f"/t/alpha/advice-items/{items[0].id}/questions",
                            {"question": "Waarom pas in 2028?"})).status_code == 303
    assert await outbox("beleid@alpha.example")
    question = await scope.objects(CouncilQuestion).first()
    await login(client, "beleid@alpha.example")
    assert (await send(client, f"/t/alpha/council-questions/{question.id}/answer",
                            {"answer": "Omdat het contract dan ingaat."})).status_code == 303
    assert [message for message in await outbox("raad@alpha.example")]


async def test_a_decision_of_another_tenant_cannot_be_linked(client, world):
    _advice, items = await _submitted(world)
    beta = await make_tenant("beta")
    foreign = TenantScope(beta).new(Decision, kind="contract", title="Contract van beta")
    await foreign.save()
    await login(client, "beleid@alpha.example")
    response = await send(client, f"/t/alpha/advice-items/{items[0].id}/decisions",
                               {"decision": str(foreign.id), "usage": "Gebruikt."})
    assert response.status_code == 422
    assert nl("Choose a decision from the list.") in response.text
    assert not await everywhere(DecisionLink).exists()


async def test_bad_decision_input_gets_messages(client, world):
    await login(client, "beleid@alpha.example")
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    response = await send(client, "/t/alpha/decisions", {"kind": "wish", "title": "", "decided_on": tomorrow,
                                                              "url": "javascript:alert(1)"})
    assert response.status_code == 422
    assert nl("A decision cannot be dated in the future.") in response.text
    assert nl("Enter a web address that starts with https://.") in response.text
    response = await send(client, "/t/alpha/decisions",
                               {"kind": "contract", "title": "Contract", "decided_on": "2026-01-05"},
                               files={"document": ("virus.pdf", b"MZ\x90", "application/pdf")})
    assert response.status_code == 422
    assert not await world["scope"].exists(Decision)
    await login(client, "raad@alpha.example")
    assert (await client.get("/t/alpha/decisions")).status_code == 200
    assert (await send(client, "/t/alpha/decisions", {"kind": "contract"})).status_code == 403


# --- the stage, the council overview, the ledger and reminders -------------------------------------------


async def test_a_stage_cannot_close_while_advice_in_it_lacks_a_published_response(client, world):
    advice, items = await _submitted(world)
    await login(client, "beleid@alpha.example")
    response = await send(client, f"/t/alpha/stages/{world['stage'].id}/close")
    assert response.status_code == 409
    assert (await world["scope"].get(Stage, world["stage"].id)).status == "open"
    for item in items:
        await send(client, f"/t/alpha/advice-items/{item.id}/response",
                        {"status": "not_applicable", "reasoning": "", "based_on": "0"})
        await send(client, f"/t/alpha/advice/{advice.id}/items/{item.id}/publish")
    response = await send(client, f"/t/alpha/stages/{world['stage'].id}/close")
    assert response.status_code == 303
    assert (await world["scope"].get(Stage, world["stage"].id)).status == "closed"


async def test_a_consultation_stage_closes_without_responses(world):
    stage = await build_stage(world["tenant"], participation_form="raadplegen", name="Verkennen")
    round_ = await build_round(world["tenant"], stage, status="sent", panels=(world["parents"],))
    await build_advice(world["tenant"], round_, world["parents"], world["members"][0])
    closed = await cycles.close_stage(world["scope"], stage, actor=world["officer"])
    assert closed.status == "closed"


async def test_the_council_overview_shows_charts_with_tables(client, world):
    advice, items = await _submitted(world)
    await world["scope"].update(AdviceItem, {AdviceItem.response_status: "adopted",
                                             AdviceItem.responded_at: datetime.datetime.now(datetime.UTC)}).where(
        AdviceItem.id == items[0].id)
    cycle_id = world["stage"].cycle
    await login(client, "raad@alpha.example")
    page = await client.get(f"/t/alpha/cycles/{cycle_id}/advice-overview")
    assert page.status_code == 200
    assert page.text.count('role="img"') == 3 and page.text.count("<title id=") == 3
    assert page.text.count("<table") >= 3
    assert "Beleidsvoorbereiding" in page.text and nl("Parents") in page.text and nl("Young people") in page.text
    await login(client, "ouder1@alpha.example")
    assert (await client.get(f"/t/alpha/cycles/{cycle_id}/advice-overview")).status_code == 403


async def test_the_public_ledger_is_off_by_default_and_anonymous_when_on(client, world):
    advice, items = await _submitted(world)
    await login(client, "beleid@alpha.example")
    await send(client, f"/t/alpha/advice-items/{items[0].id}/response",
                    {"status": "adopted", "reasoning": "Goed idee.", "based_on": "0"})
    await send(client, f"/t/alpha/advice/{advice.id}/items/{items[0].id}/publish")
    anonymous = Browser(client)
    assert (await anonymous.get("/t/alpha/ledger")).status_code == 404
    await _set(world["tenant"], public_advice_ledger=True)
    page = await anonymous.get("/t/alpha/ledger")
    assert page.status_code == 200
    assert items[0].title in page.text and "Goed idee." in page.text
    assert items[1].title not in page.text  # not answered yet
    assert "Ouder 1" not in page.text and "Ouderpanel" not in page.text


async def test_the_officer_of_overdue_advice_is_reminded_once_a_week(world):
    last_month = datetime.date.today() - datetime.timedelta(days=30)
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0],
                                response_due=last_month)
    await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0])  # not due yet
    assert await notify.send_advice_reminders() == {"alpha": 1}
    mails = await outbox("beleid@alpha.example")
    assert len(mails) == 1 and f"/t/alpha/advice/{advice.id}" in mails[0].body
    assert await notify.send_advice_reminders() == {"alpha": 0}
    assert len(await outbox()) == 1


def test_the_send_advice_reminders_command_is_idempotent():
    from click.testing import CliRunner

    from portal.cli import main
    from tests.support import run_sync

    async def setup():
        tenant = await make_tenant("alpha")
        officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
        stage = await build_stage(tenant)
        parents = await build_panel(tenant, "Ouderpanel", "parents")
        member = await build_panel_member(tenant, parents, "ouder@alpha.example")
        round_ = await build_round(tenant, stage, status="sent", panels=(parents,))
        round_.created_by = officer.id
        await round_.save()
        await build_advice(tenant, round_, parents, member, response_due=datetime.date.today() - datetime.timedelta(days=1))

    run_sync(setup())
    runner = CliRunner()
    first = runner.invoke(main, ["send-advice-reminders"])
    assert first.exit_code == 0, first.output
    assert "alpha: 1 reminders" in first.output
    second = runner.invoke(main, ["send-advice-reminders"])
    assert "alpha: 0 reminders" in second.output
    assert len(run_sync(outbox("beleid@alpha.example"))) == 1


async def test_unsolicited_advice_for_an_open_stage_or_none(client, world):
    closed = await build_stage(world["tenant"], status="closed", name="Voorbij")
    await login(client, "ouder1@alpha.example")
    page = await client.get("/t/alpha/advice/new")
    assert page.status_code == 200 and "Voorbij" not in page.text and "Beleidsvoorbereiding" in page.text
    refused = await send(client, "/t/alpha/advice", {"panel": str(world["parents"].id), "stage": str(closed.id),
                                                     "title": "Ongevraagd"})
    assert refused.status_code == 422 and nl("Choose an open stage from the list.") in refused.text
    joint = await send(client, "/t/alpha/advice", {"panel": "joint", "title": "Ongevraagd"})
    assert joint.status_code == 422  # joint advice belongs to a round
    assert not await world["scope"].exists(Advice)
    for stage in (str(world["stage"].id), ""):
        response = await send(client, "/t/alpha/advice", {"panel": str(world["parents"].id), "stage": stage,
                                                          "title": "Ongevraagd"})
        assert response.status_code == 303
    rows = await world["scope"].select(Advice, Advice.round, Advice.stage).order_by(Advice.id)
    assert rows == [{"round": None, "stage": world["stage"].id}, {"round": None, "stage": None}]


async def test_reopening_an_adoption_lets_the_panel_change_the_text_and_the_answers_lapse(client, world):
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    await login(client, "ouder1@alpha.example")
    await send(client, f"/t/alpha/advice/{advice.id}/adopt")
    await send(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "confirm"})
    edit = await client.get(f"/t/alpha/advice/{advice.id}/edit")
    assert edit.status_code == 409  # not while the panel is adopting it
    assert (await send(client, f"/t/alpha/advice/{advice.id}/reopen")).status_code == 303
    assert (await world["scope"].get(Advice, advice.id)).status == "draft"
    assert (await client.get(f"/t/alpha/advice/{advice.id}/edit")).status_code == 200
    await send(client, f"/t/alpha/advice/{advice.id}/adopt")
    page = await client.get(f"/t/alpha/advice/{advice.id}")
    assert nl("%(confirm)s of %(eligible)s members confirmed, %(abstain)s abstained and %(object)s do not agree. "
              "Still waiting for %(waiting)s.", confirm=0, eligible=3, abstain=0, object=0, waiting=3) in page.text


async def test_versions_are_seen_only_by_who_may_see_the_advice(client, world):
    advice = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    version = await world["scope"].objects(AdviceVersion).where(AdviceVersion.advice == advice.id).first()
    await login(client, "ander@alpha.example")
    assert (await client.get(f"/t/alpha/advice/versions/{version.id}")).status_code == 404
    await login(client, "ouder3@alpha.example")
    assert (await client.get(f"/t/alpha/advice/versions/{version.id}")).status_code == 200


async def test_the_start_page_shows_advice_waiting_for_each_person(client, world):
    late = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0],
                              response_due=datetime.date.today() - datetime.timedelta(days=3))
    adopting = await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0],
                                  status="adopting")
    adopting.title = "Wacht op jou"
    await adopting.save()
    await login(client, "beleid@alpha.example")
    home = await client.get("/t/alpha/")
    assert f"/t/alpha/advice/{late.id}" in home.text and nl("Overdue") in home.text
    await login(client, "ouder2@alpha.example")
    home = await client.get("/t/alpha/")
    assert "Wacht op jou" in home.text and nl("your panel asks you to confirm it") in home.text
    await send(client, f"/t/alpha/advice/{adopting.id}/vote", {"choice": "confirm"})
    assert nl("your panel asks you to confirm it") not in (await client.get("/t/alpha/")).text


async def test_the_overview_counts_per_status_stage_and_panel_type(world):
    from portal.advice.overview import cycle_overview
    from portal.cycles.tables import PolicyCycle

    scope = world["scope"]
    parents_advice, parent_items = await _submitted(world)
    youth_advice = await build_advice(world["tenant"], world["round"], world["youth"], world["youngster"],
                                      titles=("Online hulp",),
                                      response_due=datetime.date.today() - datetime.timedelta(days=1))
    now = datetime.datetime.now(datetime.UTC)
    await scope.update(AdviceItem, {AdviceItem.response_status: "adopted", AdviceItem.responded_at: now}).where(
        AdviceItem.id == parent_items[0].id)
    await scope.update(AdviceItem, {AdviceItem.response_status: "not_adopted", AdviceItem.responded_at: now}).where(
        AdviceItem.id == parent_items[1].id)
    await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0], status="draft")
    overview = await cycle_overview(scope, await scope.get(PolicyCycle, world["stage"].cycle))
    assert overview["total"] == 3  # drafts do not count
    assert {row["status"]: row["count"] for row in overview["status_rows"]} == {
        "pending": 1, "adopted": 1, "partly_adopted": 0, "not_adopted": 1, "not_applicable": 0}
    parents, youth = overview["kind_rows"][0], overview["kind_rows"][1]
    assert (parents["total"], parents["answered"], parents["share"]) == (2, 2, 50)
    assert (youth["total"], youth["answered"], youth["share"]) == (1, 0, 0)
    assert [row["title"] for row in overview["overdue"]] == ["Online hulp"]
    assert overview["response_days"]["count"] == 2 and overview["response_days"]["longest"] == 0
    assert overview["stage_rows"][0]["total"] == 3
    assert youth_advice.panel == world["youth"].id and parents_advice.panel == world["parents"].id

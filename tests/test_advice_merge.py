"""Co-writing never loses anyone's work (issue 10): concurrent saves of the same advice through
the service (a hypothesis property test of sequences of edits by two or three members) and
through HTTP (the conflict page, the merged save, bad input)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from portal.advice import documents
from portal.advice.access import AdviceAccess
from portal.advice.rules import ITEM_FIELDS, item_key, keyed_items
from portal.advice.tables import Advice, AdviceItem, AdviceVersion
from portal.core.audit import AuditEntry
from portal.core.forms import Form
from portal.core.tenancy import TenantScope
from tests.support import (
    build_advice,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    login,
    make_tenant,
    nl,
    post_form,
)

TEXTS = ("kort", "lang", "anders", "nieuw")


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    members = [await build_panel_member(tenant, parents, f"ouder{n}@alpha.example", display_name=f"Ouder {n}")
               for n in (1, 2, 3)]
    round_ = await build_round(tenant, stage, status="sent", panels=(parents,))
    return {"tenant": tenant, "scope": TenantScope(tenant), "parents": parents, "members": members,
            "round": round_}


async def new_draft(world) -> Advice:
    """A draft with two items saved before items had keys (as advice written before issue 10)."""
    return await build_advice(world["tenant"], world["round"], world["parents"], world["members"][0],
                              status="draft")


# --- sequences of concurrent edits through the service -------------------------------------------


@dataclass
class Writer:
    """One member with the edit page open (``values``: the form as it stands), or closed."""

    user: object
    values: dict | None


@dataclass
class Deliberate:
    """What members chose to let go: items they removed (emptied, or "remove" in a conflict) and
    texts they replaced (changed, or chose the other text in a conflict)."""

    removed: set[str] = field(default_factory=set)
    replaced: set[tuple[str, tuple]] = field(default_factory=set)


def texts(values: dict, prefix: str) -> tuple:
    return tuple(values.get(prefix + name, "") for name in ITEM_FIELDS)


def edit(values: dict, data, letting_go: Deliberate) -> dict:
    """A member's changes on their open page, drawn by hypothesis: change, empty or keep each
    item, maybe add one and change the title, and choose in every conflict."""
    values = dict(values)
    shown = Form()
    shown.values.update(values)
    blocks = documents.form_blocks(shown)
    for block in blocks[:-1]:
        prefix = f"item-{block['number']}-"
        key = values[prefix + "key"]
        if block["conflict"]:
            choice = data.draw(st.sampled_from(block["choices"]))
            values[prefix + "choice"] = choice
            mine, theirs = texts(values, prefix + "mine-"), texts(values, prefix + "theirs-")
            if choice == "remove":
                letting_go.removed.add(key)
            letting_go.replaced |= {"mine": {(key, theirs)}, "theirs": {(key, mine)}}.get(choice, set())
            continue
        action = data.draw(st.sampled_from(["keep", "keep", "change", "remove"]))
        if action == "change":
            letting_go.replaced.add((key, texts(values, prefix)))
            values[prefix + "recommendation"] = data.draw(st.sampled_from(TEXTS))
        elif action == "remove":
            letting_go.removed.add(key)
            values.update(dict.fromkeys((prefix + name for name in ITEM_FIELDS), ""))
    if data.draw(st.booleans()):
        prefix = f"item-{blocks[-1]['number']}-"
        values.update({prefix + "title": "Nieuw punt", prefix + "recommendation": data.draw(st.sampled_from(TEXTS))})
    if values.get("title-conflict"):
        values["title-choice"] = data.draw(st.sampled_from(["mine", "theirs"]))
    elif data.draw(st.integers(0, 4)) == 0:
        values["title"] = data.draw(st.sampled_from(TEXTS))
    return values


async def open_page(scope: TenantScope, advice_id: int) -> dict:
    advice = await scope.get(Advice, advice_id)
    return documents.document_form(advice, await documents.items_of(scope, advice_id)).values


async def save(scope: TenantScope, advice_id: int, writer: Writer, access: AdviceAccess) -> str:
    """Send the writer's page: "saved", "merged", or "conflict" (their page is then the
    conflict page)."""
    form = Form(writer.values)
    values = documents.parse_document_form(form)
    assert form.is_valid, form.errors
    try:
        saved = await documents.save_document(scope, await scope.get(Advice, advice_id), values, access, writer.user)
    except documents.DocumentConflict as conflict:
        writer.values = documents.merge_form(conflict).values
        return "conflict"
    writer.values = None
    return "merged" if saved.others else "saved"


async def every_version(scope: TenantScope, advice_id: int) -> list[list[dict]]:
    rows = await scope.select(AdviceVersion, AdviceVersion.items).where(
        AdviceVersion.advice == advice_id).order_by(AdviceVersion.number)
    return [keyed_items(json.loads(row["items"])) for row in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.integers(2, 3), data=st.data())
async def test_after_any_sequence_of_concurrent_saves_every_item_is_kept_or_was_let_go_by_choice(
        world, members, data):
    scope = world["scope"]
    advice = await new_draft(world)
    access = AdviceAccess(can_read=True, member_panel_ids=frozenset({world["parents"].id}))
    # Everyone opens the page at the start; after saving, a member opens it again (or later).
    writers = [Writer(user, await open_page(scope, advice.id)) for user in world["members"][:members]]
    letting_go = Deliberate()
    for _step in range(data.draw(st.integers(2, 12))):
        writer = data.draw(st.sampled_from(writers))
        if writer.values is None:
            writer.values = await open_page(scope, advice.id)
        writer.values = edit(writer.values, data, letting_go)
        event(await save(scope, advice.id, writer, access))
        if writer.values is None and data.draw(st.booleans()):
            writer.values = await open_page(scope, advice.id)
    versions = await every_version(scope, advice.id)
    latest = {item["key"]: tuple(item[name] for name in ITEM_FIELDS) for item in versions[-1]}
    for version in versions:
        for item in version:
            key, text = item["key"], tuple(item[name] for name in ITEM_FIELDS)
            assert key in latest or key in letting_go.removed, (key, versions)
            assert latest.get(key) == text or (key, text) in letting_go.replaced or key in letting_go.removed
    stored = await documents.items_of(scope, advice.id)
    assert [(item_key(item.key, item.position), item.title) for item in stored] == [
        (item["key"], item["title"]) for item in versions[-1]]


async def test_two_saves_at_the_same_moment_wait_for_each_other_and_are_merged(world):
    scope = world["scope"]
    advice = await new_draft(world)
    access = AdviceAccess(can_read=True, member_panel_ids=frozenset({world["parents"].id}))
    pages = [await open_page(scope, advice.id) for _member in (1, 2)]
    pages[0].update({"item-3-title": "Nazorg", "item-3-recommendation": "Bel na drie maanden."})
    pages[1]["item-1-recommendation"] = "Hooguit vier weken."
    writers = [Writer(user, values) for user, values in zip(world["members"], pages, strict=False)]
    outcomes = await asyncio.gather(*(save(scope, advice.id, writer, access) for writer in writers))
    assert sorted(outcomes) == ["merged", "saved"]
    items = await documents.items_of(scope, advice.id)
    assert [item.recommendation for item in items] == [
        "Hooguit vier weken.", "Doe dit: Vaste contactpersoon.", "Bel na drie maanden."]
    assert (await scope.get(Advice, advice.id)).version == 3


# --- through HTTP ------------------------------------------------------------------------------


async def send(client, url: str, data: dict):
    return await post_form(client, url, data, follow_redirects=False)


def form_fields(html: str) -> dict:
    """The fields of the page's form as the browser sends them back unchanged (no radio button
    chosen)."""
    values: dict[str, str] = {}
    textareas: list[str] = []

    class Fields(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "input" and attrs.get("type") != "radio" and attrs.get("name") not in (None, "_csrf_token"):
                values[attrs["name"]] = attrs.get("value") or ""
            elif tag == "textarea":
                textareas.append(attrs["name"])
                values[attrs["name"]] = ""

        def handle_data(self, data):
            if textareas:
                values[textareas[-1]] += data

        def handle_endtag(self, tag):
            if tag == "textarea" and textareas:
                textareas.pop()

    Fields().feed(html)
    return values


async def edit_page(client, advice_id: int) -> dict:
    page = await client.get(f"/t/alpha/advice/{advice_id}/edit")
    assert page.status_code == 200
    return form_fields(page.text)


async def test_the_issue_a_new_item_survives_when_another_member_saves_a_change_from_the_same_version(client, world):
    advice = await new_draft(world)
    await login(client, "ouder1@alpha.example")
    mother = await edit_page(client, advice.id)
    await login(client, "ouder2@alpha.example")
    father = await edit_page(client, advice.id)

    await login(client, "ouder1@alpha.example")
    mother.update({"item-3-title": "Nazorg", "item-3-recommendation": "Bel na drie maanden."})
    assert (await send(client, f"/t/alpha/advice/{advice.id}/edit", mother)).status_code == 303

    await login(client, "ouder2@alpha.example")
    father["item-2-recommendation"] = "Eén vaste contactpersoon, ook na een verhuizing."
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", father)
    assert response.status_code == 303
    shown = await client.get(response.headers["location"])
    assert nl("changed “%(title)s”", title="Nazorg") not in shown.text
    assert nl("added “%(title)s”", title="Nazorg") in shown.text and "Ouder 1" in shown.text

    items = await world["scope"].objects(AdviceItem).where(AdviceItem.advice == advice.id).order_by(AdviceItem.position)
    assert [(item.title, item.recommendation) for item in items] == [
        ("Kortere wachtlijst", "Doe dit: Kortere wachtlijst."),
        ("Vaste contactpersoon", "Eén vaste contactpersoon, ook na een verhuizing."),
        ("Nazorg", "Bel na drie maanden."),
    ]
    entry = await AuditEntry.objects().where(AuditEntry.action == "advice.saved").order_by(
        AuditEntry.id, ascending=False).first()
    after = json.loads(entry.after)
    assert (after["merged"], after["based_on"], after["merged_with"], after["version"]) == (True, 1, 2, 3)
    assert "Ouder" not in entry.after + entry.before


async def conflicting_saves(client, world) -> tuple[Advice, dict]:
    """Member 1 changes item 1 and the title; member 2, from the same version, changes item 1
    differently, removes item 2 and adds one: the conflict page of member 2."""
    advice = await new_draft(world)
    await login(client, "ouder1@alpha.example")
    mother = await edit_page(client, advice.id)
    await login(client, "ouder2@alpha.example")
    father = await edit_page(client, advice.id)
    await login(client, "ouder1@alpha.example")
    mother.update({"title": "Advies van moeder", "item-1-recommendation": "Hooguit vier weken.",
                   "item-2-rationale": "Een vast gezicht helpt."})
    assert (await send(client, f"/t/alpha/advice/{advice.id}/edit", mother)).status_code == 303
    await login(client, "ouder2@alpha.example")
    father.update({"title": "Advies van vader", "item-1-recommendation": "Hooguit zes weken.",
                   "item-2-title": "", "item-2-recommendation": "", "item-2-rationale": "",
                   "item-3-title": "Vervoer", "item-3-recommendation": "Vergoed de reis."})
    return advice, father


async def test_a_conflict_shows_both_texts_and_the_resave_starts_from_the_latest_version(client, world):
    advice, father = await conflicting_saves(client, world)
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", father)
    assert response.status_code == 409
    page = response.text
    for text in ("Hooguit vier weken.", "Hooguit zes weken.", "Advies van moeder", "Advies van vader",
                 "Een vast gezicht helpt.", "Vergoed de reis.",
                 nl("Version %(number)s, saved by %(name)s", number=2, name="Ouder 1"),
                 nl("Keep both, as two items"), nl("Remove the item"),
                 nl("You removed this item, but version %(number)s changed it.", number=2)):
        assert text in page, text
    assert 'name="version" value="2"' in page
    assert await world["scope"].count(AdviceVersion).where(AdviceVersion.advice == advice.id) == 2

    conflict = form_fields(page)
    # Saving without choosing: a message at each choice, the texts still there, nothing stored.
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", conflict)
    assert response.status_code == 422
    assert nl("Choose which title to keep.") in response.text
    assert nl("Choose what to keep of item %(number)s.", number=1) in response.text
    assert 'href="#field-item-1-choice"' in response.text and 'id="field-item-1-choice"' in response.text
    assert "Hooguit zes weken." in response.text
    assert await world["scope"].count(AdviceVersion).where(AdviceVersion.advice == advice.id) == 2

    conflict.update({"title-choice": "mine", "item-1-choice": "both", "item-2-choice": "remove"})
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", conflict)
    assert response.status_code == 303
    latest = await world["scope"].get(Advice, advice.id)
    items = await documents.items_of(world["scope"], advice.id)
    assert (latest.title, latest.version) == ("Advies van vader", 3)
    assert [item.recommendation for item in items] == ["Hooguit vier weken.", "Hooguit zes weken.", "Vergoed de reis."]


async def test_when_someone_saves_again_before_the_choice_the_choice_is_merged_again(client, world):
    advice, father = await conflicting_saves(client, world)
    conflict = form_fields((await send(client, f"/t/alpha/advice/{advice.id}/edit", father)).text)
    await login(client, "ouder3@alpha.example")
    third = await edit_page(client, advice.id)
    third.update({"item-3-title": "Wachtkamer", "item-3-recommendation": "Een rustige wachtkamer."})
    assert (await send(client, f"/t/alpha/advice/{advice.id}/edit", third)).status_code == 303

    await login(client, "ouder2@alpha.example")
    conflict.update({"title-choice": "theirs", "item-1-choice": "mine", "item-2-choice": "theirs"})
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", conflict)
    assert response.status_code == 303
    items = await documents.items_of(world["scope"], advice.id)
    assert [item.title for item in items] == ["Kortere wachtlijst", "Vaste contactpersoon", "Wachtkamer", "Vervoer"]
    assert items[0].recommendation == "Hooguit zes weken."
    assert (await world["scope"].get(Advice, advice.id)).title == "Advies van moeder"


@pytest.mark.parametrize(("change", "message"), [
    ({"item-1-choice": "both", "title-choice": "ours"}, "Choose which title to keep."),
    ({"item-1-choice": "remove", "title-choice": "mine"}, "Choose what to keep of item %(number)s."),
    ({"item-2-choice": "both", "title-choice": "mine", "item-1-choice": "mine"},
     "Choose what to keep of item %(number)s."),
])
async def test_a_choice_that_is_not_offered_gets_a_message_and_stores_nothing(client, world, change, message):
    advice, father = await conflicting_saves(client, world)
    conflict = form_fields((await send(client, f"/t/alpha/advice/{advice.id}/edit", father)).text)
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", {**conflict, **change})
    assert response.status_code == 422
    number = 2 if "item-2-choice" in change else 1
    assert nl(message, number=number) in response.text
    assert "Hooguit zes weken." in response.text
    assert await world["scope"].count(AdviceVersion).where(AdviceVersion.advice == advice.id) == 2


async def test_unknown_and_broken_item_keys_keep_the_item_as_a_new_one(client, world):
    advice = await new_draft(world)
    await login(client, "ouder1@alpha.example")
    page = await edit_page(client, advice.id)
    page.update({"item-1-key": "zz99", "item-2-key": "<script>", "item-3-key": "p1",
                 "item-3-title": "Derde", "item-3-recommendation": "Nog een punt."})
    assert (await send(client, f"/t/alpha/advice/{advice.id}/edit", page)).status_code == 303
    items = await documents.items_of(world["scope"], advice.id)
    assert [item.title for item in items] == ["Kortere wachtlijst", "Vaste contactpersoon", "Derde"]
    assert items[0].key == "zz99" and len({item.key for item in items}) == 3


@pytest.mark.parametrize("fields", [
    {"item_count": "99999999999999999999"},
    {"item_count": "-1"},
    {"item_count": ""},
    {"version": "99999999999999999999"},
    {"version": "-5"},
])
async def test_absurd_numbers_never_drop_an_item(client, world, fields):
    advice = await new_draft(world)
    await login(client, "ouder1@alpha.example")
    page = await edit_page(client, advice.id)
    page["item-2-recommendation"] = "Eén vast gezicht."
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", {**page, **fields})
    items = await documents.items_of(world["scope"], advice.id)
    assert [item.title for item in items] == ["Kortere wachtlijst", "Vaste contactpersoon"]
    if "item_count" in fields:
        assert response.status_code == 422
        assert nl("The form arrived incomplete, so nothing was saved. Open the advice and change it again.") \
            in response.text
        assert 'id="field-item_count"' in response.text
    else:  # an unknown starting version: nothing is taken as removed, a difference is a choice
        assert response.status_code == 409
        assert "Eén vast gezicht." in response.text and "Doe dit: Vaste contactpersoon." in response.text
        assert 'name="version" value="1"' in response.text


async def test_too_many_items_together_are_shown_merged_to_remove_some(client, world):
    advice = await new_draft(world)
    await login(client, "ouder1@alpha.example")
    mother = await edit_page(client, advice.id)
    await login(client, "ouder2@alpha.example")
    father = await edit_page(client, advice.id)

    def with_items(values: dict, name: str, count: int) -> dict:
        values = {**values, "item_count": str(2 + count + 1)}
        for number in range(3, 3 + count):
            values.update({f"item-{number}-title": f"{name} {number}", f"item-{number}-recommendation": "Ja."})
        return values

    await login(client, "ouder1@alpha.example")
    assert (await send(client, f"/t/alpha/advice/{advice.id}/edit", with_items(mother, "Moeder", 20))).status_code == 303
    await login(client, "ouder2@alpha.example")
    response = await send(client, f"/t/alpha/advice/{advice.id}/edit", with_items(father, "Vader", 20))
    assert response.status_code == 409
    assert "Moeder 22" in response.text and "Vader 22" in response.text
    assert response.text.count('name="item-') >= 42 * 4
    assert await world["scope"].count(AdviceItem).where(AdviceItem.advice == advice.id) == 22

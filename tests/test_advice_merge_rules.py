"""Merging two members' saves of the same advice (issue 10), without the database: per item by
key, property-tested with hypothesis, plus the cases a person would recognise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.advice.rules import (
    ITEM_KEY,
    Document,
    ItemConflict,
    MergeNote,
    conflict_choices,
    item_key,
    keyed_items,
    merge_documents,
    new_item_key,
    resolve_conflict,
)

# Few texts, so that both sides often make the same change.
TEXTS = st.sampled_from(["kort", "lang", "anders", "nieuw"])


def item(key: str, text: str, title: str | None = None) -> dict:
    return {"key": key, "title": title or f"Punt {text}", "recommendation": f"Doe {text}.", "rationale": ""}


def doc(*items: dict, title: str = "Ons advies") -> Document:
    return Document(title, tuple(items))


def content(entry: dict | None) -> tuple | None:
    return None if entry is None else (entry["title"], entry["recommendation"], entry["rationale"])


@st.composite
def edited(draw, base: Document, side: str) -> Document:
    """What one member saves, starting from ``base``: each item kept, changed or removed, new
    items anywhere, maybe another title."""
    items = []
    for entry in base.items:
        action = draw(st.sampled_from(["keep", "change", "remove"]))
        if action == "keep":
            items.append(entry)
        elif action == "change":
            items.append(item(entry["key"], draw(TEXTS)))
    for number in range(draw(st.integers(0, 3))):
        items.insert(draw(st.integers(0, len(items))), item(f"{side}{number}", draw(TEXTS)))
    title = draw(st.one_of(st.just(base.title), TEXTS))
    return Document(title, tuple(items))


@st.composite
def three_documents(draw) -> tuple[Document, Document, Document]:
    base = Document(draw(TEXTS), tuple(item(f"b{number}", draw(TEXTS)) for number in range(draw(st.integers(0, 6)))))
    return base, draw(edited(base, "t")), draw(edited(base, "m"))


def by_key(document: Document) -> dict[str, dict]:
    return {entry["key"]: entry for entry in document.items}


def result_keys(merge) -> list[str]:
    return [entry.key if isinstance(entry, ItemConflict) else entry["key"] for entry in merge.entries]


@settings(max_examples=400, deadline=None)
@given(three_documents())
def test_every_item_either_side_has_is_kept_unless_removed_on_one_side_and_untouched_on_the_other(documents):
    base, theirs, mine = documents
    merge = merge_documents(base, theirs, mine)
    before, their_items, my_items = by_key(base), by_key(theirs), by_key(mine)
    kept = result_keys(merge)
    assert len(kept) == len(set(kept))
    for key in set(their_items) | set(my_items):
        b, t, m = (content(items.get(key)) for items in (before, their_items, my_items))
        removed_untouched = (t is None and m == b) or (m is None and t == b)
        assert (key not in kept) == removed_untouched, (key, b, t, m)
    assert set(kept) <= set(their_items) | set(my_items)


@settings(max_examples=400, deadline=None)
@given(three_documents())
def test_a_change_on_one_side_is_taken_and_only_different_changes_on_both_sides_conflict(documents):
    base, theirs, mine = documents
    merge = merge_documents(base, theirs, mine)
    before, their_items, my_items = by_key(base), by_key(theirs), by_key(mine)
    for entry in merge.entries:
        key = entry.key if isinstance(entry, ItemConflict) else entry["key"]
        b, t, m = (content(items.get(key)) for items in (before, their_items, my_items))
        if isinstance(entry, ItemConflict):
            assert t != b and m != b and t != m
            assert (entry.mine, entry.theirs) == (my_items.get(key), their_items.get(key))
        elif m == b or t == m:
            assert content(entry) == t
        else:
            assert t == b and content(entry) == m
    title_changed = {base.title, theirs.title, mine.title}
    if len(title_changed) == 3:
        assert merge.title_conflict == (mine.title, theirs.title)
    else:
        assert merge.title_conflict is None
        assert merge.title == (theirs.title if mine.title in (base.title, theirs.title) else mine.title)


@settings(max_examples=300, deadline=None)
@given(three_documents())
def test_the_order_follows_the_latest_version_and_keeps_the_persons_new_items_in_their_order(documents):
    base, theirs, mine = documents
    kept = result_keys(merge_documents(base, theirs, mine))
    their_order = [key for key in by_key(theirs) if key in kept]
    assert [key for key in kept if key in their_order] == their_order
    my_new = [key for key in by_key(mine) if key not in by_key(theirs) and key in kept]
    assert [key for key in kept if key in my_new] == my_new


@settings(max_examples=200, deadline=None)
@given(three_documents())
def test_when_only_one_side_saved_changes_the_merge_is_that_side(documents):
    base, theirs, mine = documents
    only_theirs = merge_documents(base, theirs, base)
    assert only_theirs.is_clean and (only_theirs.title, list(only_theirs.entries)) == (theirs.title, list(theirs.items))
    only_mine = merge_documents(base, base, mine)
    assert only_mine.is_clean and (only_mine.title, list(only_mine.entries)) == (mine.title, list(mine.items))
    assert only_mine.notes == ()


@settings(max_examples=300, deadline=None)
@given(three_documents(), st.data())
def test_every_choice_keeps_the_text_chosen_and_both_keeps_both(documents, data):
    merge = merge_documents(*documents)
    for conflict in merge.conflicts:
        choice = data.draw(st.sampled_from(conflict.choices))
        kept = resolve_conflict(choice, conflict.mine, conflict.theirs)
        assert [content(entry) for entry in kept] == {
            "mine": [content(conflict.mine)], "theirs": [content(conflict.theirs)],
            "both": [content(conflict.theirs), content(conflict.mine)], "remove": [],
        }[choice]
        assert "remove" not in conflict.choices or None in (conflict.mine, conflict.theirs)


# --- the cases of the issue -----------------------------------------------------------------------

A, B = item("a", "kort", "Wachtlijst"), item("b", "lang", "Contactpersoon")


def test_the_issue_a_new_item_of_one_member_and_a_change_of_another_are_both_kept():
    base = doc(A, B)
    theirs = doc(A, B, item("c", "nieuw", "Nazorg"))
    mine = doc(A, item("b", "anders", "Contactpersoon"))
    merge = merge_documents(base, theirs, mine)
    assert merge.is_clean
    assert [(entry["key"], entry["recommendation"]) for entry in merge.items] == [
        ("a", "Doe kort."), ("b", "Doe anders."), ("c", "Doe nieuw.")]
    assert merge.notes == (MergeNote("added", "Nazorg"),)


def test_new_items_of_both_sides_at_the_end_come_after_each_other_theirs_first():
    merge = merge_documents(doc(A, B), doc(A, B, item("x", "nieuw")), doc(A, B, item("y", "kort")))
    assert [entry["key"] for entry in merge.items] == ["a", "b", "x", "y"]


def test_a_new_item_stays_after_the_item_it_followed():
    merge = merge_documents(doc(A, B), doc(B, A), doc(A, item("y", "kort"), B))
    assert [entry["key"] for entry in merge.items] == ["b", "a", "y"]


def test_removed_on_one_side_and_unchanged_on_the_other_is_removed():
    merge = merge_documents(doc(A, B), doc(A), doc(A, B, item("y", "kort")))
    assert [entry["key"] for entry in merge.items] == ["a", "y"]
    assert merge.notes == (MergeNote("removed", "Contactpersoon"),)


def test_removed_on_one_side_and_changed_on_the_other_is_a_conflict_with_remove_as_a_choice():
    changed = item("b", "anders", "Contactpersoon")
    merge = merge_documents(doc(A, B), doc(A, changed), doc(A))
    assert merge.conflicts == [ItemConflict("b", None, changed)]
    assert merge.conflicts[0].choices == ("theirs", "remove")
    merge = merge_documents(doc(A, B), doc(A), doc(A, changed))
    assert merge.conflicts[0].choices == ("mine", "remove")


def test_the_same_item_changed_differently_is_a_conflict_in_place_and_the_rest_merges():
    mine_b, their_b = item("b", "anders"), item("b", "nieuw")
    merge = merge_documents(doc(A, B, title="Oud"), doc(A, their_b, title="Nieuw"),
                            doc(item("a", "lang"), mine_b, title="Oud"))
    assert not merge.is_clean and merge.title == "Nieuw" and merge.title_conflict is None
    assert merge.entries == (item("a", "lang"), ItemConflict("b", mine_b, their_b))
    assert merge.conflicts[0].choices == ("mine", "theirs", "both")
    both = resolve_conflict("both", mine_b, their_b)
    assert both == [their_b, {**mine_b, "key": ""}]


def test_the_same_change_on_both_sides_is_no_conflict_and_no_news():
    same = item("b", "anders")
    merge = merge_documents(doc(A, B), doc(A, same), doc(A, same))
    assert merge.is_clean and merge.items == [A, same] and merge.notes == ()


def test_line_breaks_as_the_browser_sends_them_are_no_change():
    stored = {**A, "rationale": "Eerste regel.\nTweede regel."}
    typed = {**A, "rationale": "Eerste regel.\r\nTweede regel.\r\n"}
    changed = {**A, "recommendation": "Doe het anders."}
    merge = merge_documents(doc(stored), doc(changed), doc(typed))
    assert merge.is_clean and merge.items == [changed]


def test_titles_changed_differently_conflict():
    merge = merge_documents(doc(title="Oud"), doc(title="Van hen"), doc(title="Van mij"))
    assert merge.title_conflict == ("Van mij", "Van hen")


def test_a_choice_that_is_not_offered_is_refused():
    with pytest.raises(ValueError):
        resolve_conflict("both", None, A)
    assert conflict_choices(False, False) == ()


def test_items_saved_before_keys_existed_get_keys_from_their_position():
    stored = [{"title": "Een", "recommendation": "x"}, {"key": "ab12cd34", "title": "Twee"}, {"key": "Bad key!"}]
    assert [entry["key"] for entry in keyed_items(stored)] == ["p1", "ab12cd34", "p3"]
    assert keyed_items(stored)[1]["rationale"] == ""
    assert item_key("", 4) == "p4" and item_key("ab12", 4) == "ab12"


def test_new_keys_are_valid_and_not_taken():
    taken = {"p1", "p2"}
    for _ in range(50):
        key = new_item_key(taken)
        assert ITEM_KEY.match(key) and key not in taken
        taken.add(key)

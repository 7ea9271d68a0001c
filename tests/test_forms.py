"""Form rules: what a person sees when a field is missing, too long, malformed or not in the list."""

import pytest

from portal.core.forms import Form
from portal.core.i18n import current_locale


@pytest.fixture
def english():
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


def test_required_field_missing_or_blank_is_an_error(english):
    form = Form({"title": "   "})
    form.text("title", "Title")
    form.text("summary", "Summary")
    assert form.errors == {"title": "Fill in title.", "summary": "Fill in summary."}
    assert not form.is_valid


def test_optional_field_may_be_empty():
    form = Form({})
    assert form.text("note", "Note", required=False) == ""
    assert form.is_valid


def test_too_long_message_names_the_limit_and_the_count(english):
    form = Form({"title": "x" * 12})
    form.text("title", "Title", max_length=10)
    assert form.errors["title"] == "Title can be at most 10 characters; you entered 12."


def test_too_long_message_in_default_language_has_limit_and_count():
    form = Form({"title": "x" * 12})
    form.text("title", "Title", max_length=10)
    assert "10" in form.errors["title"] and "12" in form.errors["title"]


def test_min_length(english):
    form = Form({"code": "ab"})
    form.text("code", "Code", min_length=3)
    assert form.errors["code"] == "Code needs at least 3 characters."


def test_control_characters_are_stripped_but_tabs_and_newlines_kept():
    form = Form({"body": "a\x00b\x07c\x1b\x7fd\te\nf"})
    assert form.text("body", "Body") == "abcd\te\nf"
    assert form.values["body"] == "abcd\te\nf"


def test_value_is_stripped_of_surrounding_whitespace():
    form = Form({"title": "  Jeugdhulp  "})
    assert form.text("title", "Title") == "Jeugdhulp"


def test_non_text_value_is_treated_as_empty(english):
    form = Form({"title": ["a", "b"]})
    form.text("title", "Title")
    assert form.errors == {"title": "Fill in title."}


@pytest.mark.parametrize("address", ["no-at-sign", "a@b", "two@@example.nl", "sp ace@example.nl"])
def test_invalid_email_is_rejected(english, address):
    form = Form({"email": address})
    form.email("email", "Email")
    assert form.errors == {"email": "Enter an email address like name@example.nl."}


def test_valid_email_is_lowercased_and_trimmed():
    form = Form({"email": "  Femke.Bakker@Voorbeeldstad.Example "})
    assert form.email("email", "Email") == "femke.bakker@voorbeeldstad.example"
    assert form.is_valid
    assert form.values["email"] == "femke.bakker@voorbeeldstad.example"


def test_missing_email_gets_one_message_only(english):
    form = Form({})
    form.email("email", "Email")
    assert form.errors == {"email": "Fill in email."}


def test_choice_outside_the_list_is_rejected(english):
    form = Form({"kind": "admins"})
    assert form.choice("kind", "Kind", ["parents", "youth", "mixed"]) == "admins"
    assert form.errors == {"kind": "Choose kind from the list."}


def test_choice_inside_the_list_is_accepted():
    form = Form({"kind": " youth "})
    assert form.choice("kind", "Kind", ("parents", "youth", "mixed")) == "youth"
    assert form.is_valid


def test_values_are_kept_for_redisplay_when_there_are_errors():
    form = Form({"title": "Een titel", "email": "not-an-email", "kind": "other"})
    form.text("title", "Title")
    form.email("email", "Email")
    form.choice("kind", "Kind", ["parents"])
    assert set(form.errors) == {"email", "kind"}
    assert form.values == {"title": "Een titel", "email": "not-an-email", "kind": "other"}


def test_first_error_for_a_field_wins(english):
    form = Form({})
    form.add_error("title", "first")
    form.add_error("title", "second")
    assert form.errors == {"title": "first"}

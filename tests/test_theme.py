"""Tenant colours must stay readable (WCAG contrast) and only validated values reach the CSS."""

import pytest

from portal.tenants.theme import contrast_with_white, theme_css, theme_of, theme_problems


def test_contrast_of_known_colours():
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#1f4e79") == pytest.approx(8.66, abs=0.01)  # computed by hand from WCAG 2 relative luminance
    assert contrast_with_white("#ffdd00") < 2


def test_dark_blue_passes_and_yellow_fails():
    assert theme_problems({"primary_color": "#1f4e79", "link_color": "#00568b"}) == {}
    problems = theme_problems({"primary_color": "#ffdd00"})
    assert list(problems) == ["primary_color"]
    assert "#ffdd00" in problems["primary_color"] and "4.5:1" in problems["primary_color"]


def test_problems_name_each_bad_field():
    problems = theme_problems({
        "primary_color": "blue",
        "link_color": "#1f4e79",
        "logo": "../../etc/passwd.svg",
        "font": "Comic Sans",
    })
    assert set(problems) == {"primary_color", "logo", "font"}
    assert "'blue'" in problems["primary_color"]
    assert "not a theme field" in problems["font"]


@pytest.mark.parametrize("logo", ["voorbeeldstad.svg", "logo-2.png"])
def test_good_logo_names(logo):
    assert theme_problems({"logo": logo}) == {}


@pytest.mark.parametrize("logo", ["logo.gif", "Logo.svg", "dir/logo.svg", ".svg", 42])
def test_bad_logo_names(logo):
    assert "logo" in theme_problems({"logo": logo})


def test_css_sets_design_tokens_for_valid_colours():
    css = theme_css({"primary_color": "#1f4e79", "link_color": "#00568b"})
    assert "--utrecht-button-primary-action-background-color: #1f4e79;" in css
    assert "--portal-header-background-color: #1f4e79;" in css
    assert "--utrecht-link-color: #00568b;" in css


def test_css_leaves_out_anything_that_is_not_a_hex_colour():
    css = theme_css({
        "primary_color": "red;} body{display:none",
        "link_color": "#00568b",
        "logo": "x.svg",
        "extra": "#123456",
    })
    assert "display" not in css and "red" not in css
    assert "--utrecht-button-primary-action-background-color" not in css
    assert "#123456" not in css and "x.svg" not in css
    assert "--utrecht-link-color: #00568b;" in css


def test_css_for_empty_theme_is_empty():
    assert theme_css({}) == ""


def test_theme_of_reads_json_text_and_dicts():
    class Row:
        def __init__(self, theme):
            self.theme = theme

    assert theme_of(Row('{"logo": "a.svg"}')) == {"logo": "a.svg"}
    assert theme_of(Row({"logo": "a.svg"})) == {"logo": "a.svg"}
    assert theme_of(Row(None)) == {}

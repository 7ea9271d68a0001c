"""A tenant's theme: logo and colours, applied as NL Design System design-token overrides."""

from __future__ import annotations

import json
import re

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\.(svg|png)$")

# Theme field -> the design tokens it sets. Text on these colours is white, and these colours
# are used as text on white, so each must contrast at least 4.5:1 with white (WCAG 1.4.3).
COLOUR_TOKENS = {
    "primary_color": (
        "--utrecht-button-primary-action-background-color",
        "--utrecht-button-primary-action-border-color",
        "--portal-header-background-color",
        "--utrecht-heading-color",
        "--utrecht-button-secondary-action-color",
        "--utrecht-button-secondary-action-border-color",
    ),
    "link_color": ("--utrecht-link-color", "--utrecht-link-visited-color"),
}
MIN_CONTRAST = 4.5


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_luminance(hex_colour) + 0.05)


def theme_problems(theme: dict) -> dict[str, str]:
    """Field -> problem, for a theme read from a tenant file."""
    problems: dict[str, str] = {}
    for key, value in theme.items():
        if key in COLOUR_TOKENS:
            if not isinstance(value, str) or not HEX_COLOUR.match(value):
                problems[key] = f"must be a colour like #1f4e79, got {value!r}"
            elif contrast_with_white(value) < MIN_CONTRAST:
                problems[key] = (
                    f"{value} contrasts {contrast_with_white(value):.2f}:1 with white; "
                    f"at least {MIN_CONTRAST}:1 is needed for readable text"
                )
        elif key == "logo":
            if not isinstance(value, str) or not LOGO_NAME.match(value):
                problems[key] = "must be a file name in static/tenants/ ending in .svg or .png"
        else:
            problems[key] = "is not a theme field (known: logo, primary_color, link_color)"
    return problems


def theme_css(theme: dict) -> str:
    """CSS custom properties for the tenant's colours (values were validated on load)."""
    declarations = [
        f"{token}: {theme[key]};"
        for key, tokens in COLOUR_TOKENS.items()
        if isinstance(theme.get(key), str) and HEX_COLOUR.match(theme[key])
        for token in tokens
    ]
    return " ".join(declarations)


def theme_of(tenant) -> dict:
    """The tenant's theme as a dict (SQLite hands JSON columns back as text)."""
    theme = tenant.theme
    return json.loads(theme or "{}") if isinstance(theme, str) else dict(theme or {})

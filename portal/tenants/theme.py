"""A tenant's theme: logo and colours, applied as NL Design System design-token overrides."""

from __future__ import annotations

import json
import re

from portal.core.i18n import _

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# A logo shipped with the portal, in static/tenants/.
LOGO_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\.(svg|png)$")
# A tenant file's own logo, in the file's folder (an uploaded logo, exported): see logo.py.
LOGO_FILE = "logo_file"
LOGO_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(png|jpg|jpeg)$")
# In the database an uploaded logo is {"storage_name": ..., "content_type": ...} under this key.
UPLOADED_LOGO = "uploaded_logo"

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
FILE_FIELDS = ("logo", LOGO_FILE, *COLOUR_TOKENS)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_luminance(hex_colour) + 0.05)


def colour_problem(value) -> str | None:
    """A theme colour: a hex colour that white text can stand on (and that reads on white)."""
    if not isinstance(value, str) or not HEX_COLOUR.match(value):
        return _("Enter a colour as # and six hexadecimal digits, like #1f4e79.")
    ratio = contrast_with_white(value)
    if ratio < MIN_CONTRAST:
        return _(
            "%(colour)s contrasts %(ratio)s:1 with white; at least %(minimum)s:1 is needed for "
            "readable text. Choose a darker colour.",
            colour=value, ratio=f"{ratio:.2f}", minimum=MIN_CONTRAST,
        )
    return None


def theme_problems(theme: dict) -> dict[str, str]:
    """Field -> problem, for a theme read from a tenant file."""
    problems: dict[str, str] = {}
    for key, value in theme.items():
        if key in COLOUR_TOKENS:
            if problem := colour_problem(value):
                problems[key] = f"{problem} Got {value!r}."
        elif key == "logo":
            if not isinstance(value, str) or not LOGO_NAME.match(value):
                problems[key] = "must be a file name in static/tenants/ ending in .svg or .png"
        elif key == LOGO_FILE:
            if not isinstance(value, str) or not LOGO_FILE_NAME.match(value):
                problems[key] = (
                    "must be the name of a .png, .jpg or .jpeg file in the same folder as this file"
                )
        else:
            problems[key] = f"is not a theme field (known: {', '.join(FILE_FIELDS)})"
    if "logo" in theme and LOGO_FILE in theme:
        problems.setdefault(LOGO_FILE, "give either logo or logo_file, not both")
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


def logo_url(tenant) -> str | None:
    """Where the header's logo is: an uploaded one (its name changes with every upload, so it
    may be cached for good), else one shipped in static/tenants/, else none."""
    theme = theme_of(tenant)
    uploaded = theme.get(UPLOADED_LOGO)
    if isinstance(uploaded, dict) and uploaded.get("storage_name"):
        return f"/t/{tenant.slug}/logo/{uploaded['storage_name']}"
    if theme.get("logo"):
        return f"/static/tenants/{theme['logo']}"
    return None

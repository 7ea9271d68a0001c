"""Jinja2 with gettext, and the one way a handler renders a page.

``page`` renders the full layout for a normal request and only the page's content block for an
htmx request, so each template is written once and works with and without JavaScript.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template

from portal.accounts.roles import ROLE_LABELS
from portal.core.i18n import LOCALES, current_locale, translations_for
from portal.core.settings import PROJECT_ROOT
from portal.tenants.theme import logo_url, theme_css, theme_of

TEMPLATES_DIR = PROJECT_ROOT / "templates"


def _gettext(message: str) -> str:
    return translations_for(current_locale.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(current_locale.get()).ngettext(singular, plural, n)


def role_label(role: str) -> str:
    return _gettext(ROLE_LABELS.get(role, role))


def create_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",)),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change only with a deploy; checking the file on every include costs time.
        auto_reload=False,
    )
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    environment.globals.update(
        LOCALES=LOCALES,
        current_locale=lambda: current_locale.get(),
        role_label=role_label,
        tenant_theme_css=lambda tenant: theme_css(theme_of(tenant)),
        tenant_logo_url=logo_url,
    )
    environment.filters["date"] = format_date
    environment.filters["datetime"] = format_datetime
    return environment


def format_date(value) -> str:
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, format="long", locale=current_locale.get()) if value else ""


def format_datetime(value) -> str:
    from babel.dates import format_datetime as babel_format_datetime

    if not value:
        return ""
    return babel_format_datetime(
        value, format="d MMM y HH:mm", tzinfo="Europe/Amsterdam", locale=current_locale.get()
    )


def create_template_engine() -> JinjaTemplateEngine:
    return JinjaTemplateEngine.from_environment(create_environment())


def is_htmx_partial(request: Request) -> bool:
    headers = request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-request-type") != "full"


def page(
    request: Request, template_name: str, *, status_code: int = 200, **context: Any
) -> Template:
    layout = "layouts/fragment.html" if is_htmx_partial(request) else "layouts/base.html"
    session = request.scope.get("session") or {}
    return Template(
        template_name=template_name,
        context={
            "layout": layout,
            "ctx": request.scope["state"]["context"],
            # A message set by ``flash`` before a redirect is shown once, on this page.
            "flash_message": session.pop("flash", None) if isinstance(session, dict) else None,
            **context,
        },
        status_code=status_code,
    )

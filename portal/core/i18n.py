"""Dutch by default, English on request.

Messages are written in English in code and templates and translated through Babel gettext
catalogues in ``portal/translations``. The ``.po`` files are compiled in memory at start-up, so
there is no build step that can be forgotten. The active locale is a context variable set once
per request by the request-context middleware.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "nl"
LOCALES = {"nl": "Nederlands", "en": "English"}
LANGUAGE_COOKIE = "portal_lang"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations_for(locale: str) -> NullTranslations:
    po_file = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def gettext(message: str, **variables) -> str:
    text = translations_for(current_locale.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    text = translations_for(current_locale.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; translate it with ``_`` when shown."""
    return message


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    """Messages in ``locale`` inside the block (outside a request: the command line)."""
    token = current_locale.set(locale)
    try:
        yield
    finally:
        current_locale.reset(token)


def choose_locale(requested: str | None, fallback: str | None) -> str:
    for candidate in (requested, fallback):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE

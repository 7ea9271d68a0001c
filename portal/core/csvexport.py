"""CSV files for spreadsheet programs: the one writer every export uses.

Two dialects. The Dutch spreadsheet format is the default: cells separated by ``;``, numbers
with a decimal comma, and UTF-8 with a byte order mark, so that a Dutch spreadsheet program
opens the file by double-clicking it with numbers as numbers and accents intact. Plain CSV
(``,``, decimal point, UTF-8 without a byte order mark) is for other programs and English
spreadsheets.

Text can come from anyone (a panel member chooses their own display name), and a spreadsheet
runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (tab and carriage return
can hide such a start). Every text cell that starts with one of them is neutralised with a
leading apostrophe. Numbers the export itself produces (``int`` and ``Decimal`` cells) stay
numbers, a negative one too; a number that arrives as text is text and is neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from litestar.response import Response

from portal.core.forms import Form
from portal.core.i18n import N_, _

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    decimal_separator: str
    byte_order_mark: bool
    label: str  # for the export form (N_, translated when shown)


DIALECTS = {
    "nl": Dialect(";", ",", True, N_("Dutch spreadsheet: semicolons, decimal comma")),
    "plain": Dialect(",", ".", False, N_("Plain CSV: commas, decimal point")),
}
DEFAULT_DIALECT = "nl"


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value, dialect: Dialect) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", dialect.decimal_separator)
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def render(header: Sequence[str], rows: Iterable[Sequence], dialect: Dialect) -> str:
    """The CSV text: ``header`` and ``rows``, every cell through ``cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter)
    writer.writerow([cell(name, dialect) for name in header])
    writer.writerows([cell(value, dialect) for value in row] for row in rows)
    return (BYTE_ORDER_MARK if dialect.byte_order_mark else "") + buffer.getvalue()


def read_dialect(form: Form, name: str = "format") -> Dialect | None:
    """The dialect chosen on an export form (the Dutch one when none is); None and an error on
    the field for an unknown choice."""
    if not form.raw(name).strip():
        form.values[name] = DEFAULT_DIALECT
        return DIALECTS[DEFAULT_DIALECT]
    return DIALECTS.get(form.choice(name, _("File format"), DIALECTS))


def dialect_options() -> list[tuple[str, str]]:
    return [(key, _(dialect.label)) for key, dialect in DIALECTS.items()]


def csv_response(content: str, filename: str) -> Response:
    """A download; Litestar adds ``charset=utf-8`` to the ``text/csv`` media type itself."""
    return Response(content=content, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})

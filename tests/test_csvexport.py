"""The one CSV writer of the exports: both dialects, read back with Python's csv module, and no
cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.core import csvexport
from portal.core.forms import Form

DUTCH, PLAIN = csvexport.DIALECTS["nl"], csvexport.DIALECTS["plain"]
DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


def read_back(text: str, dialect: csvexport.Dialect) -> list[list[str]]:
    if dialect.byte_order_mark:
        assert text.startswith("\ufeff")
        text = text.removeprefix("\ufeff")
    else:
        assert not text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter))


@pytest.mark.parametrize("dialect", [DUTCH, PLAIN], ids=["nl", "plain"])
def test_both_dialects_read_back_with_their_separators(dialect):
    rows = [[date(2026, 3, 1), "Moeder van twee; \"Sky\", en co", Decimal("1234.50"), Decimal("-12.00"), 2026, None]]
    text = csvexport.render(["Datum", "Naam", "Bedrag", "Correctie", "Jaar", "BSN"], rows, dialect)
    header, line = read_back(text, dialect)
    assert header == ["Datum", "Naam", "Bedrag", "Correctie", "Jaar", "BSN"]
    decimal = dialect.decimal_separator
    assert line == ["2026-03-01", 'Moeder van twee; "Sky", en co', f"1234{decimal}50", f"-12{decimal}00", "2026", ""]


def test_the_dutch_dialect_is_the_default_and_plain_is_chosen_by_name():
    form = Form({})
    assert csvexport.read_dialect(form) is DUTCH and form.values["format"] == "nl"
    assert (DUTCH.delimiter, DUTCH.decimal_separator) == (";", ",")
    assert csvexport.read_dialect(Form({"format": "plain"})) is PLAIN
    bad = Form({"format": "xlsx"})
    assert csvexport.read_dialect(bad) is None and "format" in bad.errors


@pytest.mark.parametrize("start", DANGEROUS, ids=[repr(start) for start in DANGEROUS])
@pytest.mark.parametrize("dialect", [DUTCH, PLAIN], ids=["nl", "plain"])
def test_every_dangerous_start_of_a_text_cell_is_neutralised(start, dialect):
    name = f"{start}HYPERLINK(\"https://evil.example\";\"klik\")"
    text = csvexport.render([f"{start}kop"], [[name, f"{start}5"]], dialect)
    header, line = read_back(text, dialect)
    assert header == [f"'{start}kop"]
    assert line == [f"'{name}", f"'{start}5"]  # a number that arrives as text stays text


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_no_text_cell_starts_like_a_formula(text):
    cell = csvexport.cell(text, DUTCH)
    assert not cell.startswith(tuple(DANGEROUS))
    assert cell.removeprefix("'") == text or cell == text


def test_numbers_the_export_produces_stay_numbers_even_when_negative():
    assert csvexport.cell(Decimal("-4.25"), DUTCH) == "-4,25"
    assert csvexport.cell(Decimal("-4.25"), PLAIN) == "-4.25"
    assert csvexport.cell(-3, PLAIN) == "-3"


def test_the_response_is_a_csv_download_with_one_charset():
    response = csvexport.csv_response(csvexport.render(["a"], [], DUTCH), "betalingen.csv")
    assert response.media_type == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="betalingen.csv"'

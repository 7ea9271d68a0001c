"""Small, explicit form validation: every problem becomes a message for the user, in their language.

Handlers read the submitted fields through a ``Form``; when ``form.errors`` is not empty they
render the form again with the values kept (status 422) and store nothing.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from portal.core.i18n import _

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_PATTERN = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
DECIMAL_PATTERN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters other than tab and newlines have no place in text a person typed.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Form:
    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self._data = data or {}

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @contextmanager
    def catch_as_error(self, error_type: type[Exception], name: str) -> Iterator[None]:
        """A rule the block's service call refuses (``error_type``) becomes the message of the
        field the error names in its ``field``, else of ``name``; the handler then shows the form
        again."""
        try:
            yield
        except error_type as error:
            self.add_error(getattr(error, "field", None) or name, str(error))

    def raw(self, name: str) -> str:
        """The submitted text, without control characters; kept to show in the form again."""
        value = self._data.get(name, "")
        if not isinstance(value, str):
            value = ""
        value = CONTROL_CHARACTERS.sub("", value)
        self.values[name] = value
        return value

    def text(
        self,
        name: str,
        label: str,
        *,
        required: bool = True,
        max_length: int = 200,
        min_length: int = 0,
        strip: bool = True,
    ) -> str:
        value = self.raw(name)
        if strip:
            value = value.strip()
        if required and not value:
            self.add_error(name, _("Fill in %(label)s.", label=label.lower()))
        elif len(value) > max_length:
            self.add_error(
                name,
                _(
                    "%(label)s can be at most %(max)s characters; you entered %(count)s.",
                    label=label,
                    max=max_length,
                    count=len(value),
                ),
            )
        elif value and len(value) < min_length:
            self.add_error(
                name, _("%(label)s needs at least %(min)s characters.", label=label, min=min_length)
            )
        return value

    def email(self, name: str, label: str, *, required: bool = True) -> str:
        value = self.text(name, label, required=required, max_length=254).lower()
        self.values[name] = value
        if value and name not in self.errors and not EMAIL_PATTERN.match(value):
            self.add_error(name, _("Enter an email address like name@example.nl."))
        return value

    def choice(self, name: str, label: str, choices: Iterable[str]) -> str:
        value = self.raw(name).strip()
        if value not in set(choices):
            self.add_error(name, _("Choose %(label)s from the list.", label=label.lower()))
        return value

    def date(self, name: str, label: str, required: bool = False) -> datetime.date | None:
        """A date as sent by ``<input type="date">`` (YYYY-MM-DD); None when empty or invalid."""
        value = self.raw(name).strip()
        self.values[name] = value
        if not value:
            if required:
                self.add_error(name, _("Fill in %(label)s.", label=label.lower()))
            return None
        if DATE_PATTERN.match(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        self.add_error(
            name,
            _("Enter %(label)s as a date, for example 2027-03-31.", label=label.lower()),
        )
        return None

    def time_of_day(self, name: str, label: str, required: bool = False) -> datetime.time | None:
        """A time as sent by ``<input type="time">`` (HH:MM, seconds allowed); None when empty or
        invalid."""
        value = self.raw(name).strip()
        self.values[name] = value
        if not value:
            if required:
                self.add_error(name, _("Fill in %(label)s.", label=label.lower()))
            return None
        if TIME_PATTERN.match(value):
            try:
                return datetime.time.fromisoformat(value)
            except ValueError:
                pass
        self.add_error(
            name, _("Enter %(label)s as a time, for example 17:00.", label=label.lower())
        )
        return None

    def decimal(
        self,
        name: str,
        label: str,
        *,
        minimum: Decimal | int | str,
        maximum: Decimal | int | str,
        required: bool = True,
    ) -> Decimal | None:
        """A number such as ``1,5`` or ``1.5`` between ``minimum`` and ``maximum`` (inclusive)."""
        value = self.raw(name).strip().replace(" ", "")
        self.values[name] = value
        low, high = Decimal(str(minimum)), Decimal(str(maximum))
        if not value:
            if required:
                self.add_error(name, _("Fill in %(label)s.", label=label.lower()))
            return None
        number: Decimal | None = None
        if DECIMAL_PATTERN.match(value):
            try:
                number = Decimal(value.replace(",", "."))
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite() or not low <= number <= high:
            self.add_error(
                name,
                _(
                    "Enter %(label)s as a number from %(min)s to %(max)s, for example 1.5.",
                    label=label.lower(),
                    min=_format_number(low),
                    max=_format_number(high),
                ),
            )
            return None
        return number


def _format_number(number: Decimal) -> str:
    """A bound as people write it: no trailing zeros."""
    return format(number.normalize(), "f")

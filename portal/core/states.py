"""State machines as data: each feature declares its allowed transitions, this checks them."""

from __future__ import annotations

from collections.abc import Mapping

from portal.core.i18n import _


class TransitionError(Exception):
    """A state change that the rules do not allow; the message is for the user."""


def check_transition(transitions: Mapping[str, tuple[str, ...]], current: str, target: str) -> None:
    if target not in transitions.get(current, ()):
        raise TransitionError(
            _("This is not possible now: it cannot go from %(current)s to %(target)s.",
              current=_(current), target=_(target))
        )

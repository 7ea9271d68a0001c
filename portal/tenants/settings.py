"""Tenant settings with their defaults. A tenant file may override them in its [settings] table."""

from __future__ import annotations

import json

from portal.core.i18n import N_, _

DEFAULTS = {
    # Posts hidden pending review after this many reports by different members.
    "report_hide_threshold": 3,
    # Minutes in which an author may still edit a post.
    "post_edit_minutes": 30,
    # Months after a policy cycle ends before the retention command anonymises personal data.
    "retention_months": 24,
    # Terms an officer proposes by default to the members of a round, per panel kind (a tenant
    # file may give some fields per kind; the rest come from portal/agreements/terms.py).
    "agreement_terms": {},
    # Volunteer-allowance caps for more years, or corrections: {"2027": {"hourly_adult": "5.90",
    # "hourly_young": "3.50", "monthly": "230", "yearly": "2300"}} (see portal/agreements/caps.py).
    "volunteer_caps": {},
    # When a panel adopts advice: "majority" or "all" of the members who do not abstain confirm.
    "advice_confirmation_rule": "majority",
    # Weeks after submission within which the municipality responds to advice.
    "advice_response_weeks": 6,
    # Published advice, responses and decisions readable without logging in.
    "public_advice_ledger": False,
}
# The settings a tenant admin changes in the browser: label and explanation.
SETTING_LABELS = {
    "report_hide_threshold": (
        N_("Reports that hide a post"),
        N_("A post reported by this many different members is hidden until a moderator has looked at it."),
    ),
    "post_edit_minutes": (
        N_("Minutes to change a post"),
        N_("How long the author can still change a post after posting it."),
    ),
    "advice_confirmation_rule": (
        N_("Who adopts advice"),
        N_("When a panel adopts advice: who of the members who do not abstain must confirm it."),
    ),
    "advice_response_weeks": (
        N_("Weeks to respond to advice"),
        N_("The municipality responds to submitted advice within this many weeks."),
    ),
    "retention_months": (
        N_("Months before personal data is removed"),
        N_("The personal data of a consultation round is anonymised this many months after its policy cycle ended."),
    ),
    "public_advice_ledger": (
        N_("Public advice ledger"),
        N_("Answered advice, the responses and the decisions can be read without logging in."),
    ),
}
CONFIRMATION_RULE_LABELS = {
    "majority": N_("A majority of the members who do not abstain"),
    "all": N_("All members who do not abstain"),
}
MIN_NUMBER, MAX_NUMBER = 1, 10_000
# Settings that are not whole numbers from 1 to 10000: the values they allow.
SETTING_CHOICES = {
    "advice_confirmation_rule": ("majority", "all"),
    "public_advice_ledger": (True, False),
}
# Settings with a structure of their own check their value here (value -> problem or None);
# the feature that owns the setting registers its check.
SETTING_CHECKS: dict = {}


def settings_of(tenant) -> dict:
    """The tenant's own settings as a dict (SQLite hands JSON columns back as text)."""
    settings = tenant.settings
    return json.loads(settings or "{}") if isinstance(settings, str) else dict(settings or {})


def tenant_setting(tenant, key: str):
    return settings_of(tenant).get(key, DEFAULTS[key])


def setting_problem(key: str, value) -> str | None:
    """Why ``value`` is not allowed for the setting ``key`` (None: it is); the loader and the
    settings form both ask this."""
    if key in SETTING_CHECKS:
        return SETTING_CHECKS[key](value)
    choices = SETTING_CHOICES.get(key)
    if choices is not None:
        # type() as well as ==: in Python 1 == True, but a TOML 1 is not a TOML true.
        if any(type(value) is type(choice) and value == choice for choice in choices):
            return None
        return _("Choose one of: %(choices)s.", choices=", ".join(json.dumps(choice) for choice in choices))
    if not isinstance(value, int) or isinstance(value, bool) or not MIN_NUMBER <= value <= MAX_NUMBER:
        return _("Enter a whole number from %(min)s to %(max)s.", min=MIN_NUMBER, max=MAX_NUMBER)
    return None

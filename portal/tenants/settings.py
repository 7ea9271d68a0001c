"""Tenant settings with their defaults. A tenant file may override them in its [settings] table."""

from __future__ import annotations

import json

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
    """Why ``value`` is not allowed for the setting ``key`` (None: it is)."""
    if key in SETTING_CHECKS:
        return SETTING_CHECKS[key](value)
    choices = SETTING_CHOICES.get(key)
    if choices is not None:
        # type() as well as ==: in Python 1 == True, but a TOML 1 is not a TOML true.
        if any(type(value) is type(choice) and value == choice for choice in choices):
            return None
        return f"must be one of {', '.join(json.dumps(choice) for choice in choices)}, got {value!r}"
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        return f"must be a whole number from 1 to 10000, got {value!r}"
    return None

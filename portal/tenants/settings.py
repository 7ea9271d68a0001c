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
}
# Settings that are not a whole number check their value here (value -> problem or None);
# the feature that owns the setting registers its check.
SETTING_CHECKS: dict = {}


def settings_of(tenant) -> dict:
    """The tenant's own settings as a dict (SQLite hands JSON columns back as text)."""
    settings = tenant.settings
    return json.loads(settings or "{}") if isinstance(settings, str) else dict(settings or {})


def tenant_setting(tenant, key: str):
    return settings_of(tenant).get(key, DEFAULTS[key])

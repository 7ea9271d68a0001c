"""Tenant settings with their defaults. A tenant file may override them in its [settings] table."""

from __future__ import annotations

import json

DEFAULTS = {
    # Posts hidden pending review after this many reports by different members.
    "report_hide_threshold": 3,
    # Minutes in which an author may still edit a post.
    "post_edit_minutes": 30,
}


def settings_of(tenant) -> dict:
    """The tenant's own settings as a dict (SQLite hands JSON columns back as text)."""
    settings = tenant.settings
    return json.loads(settings or "{}") if isinstance(settings, str) else dict(settings or {})


def tenant_setting(tenant, key: str):
    return settings_of(tenant).get(key, DEFAULTS[key])

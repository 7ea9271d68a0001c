"""Tenant settings with their defaults. A tenant file may override them in its [settings] table."""

from __future__ import annotations

import json

DEFAULTS = {
    # Posts hidden pending review after this many reports by different members.
    "report_hide_threshold": 3,
    # Minutes in which an author may still edit a post.
    "post_edit_minutes": 30,
}


def tenant_setting(tenant, key: str):
    settings = tenant.settings
    if isinstance(settings, str):
        settings = json.loads(settings or "{}")
    return (settings or {}).get(key, DEFAULTS[key])

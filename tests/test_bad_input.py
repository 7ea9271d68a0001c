"""Bad input never produces a server error: every form route is fed garbage, from the route table.

Like the isolation walker, this covers new routes without anyone listing them here.
"""

from __future__ import annotations

import pytest
from litestar.routes import HTTPRoute

from tests.support import login, post_form
from tests.test_tenant_isolation import _tenant_with_objects, fill

GARBAGE = "<script>alert(1)</script>\x00\x07" + "ä" * 20_000
FIELD_NAMES = (
    "title name email role description question background deadline expected_effort_hours need "
    "goal asked_of_experts experts_wishes competence_match preconditions panel_id status direction "
    "age_band support_contact monthly_hours_budget planned_start planned_end locale next password "
    "password_confirmation display_name kind partner_organisation tenant participation_form "
    "policy_domain owner inline"
    " round panel stage version item_count item-1-title item-1-recommendation choice reasoning based_on"
    " decision usage progress body answer comment kind reference decided_on url cycle"
    # After a conflict between two saves of advice.
    " item-1-key item-1-conflict item-1-choice item-1-mine-title item-1-theirs-title title-conflict title-choice"
    " title-mine title-theirs"
).split()
# Agreements and privacy forms.
FIELD_NAMES += (
    "basis payer rate planned_hours licence attribution withdrawal_terms change_request "
    "ownership_change_request hours amount activity_date reason paid_on guardian_email date_of_birth "
    "benefit action start end year confirm_open_licence"
).split()
PAYLOADS = {
    "empty": {},
    "huge and hostile": dict.fromkeys(FIELD_NAMES, GARBAGE),
    "wrong types": {
        **dict.fromkeys(FIELD_NAMES, "-1"),
        "deadline": "2026-13-45",
        "planned_start": "31-31-2026",
        "planned_end": "yesterday",
        "expected_effort_hours": "1e309",
        "monthly_hours_budget": "NaN",
        "panel_id": "99999999999999999999999",
        "owner": "abc",
        "support_contact": "9223372036854775808",
    },
}
HUGE_ID = "99999999999999999999"


def routes(app):
    for route in app.routes:
        if isinstance(route, HTTPRoute) and not route.path.startswith("/static"):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, route.path


@pytest.mark.parametrize("payload", PAYLOADS, ids=list(PAYLOADS))
async def test_no_form_route_fails_on_bad_input(app, client, settings, payload):
    _tenant, ids, token = await _tenant_with_objects("alpha", settings.upload_dir)
    await login(client, "admin@alpha.example")
    failures = []
    for method, path in routes(app):
        if method != "POST" or path in ("/logout",):
            continue
        url = fill(path, "alpha", ids, token) if path.startswith("/t/") else path
        response = await post_form(client, url, PAYLOADS[payload])
        if response.status_code >= 500:
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []


async def test_absurd_ids_in_the_address_are_not_found(app, client, settings):
    _tenant, ids, token = await _tenant_with_objects("alpha", settings.upload_dir)
    await login(client, "admin@alpha.example")
    failures = []
    for method, path in routes(app):
        if "_id:int}" not in path:
            continue
        url = fill(path, "alpha", dict.fromkeys(ids, HUGE_ID), token)
        response = await (client.get(url) if method == "GET" else post_form(client, url, {}))
        if response.status_code != 404:
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []


async def test_uploads_that_are_not_documents_get_a_message(client, settings):
    _tenant, ids, _token = await _tenant_with_objects("alpha", settings.upload_dir)
    await login(client, "admin@alpha.example")
    url = f"/t/alpha/rounds/{ids['round_id']}/documents"
    for name, content in (("empty.pdf", b""), ("x.exe", b"MZ\x90\x00"), ("../../etc/passwd.pdf", b"%PDF-1.4 x")):
        response = await post_form(client, url, files={"document": (name, content, "application/pdf")})
        assert response.status_code < 500, name

"""Security headers and the CSRF token on every page, including error pages."""

from __future__ import annotations

import re

from portal.core.headers import SECURITY_HEADERS


async def test_pages_carry_the_security_headers(client):
    for path in ("/login", "/t/no-such-tenant/", "/no-such-page", "/healthz"):
        response = await client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)


async def test_tokens_in_links_do_not_leak_to_other_sites(client):
    response = await client.get("/password/reset/some-token")
    assert response.headers["referrer-policy"] == "same-origin"


async def test_forms_on_an_error_page_for_an_unknown_address_still_work(client):
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    token = re.search(r'name="_csrf_token" value="([^"]+)"', response.text).group(1)
    switched = await client.post(
        "/language", data={"_csrf_token": token, "locale": "en", "next": "/login"}
    )
    assert switched.status_code == 200
    assert '<html lang="en"' in switched.text

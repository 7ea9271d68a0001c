"""Every demo account listed in the README can log in and lands where its role belongs."""

from __future__ import annotations

import re

from portal.cli import DEMO_OPERATOR, DEMO_PASSWORD, _create_operator
from portal.core.settings import PROJECT_ROOT
from portal.tenants.loader import load_tenants
from tests.support import login


def readme_demo_accounts() -> list[tuple[str, str]]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("### Demo accounts", 1)[1].split("\n## ", 1)[0]
    assert f"**`{DEMO_PASSWORD}`**" in section
    return re.findall(r"^\| `([^`]+@[^`]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)


async def test_every_readme_demo_account_can_log_in(client):
    await load_tenants(PROJECT_ROOT / "tenants", demo_password=DEMO_PASSWORD)
    await _create_operator(*DEMO_OPERATOR, DEMO_PASSWORD)
    accounts = readme_demo_accounts()
    assert len(accounts) >= 10
    for email, role in accounts:
        client.cookies.clear()
        await login(client, email, DEMO_PASSWORD)
        home = await client.get("/")
        assert 'action="/logout"' in home.text, f"{email} is not logged in"
        if "operator" in role:
            assert 'href="/platform"' in home.text, email
        else:
            slug = re.search(r'href="/t/([a-z-]+)/"', home.text).group(1)
            tenant_home = await client.get(f"/t/{slug}/")
            assert tenant_home.status_code == 200, email

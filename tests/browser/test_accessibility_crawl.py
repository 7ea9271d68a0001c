"""Every page each demo role can reach by following links: no server error, no axe violation.

axe runs on each page load through the page fixture; this test makes sure every linked page is
loaded at least once, for each kind of user.
"""

from __future__ import annotations

from urllib.parse import urldefrag, urlparse

import pytest

from tests.browser.conftest import log_in, settle

MAX_PAGES = 40
ACCOUNTS = [
    None,
    "beheer@portal.example",
    "beheer@voorbeeldstad.example",
    "beleid@voorbeeldstad.example",
    "begeleiding@voorbeeldstad.example",
    "raad@voorbeeldstad.example",
    "ouder@voorbeeldstad.example",
    "beleid@zuiderpolder.example",
]


def crawl(page, start: str = "/") -> list[str]:
    queue, seen = [start], {start}
    origin = None
    visited = []
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{path} gave {response and response.status}"
        settle(page)
        visited.append(path)
        origin = origin or urlparse(page.url).netloc
        # Links marked as downloads (CSV, zip, receipts) are files, not pages.
        for href in page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)"):
            url = urlparse(urldefrag(href)[0])
            target = url.path + (f"?{url.query}" if url.query else "")
            if url.netloc == origin and not url.path.startswith("/static") and target not in seen:
                seen.add(target)
                queue.append(target)
    return visited


@pytest.mark.parametrize("email", ACCOUNTS, ids=lambda email: email or "anonymous")
def test_every_reachable_page_is_accessible(page, email):
    if email:
        log_in(page, email)
    visited = crawl(page)
    assert len(visited) >= 3, visited

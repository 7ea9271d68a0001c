"""Small helpers shared by the thin controllers."""

from __future__ import annotations

from urllib.parse import urlparse

from litestar import Request
from litestar.response import Redirect

from portal.core.context import RequestContext
from portal.core.forms import Form


def request_context(request: Request) -> RequestContext:
    return request.scope["state"]["context"]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: an open redirect after login would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parsed = urlparse(target)
    return default if parsed.scheme or parsed.netloc else target


def see_other(path: str) -> Redirect:
    """Redirect after a successful POST (303, so the browser follows with GET)."""
    return Redirect(path=path, status_code=303)


async def read_form(request: Request) -> Form:
    data = await request.form()
    return Form({key: value for key, value in data.items() if isinstance(value, str)})


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"

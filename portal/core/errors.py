"""Error pages: a clear message in the user's language, never a stack trace.

htmx requests get the same message as a fragment; ``/healthz`` and other JSON clients get JSON.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.middleware.csrf import generate_csrf_token
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from portal.core.context import RequestContext
from portal.core.headers import SECURITY_HEADERS
from portal.core.i18n import LANGUAGE_COOKIE, N_, _, choose_locale, current_locale
from portal.core.sessions import cookie_value
from portal.core.templating import page

logger = logging.getLogger("portal")

MESSAGES = {
    400: (N_("The request could not be processed"), N_("Something in the request was not right. Go back and try again.")),
    401: (N_("Please log in"), N_("You need to log in to see this page.")),
    403: (N_("No access"), N_("You do not have access to this page. If you think you should, ask the person who invited you.")),
    404: (N_("Page not found"), N_("This page does not exist, or it is not available to you. Check the address, or go back to the start page.")),
    405: (N_("Not possible here"), N_("This action is not possible on this page.")),
    413: (N_("Too large"), N_("What you sent is too large. Make it smaller and try again.")),
    429: (N_("Too many attempts"), N_("You have tried too often in a short time. Wait a few minutes and try again.")),
    500: (N_("Something went wrong"), N_("Something went wrong on our side. Nothing you entered before this moment is lost. Try again later.")),
    503: (N_("Temporarily unavailable"), N_("The portal is temporarily unavailable. Try again in a few minutes.")),
}
CSRF_MESSAGE = N_("This form has expired or was opened in another window. Go back, reload the page and try again.")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _ensure_context(request: Request) -> None:
    """Errors raised before the request-context middleware ran (an unknown address, a method
    the router does not know) still get the HTML page: as for an anonymous visitor, in the
    language of the language cookie."""
    state = request.scope.setdefault("state", {})
    if not isinstance(state.get("context"), RequestContext):
        state["context"] = RequestContext()
        current_locale.set(choose_locale(cookie_value(request.scope, LANGUAGE_COOKIE), None))


def _ensure_csrf_token(request: Request, response: Response) -> None:
    """Errors raised outside a route (an unknown address) skip the CSRF middleware; give the
    page a token anyway, so the language and logout forms on it still work."""
    state = ScopeState.from_scope(request.scope)
    if state.csrf_token is not Empty:
        return
    config = request.app.csrf_config
    token = request.cookies.get(config.cookie_name)
    if not token:
        token = generate_csrf_token(secret=config.secret)
        response.set_cookie(
            config.cookie_name, token, path="/", samesite=config.cookie_samesite,
            secure=config.cookie_secure, httponly=config.cookie_httponly,
        )
    state.csrf_token = token


def error_page(request: Request, status_code: int, detail: str | None = None) -> Response:
    title, message = MESSAGES.get(status_code, MESSAGES[400 if status_code < 500 else 500])
    if detail:
        message = detail
    if _wants_json(request):
        return Response(
            {"status": status_code, "title": _(title), "detail": _(message)},
            status_code=status_code,
            media_type=MediaType.JSON,
        )
    _ensure_context(request)
    response = page(
        request, "errors/error.html", status_code=status_code, title=_(title), message=_(message)
    )
    _ensure_csrf_token(request, response)
    # Errors outside any route (an unknown address) skip the middleware that adds these.
    response.headers.update(SECURITY_HEADERS)
    if status_code == 429:
        response.headers["Retry-After"] = "300"
    return response


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, NotAuthorizedException) and request.method == "GET":
        return _redirect_to_login(request)
    if isinstance(exc, PermissionDeniedException) and "CSRF" in (exc.detail or ""):
        return error_page(request, 403, CSRF_MESSAGE)
    if isinstance(exc, ValidationException):
        return error_page(request, 400)
    return error_page(request, exc.status_code)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


def _redirect_to_login(request: Request) -> Response:
    target = f"/login?next={quote(request.url.path)}"
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=204, headers={"HX-Redirect": target})
    return Redirect(path=target)


EXCEPTION_HANDLERS = {
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}

"""Login, logout, password reset and language choice."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from portal.accounts import service
from portal.core.errors import error_page
from portal.core.forms import Form
from portal.core.i18n import LANGUAGE_COOKIE, LOCALES, _
from portal.core.mail import MailService
from portal.core.ratelimit import LoginRateLimiter
from portal.core.sessions import rotate_session
from portal.core.settings import Settings
from portal.core.templating import page
from portal.core.web import client_address, read_form, request_context, safe_next, see_other

ONE_YEAR = 365 * 24 * 3600


@get("/login", name="login")
async def login_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    if request_context(request).user:
        return Redirect(path=safe_next(next))
    return page(request, "accounts/login.html", form=Form(), next=safe_next(next, ""))


@post("/login")
async def login(request: Request, login_limiter: NamedDependency[LoginRateLimiter]) -> Template | Redirect | Response:
    form = await read_form(request)
    email = form.email("email", _("Email address"))
    password = form.text("password", _("Password"), strip=False, max_length=500)
    form.values["password"] = ""
    next_path = safe_next(form.raw("next"), "")
    address = client_address(request)
    if form.is_valid and await login_limiter.is_blocked(address, email):
        return error_page(request, 429)
    user = await service.authenticate(email, password) if form.is_valid else None
    if user is None:
        if form.is_valid:
            await login_limiter.register_failure(address, email)
            form.add_error("email", _("The email address or password is not correct."))
        return page(request, "accounts/login.html", status_code=400, form=form, next=next_path)
    await login_limiter.reset(address, email)
    rotate_session(request.scope)
    request.scope["session"] = {"user_id": user.id}
    return see_other(next_path or "/")


@post("/logout")
async def logout(request: Request) -> Redirect:
    rotate_session(request.scope)
    request.scope["session"] = {}
    return see_other("/")


@post("/language")
async def choose_language(request: Request) -> Redirect:
    form = await read_form(request)
    locale = form.choice("locale", _("Language"), LOCALES)
    response = see_other(safe_next(form.raw("next")))
    if form.is_valid:
        response.set_cookie(LANGUAGE_COOKIE, locale, max_age=ONE_YEAR, httponly=True, samesite="lax")
        if user := request_context(request).user:
            await service.set_locale(user, locale)
    return response


@get("/password/forgot")
async def forgot_password_form(request: Request) -> Template:
    return page(request, "accounts/forgot_password.html", form=Form(), sent=False)


@post("/password/forgot")
async def forgot_password(
    request: Request, mail: NamedDependency[MailService], settings: NamedDependency[Settings], login_limiter: NamedDependency[LoginRateLimiter]
) -> Template | Response:
    form = await read_form(request)
    email = form.email("email", _("Email address"))
    if not form.is_valid:
        return page(request, "accounts/forgot_password.html", status_code=422, form=form, sent=False)
    # Reset requests count towards the login limit: they send mail, which must not be abused.
    address = client_address(request)
    if await login_limiter.is_blocked(address, email):
        return error_page(request, 429)
    await login_limiter.register_failure(address, email)
    user = await service.find_user_by_email(email)
    if user and user.is_active:
        token = await service.create_password_reset(user, settings.password_reset_minutes)
        await mail.send(
            "password_reset",
            user.email,
            user.locale or "nl",
            name=user.name,
            link=f"{settings.base_url}/password/reset/{token}",
            minutes=settings.password_reset_minutes,
        )
    # The same answer whether or not the address is known: no account enumeration.
    return page(request, "accounts/forgot_password.html", form=Form(), sent=True)


@get("/password/reset/{token:str}")
async def reset_password_form(request: Request, token: FromPath[str]) -> Template:
    if await service.usable_reset_token(token) is None:
        return page(request, "accounts/reset_invalid.html", status_code=404)
    return page(request, "accounts/reset_password.html", form=Form(), token=token)


@post("/password/reset/{token:str}")
async def reset_password(request: Request, token: FromPath[str]) -> Template | Redirect:
    reset = await service.usable_reset_token(token)
    if reset is None:
        return page(request, "accounts/reset_invalid.html", status_code=404)
    form = await read_form(request)
    password = service.read_new_password(form, _("New password"))
    if not form.is_valid:
        return page(request, "accounts/reset_password.html", status_code=422, form=form, token=token)
    await service.reset_password(reset, password)
    rotate_session(request.scope)
    request.scope["session"] = {"user_id": reset.user, "flash": _("Your password has been changed.")}
    return see_other("/")


router = Router(
    path="/",
    route_handlers=[
        login_form,
        login,
        logout,
        choose_language,
        forgot_password_form,
        forgot_password,
        reset_password_form,
        reset_password,
    ],
)

"""The Litestar application: plumbing wired once, features mounted as routers."""

from __future__ import annotations

import gc
import logging

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from portal.accounts.routes import router as accounts_router
from portal.core.channels import create_channels_plugin
from portal.core.context import RequestContextMiddleware
from portal.core.database import engine, is_sqlite
from portal.core.errors import EXCEPTION_HANDLERS
from portal.core.headers import SecurityHeadersMiddleware
from portal.core.mail import MailService, create_mailer
from portal.core.ratelimit import create_login_rate_limiter
from portal.core.sessions import SessionMiddleware
from portal.core.settings import PROJECT_ROOT, Settings, get_settings
from portal.core.stores import create_store_registry
from portal.core.templating import create_template_engine
from portal.platform.routes import route_handlers as platform_handlers
from portal.tenants.routes import router as tenants_router

MAX_REQUEST_BODY = 25 * 1024 * 1024  # documents in later features; forms are far smaller


def _constant(value):
    def provide():
        return value

    return Provide(provide, sync_to_thread=False, use_cache=True)


def create_mail_service(settings: Settings, template_engine=None) -> MailService:
    template_engine = template_engine or create_template_engine()
    return MailService(create_mailer(settings), template_engine.engine, settings.base_url)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    template_engine = create_template_engine()
    mail = create_mail_service(settings, template_engine)
    database = engine()

    async def on_startup() -> None:
        if is_sqlite(database):
            database.enable_wal()
        elif settings.database_pool:
            await database.start_connection_pool(max_size=10)
        # What exists now (modules, the app, its routes and settings) lives as long as the
        # process: the garbage collector need not look at it again. Its full collections then
        # scan only what requests made (a thread page makes thousands of objects).
        gc.collect()
        gc.freeze()

    async def on_shutdown() -> None:
        if is_sqlite(database) or getattr(database, "pool", None):
            await database.close_connection_pool()
        gc.unfreeze()

    static = create_static_files_router(
        path="/static", directories=[PROJECT_ROOT / "static"], include_in_schema=False
    )
    return Litestar(
        route_handlers=[
            Router(path="/", route_handlers=platform_handlers),
            accounts_router,
            tenants_router,
            static,
        ],
        dependencies={
            "settings": _constant(settings),
            "mail": _constant(mail),
            "login_limiter": _constant(create_login_rate_limiter(settings)),
        },
        middleware=[
            SecurityHeadersMiddleware,
            DefineMiddleware(
                SessionMiddleware,
                max_age=settings.session_days * 24 * 3600,
                secure=settings.secure_cookies,
            ),
            RequestContextMiddleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            header_name="x-csrftoken",
        ),
        template_config=TemplateConfig(instance=template_engine),
        stores=create_store_registry(settings),
        plugins=[create_channels_plugin(settings)],  # live updates (portal.core.channels)
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=MAX_REQUEST_BODY,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

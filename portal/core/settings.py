"""Configuration, read once from environment variables (documented in README.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# A server listening on every address is linked at the machine itself: the link in an email is
# followed on the machine that runs the portal (PORTAL_BASE_URL names any other address).
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class ConfigurationError(Exception):
    """The environment asks for something the portal cannot do; the message says what to change."""


def _var_dir() -> Path:
    path = Path(os.environ.get("PORTAL_VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _development_secret(var_dir: Path) -> str:
    """Generate the secret once and keep it, so sessions survive a restart in development."""
    secret_file = var_dir / "secret_key"
    if not secret_file.exists():
        # Created readable by the owner only, from the first byte.
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return secret_file.read_text().strip()


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    sender: str = "portal@localhost"


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    workers: int
    base_url: str
    var_dir: Path
    smtp: SmtpSettings | None
    mail_sender: str
    upload_dir: Path
    secure_cookies: bool
    login_attempts_per_window: int = 5
    login_window_seconds: int = 300
    invitation_days: int = 14
    password_reset_minutes: int = 60
    session_days: int = 7
    # A pool is bound to one event loop; tests that drive the app from several loops turn it off.
    database_pool: bool = True

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from exc


def served_base_url(host: str, port: int) -> str:
    """Where a person on this machine reaches the portal served on ``host`` and ``port``."""
    if host in WILDCARD_HOSTS:
        host = DEFAULT_HOST
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


def load_settings() -> Settings:
    var_dir = _var_dir()
    database_url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{var_dir / 'portal.sqlite'}"
    redis_url = os.environ.get("PORTAL_REDIS_URL") or None
    workers = _int_env("PORTAL_WORKERS", 1)
    if workers < 1:
        raise ConfigurationError("PORTAL_WORKERS must be at least 1")
    if workers > 1 and not redis_url:
        raise ConfigurationError(
            f"PORTAL_WORKERS={workers} needs PORTAL_REDIS_URL: sessions, rate limits and live "
            "updates must be shared between workers. Set PORTAL_REDIS_URL or use one worker."
        )
    if workers > 1 and database_url.startswith("sqlite"):
        raise ConfigurationError(
            f"PORTAL_WORKERS={workers} needs PostgreSQL (PORTAL_DATABASE_URL=postgresql://...): "
            "the embedded SQLite database serves one worker."
        )
    sender = os.environ.get("PORTAL_MAIL_FROM", "portal@localhost")
    smtp_host = os.environ.get("PORTAL_SMTP_HOST")
    smtp = (
        SmtpSettings(
            host=smtp_host,
            port=_int_env("PORTAL_SMTP_PORT", 25),
            username=os.environ.get("PORTAL_SMTP_USERNAME") or None,
            password=os.environ.get("PORTAL_SMTP_PASSWORD") or None,
            use_tls=os.environ.get("PORTAL_SMTP_TLS", "").lower() in {"1", "true", "yes"},
            sender=sender,
        )
        if smtp_host
        else None
    )
    # Every link in an email uses this one value; unset, it follows where ``portal serve`` listens.
    base_url = (os.environ.get("PORTAL_BASE_URL") or served_base_url(
        os.environ.get("PORTAL_HOST") or DEFAULT_HOST, _int_env("PORTAL_PORT", DEFAULT_PORT))).rstrip("/")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=os.environ.get("PORTAL_SECRET_KEY") or _development_secret(var_dir),
        workers=workers,
        base_url=base_url,
        var_dir=var_dir,
        smtp=smtp,
        mail_sender=sender,
        upload_dir=Path(os.environ.get("PORTAL_UPLOAD_DIR", var_dir / "uploads")),
        secure_cookies=base_url.startswith("https://"),
        login_attempts_per_window=_int_env("PORTAL_LOGIN_ATTEMPTS", 5),
        login_window_seconds=_int_env("PORTAL_LOGIN_WINDOW_SECONDS", 300),
        database_pool=os.environ.get("PORTAL_DATABASE_POOL", "1") != "0",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

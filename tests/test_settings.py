"""Configuration from the environment: safe defaults, and clear refusals for unworkable setups."""

import stat

import pytest
from click.testing import CliRunner

from portal.cli import main
from portal.core.settings import ConfigurationError, get_settings, load_settings, served_base_url

PORTAL_ENV = (
    "PORTAL_DATABASE_URL", "PORTAL_REDIS_URL", "PORTAL_SECRET_KEY", "PORTAL_WORKERS",
    "PORTAL_BASE_URL", "PORTAL_SMTP_HOST", "PORTAL_UPLOAD_DIR", "PORTAL_DATABASE_POOL", "PORTAL_HOST", "PORTAL_PORT",
)


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A bare environment with only PORTAL_VAR_DIR set (to a fresh directory)."""
    for name in PORTAL_ENV:
        monkeypatch.delenv(name, raising=False)
    var_dir = tmp_path / "var"
    monkeypatch.setenv("PORTAL_VAR_DIR", str(var_dir))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_defaults_use_sqlite_in_var_dir_and_no_redis(env, tmp_path):
    settings = load_settings()
    var_dir = tmp_path / "var"
    assert settings.var_dir == var_dir and var_dir.is_dir()
    assert settings.database_url == f"sqlite:///{var_dir / 'portal.sqlite'}"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.workers == 1
    assert settings.smtp is None
    assert settings.upload_dir == var_dir / "uploads"
    assert settings.secure_cookies is False


def test_links_in_emails_point_where_the_portal_is_served_by_default(env):
    assert load_settings().base_url == "http://127.0.0.1:8000"
    env.setenv("PORTAL_PORT", "8500")
    assert load_settings().base_url == "http://127.0.0.1:8500"
    env.setenv("PORTAL_HOST", "portal.local")
    assert load_settings().base_url == "http://portal.local:8500"
    env.setenv("PORTAL_BASE_URL", "https://portal.example/")
    assert load_settings().base_url == "https://portal.example"  # an explicit address always wins


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:8500"), ("localhost", "http://localhost:8500"),
    ("0.0.0.0", "http://127.0.0.1:8500"), ("::", "http://127.0.0.1:8500"), ("::1", "http://[::1]:8500"),
])
def test_a_server_on_every_address_is_linked_at_this_machine(host, url):
    assert served_base_url(host, 8500) == url


def test_a_port_that_is_not_a_number_is_refused(env):
    env.setenv("PORTAL_PORT", "eighty")
    with pytest.raises(ConfigurationError, match="PORTAL_PORT must be a whole number"):
        load_settings()


def test_https_base_url_turns_on_secure_cookies(env):
    env.setenv("PORTAL_BASE_URL", "https://portal.example/")
    settings = load_settings()
    assert settings.base_url == "https://portal.example"
    assert settings.secure_cookies is True


def test_several_workers_without_redis_are_refused(env):
    env.setenv("PORTAL_WORKERS", "2")
    env.setenv("PORTAL_DATABASE_URL", "postgresql://portal@db/portal")
    with pytest.raises(ConfigurationError, match="PORTAL_WORKERS=2 needs PORTAL_REDIS_URL"):
        load_settings()


def test_several_workers_with_sqlite_are_refused(env):
    env.setenv("PORTAL_WORKERS", "2")
    env.setenv("PORTAL_REDIS_URL", "redis://localhost:6379/0")
    with pytest.raises(ConfigurationError, match="needs PostgreSQL") as error:
        load_settings()
    assert "PORTAL_DATABASE_URL" in str(error.value)


def test_several_workers_with_redis_and_postgres_are_fine(env):
    env.setenv("PORTAL_WORKERS", "4")
    env.setenv("PORTAL_REDIS_URL", "redis://localhost:6379/0")
    env.setenv("PORTAL_DATABASE_URL", "postgresql://portal@db/portal")
    settings = load_settings()
    assert settings.workers == 4 and not settings.is_sqlite


@pytest.mark.parametrize("value", ["two", "1.5"])
def test_non_numeric_workers_are_refused(env, value):
    env.setenv("PORTAL_WORKERS", value)
    with pytest.raises(ConfigurationError, match=f"PORTAL_WORKERS must be a whole number, got '{value}'"):
        load_settings()


def test_zero_workers_are_refused(env):
    env.setenv("PORTAL_WORKERS", "0")
    with pytest.raises(ConfigurationError, match="PORTAL_WORKERS must be at least 1"):
        load_settings()


def test_development_secret_is_generated_once_and_kept_private(env, tmp_path):
    first = load_settings().secret_key
    second = load_settings().secret_key
    secret_file = tmp_path / "var" / "secret_key"
    assert first == second
    assert len(first) >= 40
    assert secret_file.read_text().strip() == first
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_explicit_secret_key_wins_and_no_file_is_written(env, tmp_path):
    env.setenv("PORTAL_SECRET_KEY", "from-the-environment")
    assert load_settings().secret_key == "from-the-environment"
    assert not (tmp_path / "var" / "secret_key").exists()


def test_serve_refuses_several_workers_without_redis(env):
    env.setenv("PORTAL_WORKERS", "2")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "PORTAL_WORKERS=2 needs PORTAL_REDIS_URL" in result.output
    assert "Traceback" not in result.output

"""The ``portal`` command: migrate, serve, load tenants, create the platform operator, demo data."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from pathlib import Path

import click

from portal.core.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    PROJECT_ROOT,
    ConfigurationError,
    get_settings,
)

DEMO_PASSWORD = "Demo-wachtwoord-2026"
DEMO_OPERATOR = ("beheer@portal.example", "Platformbeheer")


def _settings():
    try:
        return get_settings()
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error


async def migrate_database() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from portal.core.database import engine, is_sqlite

    database = engine()
    if is_sqlite(database):
        Path(database.path).parent.mkdir(parents=True, exist_ok=True)
        database.enable_wal()
    result = await run_forwards(app_name="portal", migration_id="all")
    if not result.success:
        raise click.ClickException(f"Migrations failed: {result.message}")


async def _create_operator(email: str, name: str, password: str) -> str:
    from portal.accounts.tables import User
    from portal.core import audit
    from portal.core.security import hash_password, verify_password

    email = email.strip().lower()
    user = await User.objects().where(User.email == email).first()
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(password), is_platform_operator=True)
        await user.save()
        action = "created"
    elif user.is_platform_operator and verify_password(user.password_hash, password):
        return f"platform operator {email}: unchanged"
    else:
        await User.update(
            {User.is_platform_operator: True, User.password_hash: hash_password(password)}
        ).where(User.id == user.id)
        action = "updated"
    await audit.record(
        f"platform_operator.{action}", object_type="user", object_id=user.id, actor_id=None, tenant_id=None
    )
    return f"platform operator {email}: {action}"


@click.group()
def main() -> None:
    """Participation portal for policy co-creation."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    _settings()
    asyncio.run(migrate_database())
    click.echo("Database is up to date.")


@main.command()
@click.option("--host", envvar="PORTAL_HOST", default=DEFAULT_HOST, show_default=True)
@click.option("--port", envvar="PORTAL_PORT", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, reload: bool) -> None:
    """Serve the portal (workers: PORTAL_WORKERS). Without PORTAL_BASE_URL, links in emails
    point at HOST:PORT."""
    import uvicorn

    # The settings of this process and of every worker uvicorn starts (they inherit the
    # environment) then derive the links in emails from what is served.
    os.environ.update(PORTAL_HOST=host, PORTAL_PORT=str(port))
    get_settings.cache_clear()
    settings = _settings()
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=settings.workers,
        reload=reload,
        proxy_headers=True,
        log_level="info",
        # Open live-update streams (server-sent events) must not hold up a restart.
        timeout_graceful_shutdown=5,
    )


@main.group()
def tenants() -> None:
    """Tenant spaces defined as TOML files."""


@tenants.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def tenants_load(directory: Path) -> None:
    """Create or update the tenants defined in DIRECTORY/*.toml (idempotent)."""
    from portal.tenants.loader import TenantFileError, load_tenants

    _settings()
    try:
        report = asyncio.run(load_tenants(directory))
    except TenantFileError as error:
        raise click.ClickException(f"{error}\nNothing was changed.") from error
    for line in report:
        click.echo(line)


@tenants.command("export")
@click.argument("slug")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the file here (an uploaded logo goes next to it) instead of to standard output.")
def tenants_export(slug: str, output: Path | None) -> None:
    """Write the current configuration of tenant SLUG as a tenant file (no people)."""
    from portal.tenants.export import ExportError, export_tenant

    settings = _settings()
    try:
        export = asyncio.run(export_tenant(slug, settings.upload_dir))
    except ExportError as error:
        raise click.ClickException(str(error)) from error
    if output is None:
        if export.files:
            raise click.ClickException(
                f"{slug} has an uploaded logo: give --output FILE, so that it can be written next to the file."
            )
        click.echo(export.text, nl=False)
        return
    output.write_text(export.text, encoding="utf-8")
    for name, content in export.files.items():
        (output.parent / name).write_bytes(content)
    written = ", ".join([str(output), *(str(output.parent / name) for name in export.files)])
    click.echo(f"{slug}: written to {written}", err=True)


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Platform operator", show_default=True)
@click.option("--password", default=None, help="Asked for when not given.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create or update a platform operator account."""
    from portal.accounts.service import password_problem
    from portal.core.forms import EMAIL_PATTERN

    _settings()
    if not EMAIL_PATTERN.match(email.strip()):
        raise click.ClickException(f"{email!r} is not an email address.")
    if password is None:
        password = getpass.getpass("Password: ")
    if problem := password_problem(password):
        raise click.ClickException(problem)
    click.echo(asyncio.run(_create_operator(email, name, password)))


@main.command("send-digests")
def send_digests() -> None:
    """Email each person their daily digest of new posts (run daily from cron; idempotent)."""
    from portal.deliberation.notifications import send_digests as send_all

    _settings()
    report = asyncio.run(send_all())
    for slug, counts in report.items():
        click.echo(f"{slug}: {counts['emails']} digest emails, {counts['items']} new posts")
    click.echo(f"Digests sent: {sum(counts['emails'] for counts in report.values())}")


@main.command("apply-retention")
def apply_retention() -> None:
    """Anonymise personal data of rounds whose cycle ended more than retention_months ago (run
    daily from cron; idempotent)."""
    import portal.app  # noqa: F401 (every feature registers its retention step)
    from portal.privacy.retention import apply_retention as apply_all

    _settings()
    report = asyncio.run(apply_all())
    for slug, count in report.items():
        click.echo(f"{slug}: {count} rounds past the retention period")
@main.command("send-advice-reminders")
def send_advice_reminders() -> None:
    """Remind officers of advice whose response is overdue (run daily from cron; at most one
    reminder per advice per week)."""
    from portal.advice.notify import send_advice_reminders as send_all

    _settings()
    report = asyncio.run(send_all())
    for slug, count in report.items():
        click.echo(f"{slug}: {count} reminders")
    click.echo(f"Reminders sent: {sum(report.values())}")


@main.command()
@click.option("--tenants-dir", default=str(PROJECT_ROOT / "tenants"), show_default=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
def demo(tenants_dir: Path) -> None:
    """Migrate and load the example tenants with demo accounts (password in README.md)."""
    from portal.tenants.loader import TenantFileError, load_tenants

    _settings()

    async def run() -> list[str]:
        from portal.app import create_mail_service
        from portal.demo import create_demo_content

        await migrate_database()
        report = await load_tenants(tenants_dir, demo_password=DEMO_PASSWORD)
        report.append(await _create_operator(*DEMO_OPERATOR, DEMO_PASSWORD))
        report.extend(await create_demo_content(create_mail_service(get_settings())))
        return report

    try:
        report = asyncio.run(run())
    except TenantFileError as error:
        raise click.ClickException(f"{error}\nNothing was changed.") from error
    for line in report:
        click.echo(line)
    click.echo(f"Demo accounts are ready; the password of each is {DEMO_PASSWORD}")


if __name__ == "__main__":
    sys.exit(main())

"""Accounts: logging in, password reset and profile rules. No HTTP here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.accounts.tables import Membership, PasswordResetToken, User
from portal.core import audit
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import _
from portal.core.security import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    new_token,
    verify_password,
)
from portal.core.tenancy import own_rows_across_tenants


def now() -> datetime:
    return datetime.now(UTC)


def password_problem(password: str, confirmation: str | None = None) -> str | None:
    """The reason a new password is refused, in the user's language, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Choose a password of at least %(min)s characters.", min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("A password can be at most %(max)s characters.", max=MAX_PASSWORD_LENGTH)
    if confirmation is not None and password != confirmation:
        return _("The two passwords are not the same.")
    return None


def read_new_password(form: Form, label: str) -> str:
    """The new password from the fields ``password`` and ``password_confirmation``, checked with
    ``password_problem``; neither is kept to show in the form again."""
    password = form.text("password", label, strip=False, max_length=500)
    problem = password_problem(password, form.raw("password_confirmation"))
    if problem:
        form.add_error("password", problem)
    form.values.pop("password", None)
    form.values.pop("password_confirmation", None)
    return password


async def find_user_by_email(email: str) -> User | None:
    return await User.objects().where(User.email == email.strip().lower()).first()


async def authenticate(email: str, password: str) -> User | None:
    user = await find_user_by_email(email)
    valid = verify_password(user.password_hash if user else None, password)
    if not (user and valid and user.is_active):
        return None
    await User.update({User.last_login_at: now()}).where(User.id == user.id)
    return user


async def tenant_memberships(user: User) -> list[dict]:
    """The tenant spaces a person belongs to, with their roles, for the start page."""
    rows = await own_rows_across_tenants(
        Membership, user.id, Membership.tenant.slug, Membership.tenant.name, Membership.role
    ).order_by(Membership.tenant.name)
    spaces: dict[str, dict] = {}
    for row in rows:
        space = spaces.setdefault(
            row["tenant.slug"], {"slug": row["tenant.slug"], "name": row["tenant.name"], "roles": []}
        )
        space["roles"].append(row["role"])
    return list(spaces.values())


async def create_password_reset(user: User, minutes: int) -> str:
    token, token_hash = new_token()
    await PasswordResetToken.insert(
        PasswordResetToken(user=user.id, token_hash=token_hash, expires_at=now() + timedelta(minutes=minutes))
    )
    return token


async def usable_reset_token(token: str) -> PasswordResetToken | None:
    row = await PasswordResetToken.objects().where(
        PasswordResetToken.token_hash == hash_token(token)
    ).first()
    if row is None or row.used_at is not None or row.expires_at < now():
        return None
    return row


async def reset_password(reset: PasswordResetToken, password: str) -> None:
    async with engine().transaction():
        await User.update({User.password_hash: hash_password(password)}).where(User.id == reset.user)
        await PasswordResetToken.update({PasswordResetToken.used_at: now()}).where(
            PasswordResetToken.user == reset.user
        )
        await audit.record(
            "account.password_reset",
            object_type="user",
            object_id=reset.user,
            actor_id=reset.user,
            tenant_id=None,
        )


async def set_locale(user: User, locale: str) -> None:
    await User.update({User.locale: locale}).where(User.id == user.id)

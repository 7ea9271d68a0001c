"""Email behind one small interface: SMTP in production, an outbox table in development.

The outbox is readable by the platform operator on /platform/outbox, so a developer can follow
an invitation link without a mail server. Tests use a real local SMTP server or the outbox.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.i18n import current_locale
from portal.core.settings import Settings, SmtpSettings


class OutboxMessage(Table):
    recipient = Varchar(length=254, index=True)
    subject = Varchar(length=300)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


@dataclass(frozen=True)
class Email:
    recipient: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, email: Email) -> None: ...


class OutboxMailer:
    async def send(self, email: Email) -> None:
        await OutboxMessage.insert(
            OutboxMessage(recipient=email.recipient, subject=email.subject, body=email.body)
        )


class SmtpMailer:
    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp

    def _send_blocking(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self.smtp.sender
        message["To"] = email.recipient
        message["Subject"] = email.subject
        message.set_content(email.body)
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=30) as client:
            if self.smtp.use_tls:
                client.starttls()
            if self.smtp.username:
                client.login(self.smtp.username, self.smtp.password or "")
            client.send_message(message)

    async def send(self, email: Email) -> None:
        await asyncio.to_thread(self._send_blocking, email)


def create_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings.smtp) if settings.smtp else OutboxMailer()


def render_email(environment, template_name: str, recipient: str, locale: str, **context) -> Email:
    """Render ``templates/emails/<name>.txt``: its first line is the subject, the rest the body."""
    token = current_locale.set(locale)
    try:
        text = environment.get_template(f"emails/{template_name}.txt").render(**context)
    finally:
        current_locale.reset(token)
    subject, _, body = text.strip().partition("\n")
    return Email(recipient=recipient, subject=subject.strip(), body=body.strip() + "\n")


class MailService:
    """Renders a templated email in the recipient's language and hands it to the mailer."""

    def __init__(self, mailer: Mailer, environment, base_url: str) -> None:
        self.mailer = mailer
        self.environment = environment
        self.base_url = base_url

    async def send(self, template_name: str, recipient: str, locale: str, **context) -> None:
        email = render_email(
            self.environment, template_name, recipient, locale, base_url=self.base_url, **context
        )
        await self.mailer.send(email)

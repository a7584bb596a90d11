"""Outgoing mail: through SMTP when SMTP_HOST is set, otherwise written as .eml files into the
data folder's outbox (with a log line saying where), so a fresh install still "sends" reset links.

`send_mail` waits for delivery; `send_in_background` returns at once (used where the time a request
takes must not reveal whether a mail was sent) and `drain()` waits for those deliveries (tests).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from pixora_ui.settings import Settings, get_settings

log = logging.getLogger("pixora.mail")

_pending: set[asyncio.Task[None]] = set()


def _message(settings: Settings, *, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="pixora.local")
    message.set_content(text)
    return message


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def _write_outbox(settings: Settings, message: EmailMessage) -> str:
    folder = settings.outbox_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
    path = folder / name
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(message.as_bytes())
    temporary.replace(path)  # a reader never sees half a message
    return str(path)


async def send_mail(*, to: str, subject: str, text: str) -> None:
    """Deliver one plain-text mail; raises on SMTP failure."""
    settings = get_settings()
    message = _message(settings, to=to, subject=subject, text=text)
    if settings.smtp_enabled:
        await asyncio.to_thread(_send_smtp, settings, message)
        log.info("mail %r sent through SMTP", subject)
    else:
        path = await asyncio.to_thread(_write_outbox, settings, message)
        log.info("SMTP_HOST is not set: mail %r written to the outbox at %s", subject, path)


async def _deliver(to: str, subject: str, text: str) -> None:
    try:
        await send_mail(to=to, subject=subject, text=text)
    except Exception:
        log.exception("mail %r could not be delivered", subject)


def send_in_background(*, to: str, subject: str, text: str) -> None:
    task = asyncio.get_running_loop().create_task(_deliver(to, subject, text))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def drain() -> None:
    """Wait until every background delivery has finished."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)

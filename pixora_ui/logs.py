"""Structured logging: one JSON line per record on stdout, with the request id when there is one.

Secrets never reach the log: known secret values from the settings are masked in every line.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pixora_ui.settings import Settings

request_id_var: ContextVar[str] = ContextVar("request_id", default="")

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


class SecretMasker:
    """Replaces known secret values with *** in a fully formatted line (tracebacks and extras included)."""

    def __init__(self, secrets: list[str]) -> None:
        self._secrets = [s for s in secrets if len(s) >= 6]

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class MaskingFormatter(logging.Formatter):
    """Wraps a formatter so that nothing it produces can carry a secret."""

    def __init__(self, inner: logging.Formatter, masker: SecretMasker) -> None:
        super().__init__()
        self._inner = inner
        self._masker = masker

    def format(self, record: logging.LogRecord) -> str:
        return self._masker.mask(self._inner.format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id = request_id_var.get()
        prefix = f"[{request_id}] " if request_id else ""
        text = f"{record.levelname:<7} {record.name}: {prefix}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def secret_values(settings: Settings) -> list[str]:
    return [
        settings.session_secret,
        settings.smtp_password,
        settings.google_client_secret,
        settings.stripe_secret_key,
        settings.stripe_webhook_secret,
        settings.imagekit_private_key,
        settings.gemini_api_key,
    ]


def configure_logging(settings: Settings) -> None:
    """Install the stdout handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pixora", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler._pixora = True  # type: ignore[attr-defined]
    inner: logging.Formatter = JsonFormatter() if settings.log_json else PlainFormatter()
    handler.setFormatter(MaskingFormatter(inner, SecretMasker(secret_values(settings))))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "httpcore", "PIL", "alembic.runtime.migration", "stripe"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

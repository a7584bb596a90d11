"""One root for every error a person may be told about: `PixoraError(message, status, code)`.

`message` is one sentence that is safe to show to whoever asked (a page, an API client, the
operator at a terminal); `status` (an HTTP status) and `code` (stable, for programs to branch on)
say how the JSON surfaces answer it. Subclasses set their defaults as class attributes, so a
service raises `AssetNotFound()` and each surface translates it once:

- pages: `page_notice(exc)` says whether to open the upgrade dialog, ask for the e-mail
  confirmation, or show the message as a failure;
- the public API (`/api/v1`): `pixora_ui.api.errors` answers `{"error": {"code", "message"}}`;
- the web routes (`/api/...`, billing, ImageKit): `pixora_ui.web.responses.error_from`;
- the command line: `pixora_ui.cli` prints `error: <message>` and exits with status 1.

This module imports nothing of Pixora, so every layer (engine, providers, storage) may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class PixoraError(Exception):
    """Something Pixora cannot do for the person asking; the message says why and is safe to show."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str = "", status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class NotFound(PixoraError):
    """What was asked for does not exist, or belongs to someone else (the two are never told apart)."""

    status = 404
    code = "not_found"


LIMIT_MESSAGE = "You have used all your free AI edits. Upgrade to Pro for unlimited edits."
VERIFY_MESSAGE = (
    "Confirm your e-mail address to get your free AI edits: open the link we sent you (the studio can send it again)."
)


class LimitReached(PixoraError):
    """The user has no AI edits left on their plan."""

    status = 402
    code = "credits_exhausted"

    def __init__(self, message: str = LIMIT_MESSAGE) -> None:
        super().__init__(message)


class EmailNotVerified(LimitReached):
    """A Free account whose address is not confirmed yet: its free edits are not granted."""

    def __init__(self, message: str = VERIFY_MESSAGE) -> None:
        super().__init__(message)


PageAction = Literal["upgrade", "verify_email", "show"]


@dataclass(frozen=True, slots=True)
class PageNotice:
    """What a page does with an error: open the upgrade dialog, ask to confirm the e-mail, or show it."""

    action: PageAction
    message: str


def page_notice(exc: PixoraError) -> PageNotice:
    if isinstance(exc, EmailNotVerified):
        return PageNotice("verify_email", exc.message)
    if isinstance(exc, LimitReached):
        return PageNotice("upgrade", exc.message)
    return PageNotice("show", exc.message)

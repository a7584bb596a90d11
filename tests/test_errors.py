"""One error root: every service error carries its status and code, and each surface translates it once."""

from __future__ import annotations

import pytest

from pixora_ui.billing.errors import AlreadySubscribedError, BillingError
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.engine.tools.registry import ParamError, ToolError, ToolUnavailable
from pixora_ui.errors import EmailNotVerified, LimitReached, PageNotice, PixoraError, page_notice
from pixora_ui.services import studio, usage
from pixora_ui.services.assets import AssetNotFound, QuotaExceeded
from pixora_ui.services.jobs import JobNotFound
from pixora_ui.web.responses import error_from


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (LimitReached(), 402, "credits_exhausted"),
        (EmailNotVerified(), 402, "credits_exhausted"),
        (AssetNotFound(), 404, "not_found"),
        (JobNotFound(), 404, "not_found"),
        (ParamError("at most 60"), 422, "invalid_params"),
        (ToolUnavailable("no weights"), 503, "tool_unavailable"),
        (ToolError("cannot"), 400, "bad_request"),
        (QuotaExceeded("full"), 413, "quota_exceeded"),
        (ImageInputError("too big", code="too_many_bytes"), 413, "too_many_bytes"),
        (ImageInputError("not a picture", code="not_image"), 400, "not_image"),
        (AlreadySubscribedError("already Pro"), 409, "already_subscribed"),
        (BillingError("no"), 400, "billing_error"),
    ],
)
def test_each_error_carries_the_status_and_code_the_public_api_answers(
    error: PixoraError, status: int, code: str
) -> None:
    assert (error.status, error.code) == (status, code)
    assert str(error) == error.message


def test_there_is_one_limit_error() -> None:
    assert usage.LimitReached is LimitReached is studio.LimitReachedError
    assert issubclass(usage.EmailNotVerified, LimitReached)
    assert isinstance(ImageInputError("x", code="empty"), ValueError)  # callers catching ValueError still do


def test_the_page_translation_opens_the_upgrade_dialog_or_asks_for_the_confirmation() -> None:
    assert page_notice(EmailNotVerified()) == PageNotice("verify_email", usage.VERIFY_MESSAGE)
    assert page_notice(LimitReached()) == PageNotice("upgrade", usage.LIMIT_MESSAGE)
    assert page_notice(AssetNotFound()) == PageNotice("show", AssetNotFound().message)


def test_the_web_routes_keep_their_older_tool_codes() -> None:
    assert error_from(ToolUnavailable("no weights")).body == b'{"error":"unavailable","message":"no weights"}'
    assert error_from(ParamError("bad")).status_code == 400
    not_found = error_from(JobNotFound())
    assert (not_found.status_code, not_found.headers["cache-control"]) == (404, "no-store")

"""Users never see operator jargon: environment variable names, command lines, module names.

A simulated user walks the pages (signed out, then signed in on a server with no payments, no
generative service and no model weights, where the most "switched off" wording shows) and every
text on them is scanned: labels, buttons, tooltips, placeholders, choices. The provider reasons and
the run-time messages a job can end with are scanned too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nicegui import Client, ui
from nicegui.testing import User

from db.models import User as UserRow
from db.session import session_scope
from pixora_ui.billing.status import payments_enabled
from pixora_ui.engine.tools import catalog
from pixora_ui.engine.tools.enhance import GENERATIVE_HINT
from pixora_ui.engine.tools.registry import (
    NeedsGenerativeProvider,
    Tool,
    ToolError,
    ToolRegistry,
    ToolResult,
    ToolUnavailable,
)
from pixora_ui.providers import gemini, router
from pixora_ui.providers.base import ProviderRequest
from pixora_ui.providers.local import LocalProvider
from pixora_ui.settings import reset_settings
from tests.pages.conftest import make_user, sample_png, sign_in

JARGON = re.compile(
    r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]{2,}\b"  # GEMINI_API_KEY, IMAGEKIT_PRIVATE_KEY
    r"|main\.py|\bpython\b|\bpip install\b|\bmodels install\b|\bset-plan\b|\badmin \w+-\w+"  # command lines
    r"|\bpixora_ui\b|\b\w+\.py\b|/api/webhooks"  # module names, operator endpoints
)
TEXT_PROPS = ("label", "placeholder", "title", "hint", "error-message", "aria-label")


def jargon_in(text: str) -> list[str]:
    return [m.group(0) for m in JARGON.finditer(text)]


def test_the_scanner_catches_what_it_is_for() -> None:
    assert jargon_in("configure GEMINI_API_KEY or ImageKit keys (IMAGEKIT_PRIVATE_KEY)") == [
        "GEMINI_API_KEY",
        "IMAGEKIT_PRIVATE_KEY",
    ]
    assert jargon_in("run `python main.py admin set-plan`")
    assert jargon_in("models not installed: run main.py models install")
    assert not jargon_in("Not installed on this server yet. 3 AI edits, 4x upscaling, JPEG 90, 1 AI edit.")


def _texts(client: Client) -> list[str]:
    """Every text an element of the page can show (hidden ones too: they show at some point)."""
    texts: list[str] = []
    for element in list(client.elements.values()):
        text = getattr(element, "text", None)
        if isinstance(text, str):
            texts.append(text)
        texts += [str(element.props[k]) for k in TEXT_PROPS if isinstance(element.props.get(k), str)]
        content = getattr(element, "content", None)
        if isinstance(content, str):
            texts.append(content)
        options = getattr(element, "options", None)
        if isinstance(options, dict):
            texts += [str(v) for v in options.values()]
    return texts


def _assert_clean(where: str, texts: list[str]) -> None:
    found = {text: jargon_in(text) for text in texts if jargon_in(text)}
    assert not found, f"operator jargon on {where}: {found}"


@pytest.fixture
def no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose model weights are not installed: tools say why they are off."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("MODELS_DIR", str(empty))
    reset_settings()
    router.reset_providers()


async def test_pages_a_person_sees_have_no_operator_jargon(user: User, no_models: None) -> None:
    for path in ("/", "/login", "/signup", "/forgot-password", "/team/join?token=nope"):
        await user.open(path)
        _assert_clean(path, _texts(user.client))
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="studio")
    await user.should_see(marker="tool-reason-remove-bg")  # no weights: the tool says why it is off
    for expansion in user.find(ui.expansion).elements:
        expansion.set_value(True)  # builds every card's fields, help texts and "Run with" choices
    _assert_clean("/studio", _texts(user.client))
    # A Free user at the limit applies an AI tool: the upgrade dialog (payments are off here).
    async with session_scope() as session:
        row = await session.get(UserRow, user_id)
        assert row is not None
        row.usage_count = 3
    await user.open("/studio")
    await user.should_see(marker="studio")
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload("astronaut.png", "image/png", sample_png(size=64))])
    await user.should_see(marker="version-0", retries=50)
    user.find(marker="tool-expand").elements.pop().set_value(True)
    user.find(marker="apply-expand").click()
    await user.should_see(marker="upgrade-dialog")
    await user.should_see(marker="payments-off-reason")
    _assert_clean("the upgrade dialog", _texts(user.client))
    for path in ("/billing", "/billing/cancelled", "/team", "/profile"):
        await user.open(path)
        _assert_clean(path, _texts(user.client))


def _raises(error: Exception) -> Tool:
    def run(*_args: Any) -> ToolResult:
        raise error

    return Tool(name="t", label="T", group="adjust", description="", run=run)


@pytest.mark.parametrize(
    "error",
    [
        ToolUnavailable("The isnet-medium model is not installed; run python main.py models install."),
        NeedsGenerativeProvider(f"That edit needs a generative model: {GENERATIVE_HINT}"),
        NeedsGenerativeProvider(f"A generated canvas needs a generative model: {GENERATIVE_HINT}"),
    ],
)
async def test_messages_a_job_can_end_with_have_no_operator_jargon(
    error: ToolError, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert jargon_in(str(error))  # the engine speaks to operators (the command line shows this as is)
    registry = ToolRegistry()
    registry.add(_raises(error))
    monkeypatch.setattr("pixora_ui.engine.tools.catalog.get_registry", lambda: registry)
    image = np.zeros((8, 8, 3), np.uint8)
    request = ProviderRequest(
        tool="t",
        image=image,
        source_bytes=b"",
        source_mime="image/png",
        params={},
        progress=lambda _f, _m: None,
        cancelled=lambda: False,
    )
    with pytest.raises(type(error)) as raised:
        await LocalProvider().run(request)
    _assert_clean("a job's error", [str(raised.value)])


def test_provider_reasons_and_service_errors_have_no_operator_jargon(no_models: None) -> None:
    reasons = [payments_enabled()[1]]
    local = LocalProvider()

    for tool in catalog.get_registry().all():
        reasons.append(local.availability(tool.name)[1])
    assert "Not installed on this server yet" in reasons  # the weights really are missing here
    reasons += [gemini._api_error_message(code, "API key not valid", "m") for code in (400, 401, 403, 404, 429, 500)]
    _assert_clean("provider reasons", [r for r in reasons if r])

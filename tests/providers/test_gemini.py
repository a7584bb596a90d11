"""The Gemini provider with the real google-genai SDK against a fake generateContent endpoint."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from pixora_ui.engine.tools.registry import ToolError
from pixora_ui.providers.gemini import GeminiProvider, create, image_from_text
from pixora_ui.providers.imaging import source_for_upload
from pixora_ui.settings import get_settings, reset_settings
from tests.fakes.gemini_fake import GeminiFake, _decode, b64decode_any, edit_image
from tests.providers.helpers import make_request, photo, png


def _provider() -> GeminiProvider:
    provider = create(get_settings())
    assert provider is not None
    return provider


def test_off_without_key() -> None:
    assert create(get_settings()) is None


async def test_prompt_edit_inline_data(gemini: GeminiFake) -> None:
    image = photo()
    result = await _provider().run(make_request("prompt", image, {"prompt": "make it warmer"}))
    assert np.array_equal(result.image, edit_image(image, None))
    assert result.extras["provider"] == "gemini"
    (sent,) = gemini.requests
    assert sent["model"] == "gemini-3.1-flash-image"
    parts = sent["body"]["contents"][0]["parts"]
    assert "make it warmer" in parts[0]["text"]
    assert b64decode_any(parts[1]["inlineData"]["data"]) == png(image)
    assert sent["body"]["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]


@pytest.mark.parametrize("variant", ["text-dataurl", "text-base64"])
async def test_image_from_base64_in_text(gemini: GeminiFake, variant: str) -> None:
    image = photo()
    gemini.script(variant)
    result = await _provider().run(make_request("prompt", image, {"prompt": "make it warmer"}))
    assert np.array_equal(result.image, edit_image(image, None))


async def test_blocked_prompt_is_a_clear_error(gemini: GeminiFake) -> None:
    gemini.script("blocked")
    with pytest.raises(ToolError, match="Gemini refused this request \\(prohibited content\\)") as refused:
        await _provider().run(make_request("prompt", photo(), {"prompt": "something"}))
    assert refused.value.retryable is False  # a content-policy refusal comes back the same every time


async def test_image_safety_finish_is_a_clear_error(gemini: GeminiFake) -> None:
    gemini.script("image-safety")
    with pytest.raises(ToolError, match="safety filter stopped this edit \\(image safety\\)"):
        await _provider().run(make_request("prompt", photo(), {"prompt": "something"}))


async def test_no_image_quotes_the_model(gemini: GeminiFake) -> None:
    gemini.script("no-image")
    with pytest.raises(ToolError, match=r"without an image.*description instead"):
        await _provider().run(make_request("prompt", photo(), {"prompt": "something"}))


async def test_429_then_success_is_retried(gemini: GeminiFake) -> None:
    gemini.script("429", "503")
    messages: list[str] = []
    request = make_request("prompt", photo(), {"prompt": "x"}, progress=lambda _f, m: messages.append(m))
    result = await _provider().run(request)
    assert result.image.shape[2] == 3
    assert len(gemini.requests) == 3
    assert any("retrying" in m for m in messages)


async def test_persistent_429_fails_after_retries(gemini: GeminiFake) -> None:
    gemini.script("429", "429", "429", "429")
    with pytest.raises(ToolError, match="usage limit") as busy:
        await _provider().run(make_request("prompt", photo(), {"prompt": "x"}))
    assert len(gemini.requests) == 4
    assert busy.value.retryable is True


async def test_a_lasting_outage_is_retryable(gemini: GeminiFake) -> None:
    gemini.script("503", "500", "503", "503")
    with pytest.raises(ToolError, match="having trouble") as outage:
        await _provider().run(make_request("prompt", photo(), {"prompt": "x"}))
    assert len(gemini.requests) == 4 and outage.value.retryable is True


async def test_bad_key_is_not_retried(gemini: GeminiFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "wrong")
    reset_settings()
    with pytest.raises(ToolError, match="does not accept this server's key") as refused:
        await _provider().run(make_request("prompt", photo(), {"prompt": "x"}))
    assert "GEMINI_API_KEY" not in str(refused.value)  # the operator's hint goes to the log
    assert gemini.calls == 1 and refused.value.retryable is False


async def test_change_background_keeps_subject_instruction(gemini: GeminiFake) -> None:
    await _provider().run(make_request("change-bg", photo(), {"mode": "prompt", "prompt": "a snowy forest"}))
    text = gemini.requests[0]["body"]["contents"][0]["parts"][0]["text"]
    assert "a snowy forest" in text
    assert "Keep the main subject exactly as it is" in text


async def test_expand_pads_and_returns_the_canvas_size(gemini: GeminiFake) -> None:
    image = photo()
    h, w = image.shape[:2]
    result = await _provider().run(make_request("expand", image, {"left": 10, "right": 10, "top": 5, "bottom": 5}))
    top, left = round(h * 0.05), round(w * 0.10)
    assert result.image.shape[:2] == (h + 2 * top, w + 2 * left)
    sent = gemini.requests[0]["body"]["contents"][0]["parts"][1]["inlineData"]["data"]
    padded = _decode(sent)
    assert padded.shape[:2] == (h + 2 * top, w + 2 * left)
    assert np.array_equal(padded[top : top + h, left : left + w], image)


async def test_erase_sends_the_mask_and_keeps_pixels_outside(gemini: GeminiFake) -> None:
    image = photo()
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    mask[20:40, 20:40] = 255
    result = await _provider().run(make_request("erase", image, {"mask": mask}))
    parts = gemini.requests[0]["body"]["contents"][0]["parts"]
    assert len(parts) == 3 and "mask" in parts[0]["text"]
    # Far from the mask nothing changed; inside it the fake filled the mean colour.
    assert np.array_equal(result.image[60:, 60:], image[60:, 60:])
    assert not np.array_equal(result.image[25:35, 25:35], image[25:35, 25:35])


async def test_erase_without_mask_is_refused(gemini: GeminiFake) -> None:
    with pytest.raises(ToolError, match="Paint over"):
        await _provider().run(make_request("erase", photo(), {"mask": np.zeros((8, 8), np.uint8)}))
    assert gemini.requests == []


def test_image_from_text_ignores_non_images() -> None:
    assert image_from_text("no image here " + "A" * 300) is None
    data = png(photo(16))
    assert image_from_text(f"look: data:image/png;base64,{base64.b64encode(data).decode()} ok") == data


def test_large_inputs_are_shrunk_below_the_request_limit() -> None:
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 255, size=(800, 800, 3), dtype=np.uint8)
    data, mime = source_for_upload(make_request("prompt", noisy), max_bytes=300_000)
    assert mime == "image/jpeg" and len(data) <= 300_000
    small, small_mime = source_for_upload(make_request("prompt", photo()))
    assert small_mime == "image/png" and small == png(photo())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"background": "color", "color": "#112233"}, "#112233 studio background"),
        ({"background": "gradient", "color": "#ffffff", "color2": "#000000"}, "gradient from #ffffff to #000000"),
        ({"background": "blur"}, "blurred version of the same background"),
    ],
)
async def test_change_background_choices_in_words(gemini: GeminiFake, params: dict[str, str], expected: str) -> None:
    await _provider().run(make_request("change-bg", photo(), params))
    assert expected in gemini.requests[0]["body"]["contents"][0]["parts"][0]["text"]


async def test_change_background_with_another_photo_is_refused(gemini: GeminiFake) -> None:
    with pytest.raises(ToolError, match="use the Pixora engine"):
        await _provider().run(make_request("change-bg", photo(), {"background": "image"}))

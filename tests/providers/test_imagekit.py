"""The ImageKit provider with the real imagekitio SDK against a fake upload API and delivery endpoint."""

from __future__ import annotations

import base64
import urllib.parse

import numpy as np
import pytest

from pixora_ui.engine.tools.registry import ToolCancelled, ToolError, ToolRegistry
from pixora_ui.providers.imagekit import ImageKitProvider, chain_for, check_one_ai_per_step, create, ik_prompt
from pixora_ui.settings import get_settings, reset_settings
from tests.app_server import free_port
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import make_request, photo


def _provider() -> ImageKitProvider:
    provider = create(get_settings())
    assert provider is not None
    return provider


def test_off_without_keys() -> None:
    assert create(get_settings()) is None


def test_chains_follow_imagekit_syntax() -> None:
    assert chain_for("remove-bg", {"mode": "standard"}, 100, 100).steps == ["e-bgremove"]
    assert chain_for("remove-bg", {"mode": "pro"}, 100, 100).steps == ["e-removedotbg"]
    assert chain_for("change-bg", {"prompt": "snow road"}, 100, 100).steps == [f"e-changebg-{ik_prompt('snow road')}"]
    assert chain_for("prompt", {"prompt": "a hat"}, 100, 100).steps == [f"e-edit-{ik_prompt('a hat')}"]
    assert chain_for("expand", {"aspect": "16:9"}, 90, 90).steps == ["bg-genfill,w-160,h-90,cm-pad_resize"]
    with_prompt = chain_for("expand", {"aspect": "16:9", "prompt": "beach"}, 90, 90).steps
    assert with_prompt == [f"bg-genfill-{ik_prompt('beach')},w-160,h-90,cm-pad_resize"]
    # Margins on one side only keep the photo against the other side.
    assert chain_for("expand", {"left": 50}, 100, 80).steps == ["bg-genfill,w-150,h-80,cm-pad_resize,fo-right"]
    assert chain_for("upscale", {"scale": 4}, 100, 50).steps == ["e-upscale", "w-400,h-200"]
    assert chain_for("retouch", {}, 100, 100).steps == ["e-retouch"]
    assert chain_for("smart-crop", {"focus": "face", "ratio": "1:1"}, 200, 100).steps == ["fo-face,w-100,h-100"]
    assert chain_for("smart-crop", {"width": 64, "height": 32}, 200, 100).steps == ["fo-auto,w-64,h-32"]
    assert chain_for("shadow", {}, 100, 100).steps == ["e-bgremove", "e-dropshadow"]
    assert chain_for("shadow", {"azimuth": 45}, 100, 100, has_alpha=True).steps == ["e-dropshadow-az-45"]
    # The prompt is base64 and URL-encoded: no raw spaces, no "=" padding loose in the URL.
    encoded = ik_prompt("snow road")
    assert encoded == "prompte-" + urllib.parse.quote(base64.b64encode(b"snow road").decode(), safe="")
    assert " " not in encoded and "=" not in encoded


def test_one_ai_operation_per_step() -> None:
    for tool, params in [
        ("remove-bg", {"shadow": True}),
        ("shadow", {}),
        ("upscale", {"scale": 2}),
        ("expand", {"aspect": "16:9", "prompt": "sky"}),
    ]:
        check_one_ai_per_step(chain_for(tool, params, 120, 80).steps)
    with pytest.raises(ValueError, match="more than one AI operation"):
        check_one_ai_per_step(["e-bgremove,e-dropshadow"])


def test_upscale_refuses_inputs_over_16_megapixels() -> None:
    with pytest.raises(ToolError, match=r"up to 16 megapixels; this one has 20\.0"):
        chain_for("upscale", {"scale": 2}, 5000, 4000)


def test_change_background_needs_a_description() -> None:
    with pytest.raises(ToolError, match="from a description"):
        chain_for("change-bg", {"mode": "color", "color": "#ffffff"}, 10, 10)


async def test_remove_background_waits_through_being_prepared(imagekit: ImageKitFake) -> None:
    image = photo()
    imagekit.prepare_count = 3
    messages: list[str] = []
    request = make_request("remove-bg", image, {"mode": "standard"}, progress=lambda _f, m: messages.append(m))
    result = await _provider().run(request)
    assert result.image.shape == (*image.shape[:2], 4)
    assert result.format_hint == "png"
    # The same URL was asked three times while "being prepared", then answered with the image.
    assert [d[2] for d in imagekit.deliveries] == [True, True, True, False]
    assert len({d[0] for d in imagekit.deliveries}) == 1
    assert imagekit.deliveries[0][0] == "e-bgremove,f-png"
    assert any("preparing" in m for m in messages)
    # The input went to the user's tmp folder with server-side auth, and was deleted afterwards.
    (upload,) = imagekit.uploads
    assert upload["folder"] == "/pixora/u7/tmp"
    assert upload["isPrivateFile"] == "true"
    assert imagekit.files == {} and len(imagekit.deleted) == 1


async def test_ik_error_fails_with_its_reason_and_cleans_up(imagekit: ImageKitFake) -> None:
    imagekit.fail_ops["retouch"] = "No face could be found in the image"
    with pytest.raises(ToolError, match="ImageKit could not process the photo: No face could be found") as failed:
        await _provider().run(make_request("retouch", photo()))
    assert imagekit.files == {} and len(imagekit.deleted) == 1
    assert failed.value.retryable is False  # this photo: the same request would fail the same way


async def test_total_timeout(imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEKIT_TIMEOUT_S", "0.5")
    reset_settings()
    imagekit.prepare_count = 10_000
    with pytest.raises(ToolError, match=r"did not finish within 0\.5 seconds") as failed:
        await _provider().run(make_request("upscale", photo(), {"scale": 2}))
    assert imagekit.files == {}, "the temporary upload is deleted even after a timeout"
    assert failed.value.retryable is True


async def test_cancel_while_waiting(imagekit: ImageKitFake) -> None:
    imagekit.prepare_count = 10_000
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(ToolCancelled):
        await _provider().run(make_request("retouch", photo(), cancelled=cancelled))
    assert imagekit.files == {}


@pytest.mark.parametrize(
    ("tool", "params", "expect"),
    [
        ("upscale", {"scale": 2}, lambda h, w: (2 * h, 2 * w, 3)),
        ("expand", {"aspect": "1:1"}, lambda h, w: (w, w, 3)),
        ("smart-crop", {"ratio": "1:1"}, lambda h, w: (min(h, w), min(h, w), 3)),
        ("shadow", {}, lambda h, w: (h, w, 4)),
        ("prompt", {"prompt": "make it look like autumn"}, lambda h, w: (h, w, 3)),
        ("change-bg", {"prompt": "a red studio wall"}, lambda h, w: (h, w, 3)),
    ],
)
async def test_tools_through_the_fake(
    imagekit: ImageKitFake, tool: str, params: dict[str, object], expect: object
) -> None:
    image = photo(80, "chelsea")
    h, w = image.shape[:2]
    result = await _provider().run(make_request(tool, image, params))
    assert callable(expect)
    assert result.image.shape == expect(h, w)
    assert not np.array_equal(result.image[..., :3], image) if result.image.shape == image.shape else True
    assert imagekit.files == {}


async def test_bad_private_key_is_a_clear_error(imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEKIT_PRIVATE_KEY", "private_wrong")
    reset_settings()
    with pytest.raises(ToolError, match="rejected the server's keys") as failed:
        await _provider().run(make_request("retouch", photo()))
    assert failed.value.retryable is False  # a setting of the server: trying again changes nothing


async def test_an_upload_that_cannot_reach_imagekit_is_retryable(
    imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEKIT_API_BASE", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    reset_settings()
    with pytest.raises(ToolError) as failed:
        await _provider().run(make_request("retouch", photo()))
    assert failed.value.retryable is True and imagekit.uploads == []


async def test_remove_bg_mask_and_crop_options(imagekit: ImageKitFake) -> None:
    image = np.full((60, 80, 3), 250, dtype=np.uint8)
    image[20:40, 30:50] = (200, 30, 30)  # a red square on white: the fake's key finds it
    mask = await _provider().run(make_request("remove-bg", image, {"mode": "standard", "output": "mask"}))
    assert mask.image.shape == (60, 80, 3) and mask.image[30, 40, 0] == 255 and mask.image[5, 5, 0] == 0
    crop = await _provider().run(make_request("remove-bg", image, {"crop": True, "margin": 0}))
    assert crop.image.shape == (20, 20, 4)


@pytest.mark.models
async def test_fake_uses_the_local_remove_bg_model(imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    cutout = pytest.importorskip("pixora_ui.engine.tools.cutout")
    registry = ToolRegistry()
    registry.extend(cutout.TOOLS)
    if not registry.get("remove-bg").availability()[0]:
        pytest.skip("the remove-bg model is not installed")
    monkeypatch.setattr("pixora_ui.engine.tools.catalog.get_registry", lambda: registry)
    image = photo(128, "astronaut")
    result = await _provider().run(make_request("remove-bg", image, {"mode": "standard"}))
    alpha = result.image[..., 3]
    # ISNet keeps the astronaut and drops the dark background on the right.
    assert alpha[100, 40] > 200 and alpha[20, 120] < 50


def test_edit_result_is_cut_back_to_the_photo_frame() -> None:
    chain = chain_for("prompt", {"prompt": "a hat"}, 300, 200)
    padded = np.zeros((1024, 1536, 3), dtype=np.uint8)
    padded[:, 1:-1] = 200  # the photo's 3:2 frame fills this answer except a 1 px border
    out = chain.finish(padded)
    assert out.shape == (200, 300, 3)
    tall = np.zeros((1536, 1024, 3), dtype=np.uint8)
    tall[256:1280] = 200  # a 1:1 photo in the middle of a portrait answer, padded above and below
    square = chain_for("prompt", {"prompt": "a hat"}, 100, 100).finish(tall)
    assert square.shape == (100, 100, 3) and square.min() > 150


async def test_upscale_output_limit(imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSCALE_MAX_MP", "0.05")
    reset_settings()
    with pytest.raises(ToolError, match=r"larger than 0\.05 megapixels"):
        await _provider().run(make_request("upscale", photo(96), {"scale": "4"}))
    assert imagekit.uploads == [], "refused before anything was sent"

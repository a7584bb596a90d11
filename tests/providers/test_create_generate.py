"""Text-to-image and AI restyle end to end: services.create / jobs.submit → runner → Gemini (real SDK,
fake service) → new photos in the library, one AI edit each; refusals and empty answers refund."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from db.session import session_scope
from pixora_ui.services import assets, create, jobs
from pixora_ui.services.jobs import JobView
from pixora_ui.services.studio import LimitReachedError, StudioError
from pixora_ui.workers import runner as job_runner
from tests.fakes import gemini_fake
from tests.fakes.gemini_fake import ASPECT_SIZES, GeminiFake
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import photo
from tests.services.conftest import jpeg_bytes, make_user, upload_photo, usage_count

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def runner() -> AsyncIterator[None]:
    await job_runner.start()
    yield
    await job_runner.stop()


async def _wait(user_id: int, job_id: str) -> JobView:
    return await jobs.wait_for(job_id, user_id=user_id, timeout=60)


async def test_generate_makes_new_photos_in_the_library(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("create@example.com", limit=5)
    assert create.generate_provider() == ("gemini", "Gemini")
    states = await create.submit_generation(user_id, prompt="a red bicycle on a beach", aspect="16:9", count=2)
    assert len(states) == 2
    done = [await _wait(user_id, s.id) for s in states]
    assert all(v.status == "succeeded" for v in done), [v.error for v in done]
    assert all(v.credit_state == "kept" and v.input_asset_id is None for v in done)
    assert await usage_count(user_id) == 2  # one AI edit per picture
    async with session_scope() as session:
        library = await assets.list_library(session, owner_id=user_id)
        pixels = await assets.load_pixels(session, owner_id=user_id, asset_id=str(done[0].result_asset_id))
    assert len(library) == 2
    assert {item.original.name for item in library} == {"Created from: a red bicycle on a beach"}
    assert all(item.original.parent_id is None and item.original.tool == "generate" for item in library)
    assert pixels.shape[1::-1] == ASPECT_SIZES["16:9"]
    # The wire: an instruction, no image, and the aspect ratio in the image config.
    body = gemini.requests[0]["body"]
    parts = body["contents"][0]["parts"]
    assert len(parts) == 1 and "a red bicycle on a beach" in parts[0]["text"]
    assert body["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"


@pytest.mark.parametrize(("behaviour", "words"), [("blocked", "refused"), ("no-image", "without an image")])
async def test_refusal_and_empty_answer_refund(gemini: GeminiFake, runner: None, behaviour: str, words: str) -> None:
    gemini.script(behaviour)
    user_id = await make_user(f"create-{behaviour}@example.com", limit=3)
    (state,) = await create.submit_generation(user_id, prompt="something it will not draw")
    done = await _wait(user_id, state.id)
    assert done.status == "failed"
    assert done.error is not None and words in done.error and "credit was refunded" in done.error
    assert done.credit_state == "refunded" and await usage_count(user_id) == 0
    async with session_scope() as session:
        assert await assets.list_library(session, owner_id=user_id) == []


async def test_count_stops_at_the_credit_limit(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("create-limit@example.com", limit=1)
    states = await create.submit_generation(user_id, prompt="two cats", count=3)
    assert len(states) == 1  # only one AI edit was left
    assert (await _wait(user_id, states[0].id)).status == "succeeded"
    with pytest.raises(LimitReachedError):
        await create.submit_generation(user_id, prompt="two cats")
    with pytest.raises(StudioError):
        await create.submit_generation(user_id, prompt="two cats", count=5)


async def test_without_a_provider_there_is_no_create(runner: None) -> None:
    user_id = await make_user("create-none@example.com", limit=3)
    assert create.generate_provider() is None and create.restyle_provider() is None
    with pytest.raises(StudioError, match="needs Gemini or ImageKit"):
        await create.submit_generation(user_id, prompt="a lighthouse")
    assert await usage_count(user_id) == 0


async def test_ai_restyle_keeps_the_photo_size_and_costs_one_edit(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("restyle@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    reference_id = await upload_photo(user_id, jpeg_bytes(photo(64)), name="poster.jpg")
    assert create.restyle_provider() == ("gemini", "Gemini")
    async with session_scope() as session:
        view = await jobs.submit(
            session,
            user_id=user_id,
            asset_id=asset_id,
            tool="style",
            params={"prompt": "as a 1950s travel poster", "reference": reference_id},
        )
    done = await _wait(user_id, view.id)
    assert done.status == "succeeded", done.error
    assert done.provider == "gemini"  # a style sentence routes to the generative provider
    assert await usage_count(user_id) == 1
    body = gemini.requests[0]["body"]
    parts = body["contents"][0]["parts"]
    assert "1950s travel poster" in parts[0]["text"] and "composition" in parts[0]["text"]
    assert sum(1 for p in parts if "inlineData" in p or "inline_data" in p) == 2  # photo and reference
    async with session_scope() as session:
        pixels = await assets.load_pixels(session, owner_id=user_id, asset_id=str(done.result_asset_id))
    assert pixels.shape[:2] == photo(96).shape[:2]


async def test_a_filter_stays_local_and_free(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("filter@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    async with session_scope() as session:
        view = await jobs.submit(
            session, user_id=user_id, asset_id=asset_id, tool="style", params={"preset": "duotone"}
        )
    done = await _wait(user_id, view.id)
    assert done.status == "succeeded" and done.credit_state == "none"
    assert gemini.calls == 0 and await usage_count(user_id) == 0
    async with session_scope() as session:
        pixels = await assets.load_pixels(session, owner_id=user_id, asset_id=str(done.result_asset_id))
    assert np.abs(pixels.astype(int) - photo(96).astype(int)).mean() > 10


def _cli(args: list[str], cwd: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_", "GEMINI_", "IMAGEKIT_"))}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_generate_writes_pictures_and_says_what_is_missing(tmp_path: Path) -> None:
    with gemini_fake.run_gemini_fake() as fake:
        keys = {"GEMINI_API_KEY": gemini_fake.API_KEY, "GEMINI_BASE_URL": fake.base_url}
        one = _cli(["generate", "a red bicycle on a beach", "--aspect", "16:9", "-o", "bike.png"], tmp_path, keys)
        assert one.returncode == 0, one.stderr
        two = _cli(["generate", "a lighthouse", "--count", "2", "-o", "out"], tmp_path, keys)
        assert two.returncode == 0, two.stderr
    with Image.open(tmp_path / "bike.png") as made:
        assert made.size == ASPECT_SIZES["16:9"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a-lighthouse-1.png", "a-lighthouse-2.png"]
    refused = _cli(["generate", "a lighthouse", "-o", "none.png"], tmp_path, {})
    assert refused.returncode != 0 and "GEMINI_API_KEY" in refused.stderr
    assert not (tmp_path / "none.png").exists()


@pytest.fixture
async def ik_runner(imagekit: ImageKitFake) -> AsyncIterator[ImageKitFake]:
    await job_runner.start()
    yield imagekit
    await job_runner.stop()


async def test_imagekit_text_to_image(ik_runner: ImageKitFake) -> None:
    user_id = await make_user("ik-create@example.com", limit=3)
    assert create.generate_provider() == ("imagekit", "ImageKit")
    (state,) = await create.submit_generation(user_id, prompt="a red bicycle on a beach", aspect="9:16")
    done = await _wait(user_id, state.id)
    assert done.status == "succeeded", done.error
    assert done.provider == "imagekit" and await usage_count(user_id) == 1
    assert ik_runner.generated == ["a red bicycle on a beach"]
    assert any(d[2] for d in ik_runner.deliveries), "waited through 'being prepared'"
    async with session_scope() as session:
        pixels = await assets.load_pixels(session, owner_id=user_id, asset_id=str(done.result_asset_id))
        (item,) = await assets.list_library(session, owner_id=user_id)
    assert pixels.shape[:2] == (1024, 576)
    assert item.original.name == "Created from: a red bicycle on a beach"


async def test_imagekit_refusal_refunds(ik_runner: ImageKitFake) -> None:
    ik_runner.fail_ops["genimg"] = "The prompt was flagged by the content filter"
    user_id = await make_user("ik-refused@example.com", limit=3)
    (state,) = await create.submit_generation(user_id, prompt="something flagged")
    done = await _wait(user_id, state.id)
    assert done.status == "failed" and done.error is not None
    assert "content filter" in done.error and "credit was refunded" in done.error
    assert await usage_count(user_id) == 0


async def test_imagekit_restyle_uses_its_prompt_edit(ik_runner: ImageKitFake) -> None:
    user_id = await make_user("ik-restyle@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    async with session_scope() as session:
        view = await jobs.submit(
            session, user_id=user_id, asset_id=asset_id, tool="style", params={"prompt": "as an oil painting"}
        )
    done = await _wait(user_id, view.id)
    assert done.status == "succeeded", done.error
    assert done.provider == "imagekit" and await usage_count(user_id) == 1
    assert any(tr.startswith("e-edit-prompte-") for tr, _status, _prep in ik_runner.deliveries)
    async with session_scope() as session:
        pixels = await assets.load_pixels(session, owner_id=user_id, asset_id=str(done.result_asset_id))
    assert pixels.shape[:2] == photo(96).shape[:2]

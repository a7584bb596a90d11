"""Fakes of ImageKit and Gemini on real local ports, and settings that point the real SDKs at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pixora_ui.providers import router
from pixora_ui.providers.gemini import GeminiProvider
from pixora_ui.providers.imagekit import ImageKitProvider
from pixora_ui.settings import reset_settings
from pixora_ui.storage import factory
from tests.fakes import gemini_fake, imagekit_fake
from tests.fakes.gemini_fake import GeminiFake, run_gemini_fake
from tests.fakes.imagekit_fake import ImageKitFake, run_imagekit_fake


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiFake]:
    with run_gemini_fake() as fake:
        monkeypatch.setenv("GEMINI_API_KEY", gemini_fake.API_KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
        monkeypatch.setattr(GeminiProvider, "retry_delays_s", (0.01, 0.02, 0.04))
        reset_settings()
        router.reset_providers()
        yield fake
    router.reset_providers()


@pytest.fixture
def imagekit(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImageKitFake]:
    with run_imagekit_fake() as fake:
        monkeypatch.setenv("IMAGEKIT_PRIVATE_KEY", imagekit_fake.PRIVATE_KEY)
        monkeypatch.setenv("IMAGEKIT_PUBLIC_KEY", imagekit_fake.PUBLIC_KEY)
        monkeypatch.setenv("IMAGEKIT_URL_ENDPOINT", fake.url_endpoint)
        monkeypatch.setenv("IMAGEKIT_API_BASE", fake.base_url)
        monkeypatch.setenv("IMAGEKIT_TIMEOUT_S", "20")
        monkeypatch.setattr(ImageKitProvider, "poll_initial_s", 0.02)
        monkeypatch.setattr(ImageKitProvider, "poll_max_s", 0.1)
        reset_settings()
        router.reset_providers()
        factory.reset_storage()
        yield fake
    router.reset_providers()
    factory.reset_storage()

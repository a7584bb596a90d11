"""Fixtures for the engine tests: scikit-image's sample photos and a skip for missing weights."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.models.weights import MODELS, is_installed
from pixora_ui.settings import get_settings, reset_settings
from tests.conftest import MODELS_DIR

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def models_installed(*names: str) -> bool:
    wanted = names or tuple(spec.name for spec in MODELS)
    return all(is_installed(MODELS_DIR, name) for name in wanted)


# Tests marked `models` run wherever the weights are installed (CI installs them first) and are
# skipped, with the reason, only when data/models lacks the files.
needs_isnet = pytest.mark.skipif(not models_installed("isnet-medium"), reason="ISNet weights not installed")
needs_faces = pytest.mark.skipif(not models_installed("centerface"), reason="CenterFace weights not installed")


@pytest.fixture(scope="session")
def photo() -> Callable[[str], np.ndarray]:
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = np.ascontiguousarray(getattr(data, name)()[:, :, :3])
        return cache[name]

    return load


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point the engine at an empty models folder."""
    empty = tmp_path_factory.mktemp("no-models")
    monkeypatch.setenv("MODELS_DIR", str(empty))
    reset_settings()


def require_model(name: str) -> None:
    if not is_installed(get_settings().models_dir, name):
        pytest.skip(f"model {name} is not installed (main.py models install)")


@pytest.fixture
def face_crop() -> np.ndarray:
    """A 48x48 crop of the astronaut's face (x4plus costs ~130 s per input megapixel here)."""
    return np.ascontiguousarray(data.astronaut()[100:148, 180:228])

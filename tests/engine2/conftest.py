"""Shared helpers for the engine part-2 tests (upscale, retouch, erase, expand, prompt)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.models import is_installed
from pixora_ui.settings import get_settings


def require_model(name: str) -> None:
    if not is_installed(get_settings().models_dir, name):
        pytest.skip(f"model {name} is not installed (main.py models install)")


@pytest.fixture
def face_crop() -> np.ndarray:
    """A 48x48 crop of the astronaut's face (x4plus costs ~130 s per input megapixel here)."""
    return np.ascontiguousarray(data.astronaut()[100:148, 180:228])

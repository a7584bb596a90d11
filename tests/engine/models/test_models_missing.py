"""Without weights the AI tools say so, and the basic ones still work."""

from __future__ import annotations

import numpy as np
import pytest

from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import ToolUnavailable, never_cancelled, no_progress

MESSAGE = "models not installed: run `python main.py models install`"


@pytest.mark.parametrize("name", ["remove-bg", "change-bg"])
def test_model_tools_report_missing_weights(no_models: None, name: str) -> None:
    tool = get_registry().get(name)
    assert tool.availability() == (False, MESSAGE)
    with pytest.raises(ToolUnavailable, match="not installed"):
        tool.run(np.zeros((32, 32, 3), dtype=np.uint8), tool.validate({}), no_progress, never_cancelled)


def test_free_tools_stay_available(no_models: None) -> None:
    registry = get_registry()
    for name in ("crop", "resize", "rotate", "flip", "convert", "adjust", "smart-crop"):
        assert registry.get(name).availability() == (True, "")

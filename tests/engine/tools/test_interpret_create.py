"""The plain-language interpreter knows the style filters and tells a new picture from an edit."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.interpret import interpret
from pixora_ui.engine.tools.registry import never_cancelled, no_progress
from pixora_ui.services.studio import preview_prompt


@pytest.mark.parametrize(
    ("sentence", "preset"),
    [
        ("make it look like a pencil sketch", "pencil"),
        ("Turn it into a cartoon", "cartoon"),
        ("make it a watercolour", "watercolour"),
        ("make it look like a colour pencil drawing", "pencil-colour"),
        ("apply a duotone effect", "duotone"),
        ("give it a film look", "vintage"),
        ("oil painting style", "painting"),
        ("high key", "high-key"),
        ("low-key please", "low-key"),
    ],
)
def test_style_sentences_map_to_a_local_filter(sentence: str, preset: str) -> None:
    plan = interpret(sentence)
    assert not plan.needs_generative, plan.reason
    assert [(s.tool, s.params["preset"]) for s in plan.steps] == [("style", preset)]


def test_a_style_with_other_edits_and_a_softer_amount() -> None:
    plan = interpret("remove the background and make it look like a cartoon")
    assert plan.tools == ["remove-bg", "style"]
    soft = interpret("make it slightly low-key").steps[0]
    assert soft.params == {"preset": "low-key", "strength": 50}


@pytest.mark.parametrize(
    ("sentence", "description"),
    [
        ("Create an image of a red bicycle on a beach", "a red bicycle on a beach"),
        ("generate a picture of Two Cats.", "Two Cats"),
        ("please draw an illustration of a lighthouse at dawn", "a lighthouse at dawn"),
    ],
)
def test_create_an_image_of_is_a_new_picture(sentence: str, description: str) -> None:
    plan = interpret(sentence)
    assert plan.create == description and plan.needs_generative and not plan.steps


@pytest.mark.parametrize("sentence", ["turn him into a dragon", "add a sketch of a dog", "make the sky a sunset"])
def test_content_changes_still_need_a_generative_model(sentence: str) -> None:
    plan = interpret(sentence)
    assert plan.needs_generative and not plan.create


def test_the_prompt_tool_draws_a_pencil_sketch_locally() -> None:
    tool = get_registry().get("prompt")
    photo = np.ascontiguousarray(data.coffee())
    result = tool.run(
        photo, tool.validate({"prompt": "make it look like a pencil sketch"}), no_progress, never_cancelled
    )
    out = result.image
    assert np.array_equal(out[..., 0], out[..., 1]) and np.median(out) > 180  # grey, mostly paper


def test_the_studio_says_who_creates_or_what_is_missing() -> None:
    preview = preview_prompt("create an image of a red bicycle")
    assert not preview.runnable and "Gemini or ImageKit" in preview.text
    local = preview_prompt("make it look like a pencil sketch")
    assert local.runnable and local.local and "Pencil sketch" in local.text

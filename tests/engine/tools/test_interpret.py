"""The plain-language interpreter: a table of phrasings → plans, refusals, amounts and speed."""

from __future__ import annotations

from typing import Any

import pytest

from pixora_ui.engine.tools.interpret import interpret

GEN = "generative"

# (sentence, expected steps as (tool, params that must be present)) or GEN for a refusal.
CASES: list[tuple[str, Any]] = [
    # background
    ("remove the background", [("remove-bg", {})]),
    ("Remove background please", [("remove-bg", {})]),
    ("cut out the subject", [("remove-bg", {})]),
    ("make the background transparent", [("remove-bg", {})]),
    ("get rid of the backdrop", [("remove-bg", {})]),
    ("put it on white", [("change-bg", {"background": "color", "color": "#ffffff"})]),
    ("white background", [("change-bg", {"background": "color", "color": "#ffffff"})]),
    ("put the product on a plain white background", [("change-bg", {"color": "#ffffff"})]),
    ("change the background to light blue", [("change-bg", {"background": "color", "color": "#9fd0f5"})]),
    ("make the background #112233", [("change-bg", {"color": "#112233"})]),
    ("on a pink backdrop", [("change-bg", {"color": "#f4a6c1"})]),
    ("blur the background", [("change-bg", {"background": "blur"})]),
    ("blurry background like a portrait lens", [("change-bg", {"background": "blur"})]),
    ("bokeh background", [("change-bg", {"background": "blur"})]),
    # black and white, sepia
    ("make it black and white", [("adjust", {"black_white": True})]),
    ("black & white", [("adjust", {"black_white": True})]),
    ("convert to grayscale", [("adjust", {"black_white": True})]),
    ("monochrome please", [("adjust", {"black_white": True})]),
    ("remove the colors", [("adjust", {"black_white": True})]),
    ("sepia", [("adjust", {"sepia": True})]),
    ("give it a vintage look", [("adjust", {"sepia": True})]),
    ("make it look like an old photo", [("adjust", {"sepia": True})]),
    # brightness
    ("brighter", [("adjust", {"brightness": 25.0})]),
    ("a bit brighter", [("adjust", {"brightness": 12.5})]),
    ("make it much brighter", [("adjust", {"brightness": 50.0})]),
    ("brighten by 30%", [("adjust", {"brightness": 30.0})]),
    ("it's too dark", [("adjust", {"brightness": 25.0})]),
    ("darker", [("adjust", {"brightness": -25.0})]),
    ("slightly darker", [("adjust", {"brightness": -12.5})]),
    ("darken it 40 percent", [("adjust", {"brightness": -40.0})]),
    ("less bright", [("adjust", {"brightness": -25.0})]),
    # contrast
    ("more contrast", [("adjust", {"contrast": 25.0})]),
    ("increase contrast a lot", [("adjust", {"contrast": 50.0})]),
    ("less contrast", [("adjust", {"contrast": -25.0})]),
    ("make it pop", [("adjust", {"contrast": 25.0})]),
    # warmth
    ("warmer", [("adjust", {"warmth": 25.0})]),
    ("make it a little warmer", [("adjust", {"warmth": 12.5})]),
    ("cooler", [("adjust", {"warmth": -25.0})]),
    ("make the tones colder", [("adjust", {"warmth": -25.0})]),
    ("cooler by 20%", [("adjust", {"warmth": -20.0})]),
    # saturation
    ("more vivid", [("adjust", {"saturation": 25.0})]),
    ("more vibrant colours", [("adjust", {"saturation": 25.0})]),
    ("very saturated", [("adjust", {"saturation": 50.0})]),
    ("desaturate", [("adjust", {"saturation": -25.0})]),
    ("less saturated", [("adjust", {"saturation": -25.0})]),
    # sharpen, noise, retouch
    ("sharpen", [("adjust", {"sharpen": 40.0})]),
    ("make it crisper", [("adjust", {"sharpen": 40.0})]),
    ("sharpen slightly", [("adjust", {"sharpen": 20.0})]),
    ("remove noise", [("denoise", {"strength": 50})]),
    ("it is too grainy", [("denoise", {})]),
    ("denoise a lot", [("denoise", {"strength": 100})]),
    ("retouch", [("retouch", {"strength": 50})]),
    ("smooth the skin", [("retouch", {})]),
    ("remove blemishes", [("retouch", {})]),
    ("enhance the photo", [("retouch", {})]),
    ("retouch gently", [("retouch", {"strength": 25})]),
    # upscale
    ("upscale", [("upscale", {"scale": "2"})]),
    ("upscale 3x", [("upscale", {"scale": "3"})]),
    ("upscale 4 times", [("upscale", {"scale": "4"})]),
    ("enlarge by 2", [("upscale", {"scale": "2"})]),
    ("make it twice as big", [("upscale", {"scale": "2"})]),
    ("higher resolution, quickly", [("upscale", {"scale": "2"})]),
    ("quadruple the resolution", [("upscale", {"scale": "4"})]),
    ("upscale x3 fast", [("upscale", {"scale": "3", "model": "fast"})]),
    # crops
    ("make it square", [("smart-crop", {"ratio": "1:1"})]),
    ("crop to square", [("smart-crop", {"ratio": "1:1"})]),
    ("crop to portrait", [("smart-crop", {"ratio": "4:5"})]),
    ("crop 16:9", [("smart-crop", {"ratio": "16:9"})]),
    ("widescreen crop", [("smart-crop", {"ratio": "16:9"})]),
    ("crop for an instagram story", [("smart-crop", {"ratio": "9:16"})]),
    ("crop to 4:3", [("smart-crop", {"ratio": "4:3"})]),
    # rotate, flip, resize
    ("rotate left", [("rotate", {"angle": 90.0})]),
    ("rotate 90 degrees clockwise", [("rotate", {"angle": -90.0})]),
    ("turn it upside down", [("rotate", {"angle": 180.0})]),
    ("rotate right", [("rotate", {"angle": -90.0})]),
    ("flip it", [("flip", {"direction": "horizontal"})]),
    ("mirror the image", [("flip", {"direction": "horizontal"})]),
    ("flip vertically", [("flip", {"direction": "vertical"})]),
    ("make it smaller", [("resize", {"percent": 50})]),
    ("resize to 1080 px wide", [("resize", {"width": 1080})]),
    # combinations
    (
        "remove the background and make it square",
        [("remove-bg", {}), ("smart-crop", {"ratio": "1:1"})],
    ),
    ("black and white and more contrast", [("adjust", {"black_white": True, "contrast": 25.0})]),
    ("brighter, warmer and a bit sharper", [("adjust", {"brightness": 25.0, "warmth": 25.0, "sharpen": 20.0})]),
    ("put it on white then crop to 4:5", [("change-bg", {"color": "#ffffff"}), ("smart-crop", {"ratio": "4:5"})]),
    ("retouch and upscale 2x", [("retouch", {}), ("upscale", {"scale": "2"})]),
    ("rotate left & flip", [("rotate", {"angle": 90.0}), ("flip", {})]),
    ("vintage look, a bit warmer, then crop to portrait", [("adjust", {"sepia": True}), ("smart-crop", {})]),
    ("remove noise and sharpen", [("denoise", {}), ("adjust", {"sharpen": 40.0})]),
    # needs a generative model
    ("make the car red", GEN),
    ("add a hat", GEN),
    ("remove the person on the left", GEN),
    ("replace the sky with a sunset", GEN),
    ("turn him into a cartoon", GEN),
    ("make her smile", GEN),
    ("add sunglasses and make it brighter", GEN),
    ("put a dog next to her", GEN),
    ("change his shirt to blue", GEN),
    ("write happy birthday on it", GEN),
]


def test_at_least_sixty_phrasings() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_phrasing(text: str, expected: Any) -> None:
    plan = interpret(text)
    if expected == GEN:
        assert plan.needs_generative, plan
        assert "generative" in plan.reason
        return
    assert not plan.needs_generative, plan.reason
    assert [s.tool for s in plan.steps] == [tool for tool, _ in expected], plan.steps
    for step, (_, params) in zip(plan.steps, expected, strict=True):
        for key, value in params.items():
            assert step.params.get(key) == value, (key, step.params)
    assert plan.summary


def test_fifteen_intents_covered() -> None:
    intents = set()
    for text, expected in CASES:
        if expected == GEN:
            continue
        for step in interpret(text).steps:
            intents.add(step.tool + ":" + ",".join(sorted(k for k in step.params if k not in {"color", "model"})))
    assert len(intents) >= 15, intents


def test_refusal_says_what_cannot_be_done() -> None:
    plan = interpret("add a hat and make it brighter")
    assert plan.needs_generative
    assert "add a hat" in plan.reason
    assert plan.unknown == ("add a hat",)


def test_empty_sentence_is_not_a_plan() -> None:
    plan = interpret("   ")
    assert not plan.steps

"""The transformation parser: ImageKit's syntax, one canonical form, and errors that name the step."""

from __future__ import annotations

import pytest

from pixora_ui.transform import render
from pixora_ui.transform.syntax import TransformError, parse, parse_all


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("w-400,h-300", "h-300,w-400"),
        ("w-400.0", "w-400"),
        ("w-400,c-maintain_ratio,fo-center", "w-400"),
        ("w-400,h-300,c-maintain_ratio", "h-300,w-400"),
        ("bg-fff,w-10,h-10,cm-pad_resize", "w-10,h-10,cm-pad_resize,bg-FFFFFF"),
        ("bg-FFFFFFFF,w-10,h-10,cm-pad_resize", "w-10,h-10,cm-pad_resize,bg-FFFFFF"),
        ("rt-N90", "rt-270"),
        ("rt-360", ""),
        ("rt-0:w-5", "w-5"),
        ("fl-v_h", "fl-h_v"),
        ("f-jpeg", "f-jpg"),
        ("w-400,f-png:e-grayscale", "w-400:e-grayscale,f-png"),
        ("q-80,w-5", "w-5,q-80"),
        ("w-400,dpr-1", "w-400"),
        ("e-sharpen", "e-sharpen-50"),
        ("e-bgremove,w-400", "e-bgremove:w-400"),
        ("c-at_max", ""),
    ],
)
def test_equivalent_transformations_share_one_canonical_form(one: str, other: str) -> None:
    assert parse(one).canonical == parse(other).canonical


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("w-400", "h-400"),
        ("w-400,h-300", "w-300,h-400"),
        ("w-400:e-grayscale", "e-grayscale:w-400"),
        ("w-400,c-at_max", "w-400,c-at_least"),
        ("w-400,q-80", "w-400,q-81"),
        ("e-bgremove", "e-removedotbg"),
    ],
)
def test_different_transformations_stay_different(one: str, other: str) -> None:
    assert parse(one).canonical != parse(other).canonical


def test_path_steps_come_before_query_steps() -> None:
    plan = parse_all("w-400", "e-grayscale")
    assert plan.canonical == "w-400:e-grayscale"
    assert parse_all(None, None).canonical == ""


def test_ai_effects_run_first_and_keep_their_order() -> None:
    plan = parse("e-bgremove:e-upscale:w-300,f-png")
    assert plan.ai == ("bgremove", "upscale")
    assert [step.canonical() for step in plan.steps] == ["w-300"]
    assert plan.format == "png"


@pytest.mark.parametrize(
    ("text", "step"),
    [
        ("w-abc", "w-abc"),
        ("w-0", "w-0"),
        ("w-400.5", "w-400.5"),
        ("w-9000", "w-9000"),
        ("h-", "h-"),
        ("zz-4", "zz-4"),
        ("w-400,t-true", "t-true"),
        ("c-fill", "c-fill"),
        ("cm-crop", "cm-crop"),
        ("fo-middle", "fo-middle"),
        ("q-0", "q-0"),
        ("q-101", "q-101"),
        ("f-gif", "f-gif"),
        ("bg-GGGGGG", "bg-GGGGGG"),
        ("rt-45x", "rt-45x"),
        ("fl-x", "fl-x"),
        ("bl-0", "bl-0"),
        ("ar-4", "ar-4"),
        ("ar-4-3", "ar-4-3"),
        ("w-400,h-300,ar-4-3", "w-400,h-300,ar-4-3"),
        ("x-10,w-5", "x-10,w-5"),
        ("cm-extract", "cm-extract"),
        ("w-5,bg-blurred", "w-5,bg-blurred"),
        ("w-400:e-bgremove", "e-bgremove"),
        ("e-bgremove,e-retouch", "e-bgremove,e-retouch"),
        ("e-grayscale-5", "e-grayscale-5"),
        ("e-upscale-2", "e-upscale-2"),
        ("e-sharpen-500", "e-sharpen-500"),
        ("w-400,c-force,cm-pad_resize", "w-400,c-force,cm-pad_resize"),
    ],
)
def test_bad_steps_are_refused_naming_the_step(text: str, step: str) -> None:
    with pytest.raises(TransformError) as caught:
        parse(text)
    assert caught.value.step == step
    assert step in str(caught.value)


def test_limits_on_length_and_chain() -> None:
    with pytest.raises(TransformError, match="longer than"):
        parse("w-1," * 400)
    with pytest.raises(TransformError, match="chained steps"):
        parse(":".join(["w-10"] * 11))


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("w-400", (400, 267)),
        ("w-400,h-100,c-at_max", (150, 100)),
        ("w-300,h-300,c-at_least", (450, 300)),
        ("w-2000,h-300,cm-extract", (1200, 300)),
        ("w-400,rt-90", (267, 400)),
    ],
)
def test_output_size_of_a_step(text: str, size: tuple[int, int]) -> None:
    assert render.output_size(parse(text).steps[0], 1200, 800) == size


def test_a_jpeg_is_decoded_reduced_only_when_the_first_step_shrinks_enough() -> None:
    assert render.reduction(parse("w-400"), 4000, 3000) == 8
    assert render.reduction(parse("w-1000"), 4000, 3000) == 4
    assert render.reduction(parse("w-1500"), 4000, 3000) == 2
    assert render.reduction(parse("w-3000"), 4000, 3000) == 1
    assert render.reduction(parse("w-300,h-300,cm-extract"), 4000, 3000) == 1
    assert render.reduction(parse("e-grayscale"), 4000, 3000) == 1

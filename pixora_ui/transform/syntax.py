"""ImageKit's transformation syntax (`tr=w-400,h-300:e-grayscale`), parsed into a canonical plan.

`parse(text)` turns the `tr` value (query form) or the `tr:` path segment into a `Plan`: the AI
effects to run first (each one a Pixora job), the plain steps applied to their result in order, and
the output format and quality. `Plan.canonical` writes the plan back in one normalised form (keys in
a fixed order, defaults and no-op parameters dropped, numbers and colours in one spelling), so
equivalent URLs (`w-400.0,h-300` and `h-300,w-400`) share one cache entry.

Anything Pixora does not understand raises `TransformError` naming the step, so typos show instead
of silently serving the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from pixora_ui.errors import PixoraError

Crop = Literal["maintain_ratio", "force", "at_max", "at_max_enlarge", "at_least"]
CropMode = Literal["pad_resize", "extract", "pad_extract"]
OutputFormat = Literal["auto", "jpg", "png", "webp"]
AiEffect = Literal["bgremove", "removedotbg", "upscale", "retouch"]

CROPS: tuple[str, ...] = ("maintain_ratio", "force", "at_max", "at_max_enlarge", "at_least")
CROP_MODES: tuple[str, ...] = ("pad_resize", "extract", "pad_extract")
FOCUS: tuple[str, ...] = (
    "center",
    "top",
    "bottom",
    "left",
    "right",
    "top_left",
    "top_right",
    "bottom_left",
    "bottom_right",
    "auto",
    "face",
)
FORMATS: dict[str, OutputFormat] = {"auto": "auto", "jpg": "jpg", "jpeg": "jpg", "png": "png", "webp": "webp"}
AI_EFFECTS: tuple[str, ...] = ("bgremove", "removedotbg", "upscale", "retouch")
MAX_SIDE = 8000  # the largest width or height a transformation may ask for
MAX_STEPS = 10
MAX_LENGTH = 1000

_NUMBER = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")
_HEX = re.compile(r"^[0-9A-Fa-f]{3}$|^[0-9A-Fa-f]{6}$|^[0-9A-Fa-f]{8}$")
_RATIO = re.compile(r"^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$")


class TransformError(PixoraError, ValueError):
    """A transformation Pixora cannot apply; `step` is the offending part, the message says why."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f'{message} (in "{step}")')
        self.step = step
        self.reason = message


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One plain step of a chain. Sizes: pixels (>= 1) or a fraction of the input (< 1)."""

    w: float | None = None
    h: float | None = None
    ar: tuple[float, float] | None = None
    dpr: float | None = None
    c: Crop | None = None
    cm: CropMode | None = None
    fo: str | None = None
    x: int | None = None
    y: int | None = None
    bg: str | None = None  # RRGGBB or RRGGBBAA (upper case), or "blurred"
    rt: int | None = None  # degrees clockwise, 1..359
    fl: Literal["h", "v", "h_v"] | None = None
    bl: int | None = None
    grayscale: bool = False
    contrast: bool = False
    sharpen: int | None = None

    @property
    def resizes(self) -> bool:
        return self.w is not None or self.h is not None

    def canonical(self) -> str:
        parts: list[str] = []

        def add(key: str, value: object) -> None:
            if value is not None and value is not False:
                parts.append(key if value is True else f"{key}-{value}")

        add("w", _num(self.w))
        add("h", _num(self.h))
        add("ar", None if self.ar is None else f"{_num(self.ar[0])}-{_num(self.ar[1])}")
        add("dpr", _num(self.dpr))
        add("c", self.c)
        add("cm", self.cm)
        add("fo", self.fo)
        add("x", self.x)
        add("y", self.y)
        add("bg", self.bg)
        add("rt", self.rt)
        add("fl", self.fl)
        add("bl", self.bl)
        add("e-grayscale", self.grayscale)
        add("e-contrast", self.contrast)
        add("e-sharpen", self.sharpen)
        return ",".join(parts)


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    ai: tuple[AiEffect, ...] = ()
    steps: tuple[Step, ...] = ()
    format: OutputFormat | None = None
    quality: int | None = None

    @property
    def ai_canonical(self) -> str:
        return ":".join(f"e-{name}" for name in self.ai)

    @property
    def canonical(self) -> str:
        """The normalised transformation: equal for equivalent URLs, different otherwise."""
        chain = [f"e-{name}" for name in self.ai] + [step.canonical() for step in self.steps]
        output = ",".join(
            part
            for part in (
                f"f-{self.format}" if self.format else "",
                f"q-{self.quality}" if self.quality is not None else "",
            )
            if part
        )
        return ":".join([*[c for c in chain if c], *([output] if output else [])])


def _num(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0").rstrip(".")


def _number(step: str, key: str, raw: str, *, low: float, high: float) -> float:
    if not _NUMBER.match(raw):
        raise TransformError(step, f"{key} must be a number")
    value = float(raw)
    if not low <= value <= high:
        raise TransformError(step, f"{key} must be between {_num(low)} and {_num(high)}")
    return value


def _integer(step: str, key: str, raw: str, *, low: int, high: int) -> int:
    if not raw.isdigit():
        raise TransformError(step, f"{key} must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise TransformError(step, f"{key} must be between {low} and {high}")
    return value


def _size(step: str, key: str, raw: str) -> float:
    value = _number(step, key, raw, low=0, high=MAX_SIDE)
    if value <= 0:
        raise TransformError(step, f"{key} must be more than 0")
    if value >= 1 and not value.is_integer():
        raise TransformError(step, f"{key} must be whole pixels, or a fraction below 1")
    return value


def _colour(step: str, raw: str) -> str:
    if raw.lower() == "blurred":
        return "blurred"
    if not _HEX.match(raw):
        raise TransformError(step, "bg must be a hex colour such as FFFFFF or FF000080, or blurred")
    value = raw.upper()
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    if value.endswith("FF") and len(value) == 8:
        value = value[:6]
    return value


def _rotation(step: str, raw: str) -> int | None:
    if raw == "auto":
        return None  # stored photos are already upright
    negative = raw.startswith("N")
    degrees = _integer(step, "rt", raw[1:] if negative else raw, low=0, high=360)
    degrees = (-degrees if negative else degrees) % 360
    return degrees or None


def _split(part: str) -> tuple[str, str]:
    """`w-400` -> ("w", "400"); `e-sharpen-10` -> ("e-sharpen", "10"); `e-grayscale` -> ("e-grayscale", "")."""
    if part.startswith("e-"):
        name, _, value = part[2:].partition("-")
        return f"e-{name}", value
    key, _, value = part.partition("-")
    return key, value


def _parse_step(text: str) -> tuple[list[AiEffect], Step, dict[str, object]]:
    ai: list[AiEffect] = []
    fields: dict[str, object] = {}
    output: dict[str, object] = {}
    for part in text.split(","):
        if not part:
            continue
        key, raw = _split(part)
        if key in {"w", "h"}:
            fields[key] = _size(part, key, raw)
        elif key == "ar":
            match = _RATIO.match(raw)
            if not match or float(match.group(1)) <= 0 or float(match.group(2)) <= 0:
                raise TransformError(part, "ar must be two numbers such as ar-4-3")
            fields["ar"] = (float(match.group(1)), float(match.group(2)))
        elif key == "dpr":
            fields["dpr"] = _number(part, "dpr", raw, low=0.1, high=5)
        elif key == "c":
            if raw not in CROPS:
                raise TransformError(part, "c must be one of " + ", ".join(CROPS))
            fields["c"] = raw
        elif key == "cm":
            if raw not in CROP_MODES:
                raise TransformError(part, "cm must be one of " + ", ".join(CROP_MODES))
            fields["cm"] = raw
        elif key == "fo":
            if raw not in FOCUS:
                raise TransformError(part, "fo must be one of " + ", ".join(FOCUS))
            fields["fo"] = raw
        elif key in {"x", "y"}:
            fields[key] = _integer(part, key, raw, low=0, high=100_000)
        elif key == "q":
            output["quality"] = _integer(part, "q", raw, low=1, high=100)
        elif key == "f":
            if raw not in FORMATS:
                raise TransformError(part, "f must be auto, jpg, png or webp")
            output["format"] = FORMATS[raw]
        elif key == "bg":
            fields["bg"] = _colour(part, raw)
        elif key == "rt":
            fields["rt"] = _rotation(part, raw)
        elif key == "fl":
            flip = {"h": "h", "v": "v", "h_v": "h_v", "v_h": "h_v"}.get(raw)
            if flip is None:
                raise TransformError(part, "fl must be h, v or h_v")
            fields["fl"] = flip
        elif key == "bl":
            fields["bl"] = _integer(part, "bl", raw, low=1, high=100)
        elif key in {"e-grayscale", "e-contrast"} and not raw:
            fields[key[2:]] = True
        elif key == "e-sharpen":
            fields["sharpen"] = _integer(part, "e-sharpen", raw, low=1, high=100) if raw else 50
        elif key.startswith("e-") and key[2:] in AI_EFFECTS:
            if raw:
                raise TransformError(part, f"{key} takes no value")
            if ai:
                raise TransformError(text, "only one AI effect is allowed per step")
            ai.append(key[2:])  # type: ignore[arg-type]
        else:
            raise TransformError(part, "Pixora does not support this transformation")
    return ai, Step(**fields), output  # type: ignore[arg-type]


def _normalise(step: Step, text: str) -> Step:
    """Drop defaults and parameters that change nothing, and refuse combinations that make no sense."""
    if step.ar is not None and step.w is not None and step.h is not None:
        raise TransformError(text, "ar goes with w or h, not both")
    if step.ar is not None and step.w is None and step.h is None:
        raise TransformError(text, "ar needs w or h")
    if step.dpr is not None and not step.resizes:
        raise TransformError(text, "dpr needs w or h")
    if step.cm is not None and step.c is not None and step.c != "maintain_ratio":
        raise TransformError(text, "use c or cm, not both")
    if (step.x is not None or step.y is not None) and step.cm not in {"extract", "pad_extract"}:
        raise TransformError(text, "x and y go with cm-extract")
    if step.cm is not None and not step.resizes:
        raise TransformError(text, f"cm-{step.cm} needs w or h")
    if step.bg == "blurred" and step.cm != "pad_resize":
        raise TransformError(text, "bg-blurred goes with cm-pad_resize")
    changes: dict[str, object] = {}
    if step.c == "maintain_ratio":
        changes["c"] = None
    if step.c is not None and step.c != "maintain_ratio" and not step.resizes:
        changes["c"] = None
    if step.fo == "center":
        changes["fo"] = None
    if step.dpr == 1:
        changes["dpr"] = None
    return replace(step, **changes) if changes else step  # type: ignore[arg-type]


def parse(text: str) -> Plan:
    """Parse one transformation string (steps joined by `:`); raises TransformError."""
    if len(text) > MAX_LENGTH:
        raise TransformError(text[:40] + "…", f"the transformation is longer than {MAX_LENGTH} characters")
    ai: list[AiEffect] = []
    steps: list[Step] = []
    output: dict[str, object] = {}
    chunks = [chunk for chunk in text.split(":") if chunk]
    if len(chunks) > MAX_STEPS:
        raise TransformError(chunks[MAX_STEPS], f"at most {MAX_STEPS} chained steps")
    for chunk in chunks:
        effects, step, step_output = _parse_step(chunk)
        output.update(step_output)
        step = _normalise(step, chunk)
        if effects:
            if steps:
                raise TransformError(chunk, f"e-{effects[0]} must come before the other steps")
            ai.extend(effects)
        if step.canonical():
            steps.append(step)
    return Plan(
        ai=tuple(ai),
        steps=tuple(steps),
        format=output.get("format"),  # type: ignore[arg-type]
        quality=output.get("quality"),  # type: ignore[arg-type]
    )


def parse_all(path_tr: str | None, query_tr: str | None) -> Plan:
    """The path form's steps first, then the query form's (both may be present)."""
    text = ":".join(part for part in (path_tr, query_tr) if part)
    return parse(text)

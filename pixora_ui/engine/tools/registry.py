"""The tool registry: one list of tools shared by the studio, the job runner, the CLI and the API.

A tool has a name, a label, a group, typed parameters with defaults and limits, whether it
costs an AI credit, and `run(image, params, progress, cancelled) -> ToolResult`.

Images are numpy uint8 arrays, H x W x 3 (RGB) or H x W x 4 (RGBA). A parameter of kind
"image" is an asset id (studio, API) or a file path (CLI) that the caller resolves to such an
array before `run` sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixora_ui.errors import PixoraError

ImageArray = npt.NDArray[np.uint8]
Progress = Callable[[float, str], None]  # fraction 0..1, short message for the user
Cancelled = Callable[[], bool]
Box = tuple[int, int, int, int]  # x, y, width, height in image pixels
# Tool declarations read raw parameters (as submitted, not validated) and must be pure and fast:
# the router asks at submit time, the studio while the user types.
GenerativeRule = Callable[[Mapping[str, Any]], bool]
PreviewRule = Callable[[Mapping[str, Any], int, int], Box | None]  # params, photo width, photo height

ParamKind = Literal["choice", "int", "float", "bool", "color", "text", "image"]
ToolGroup = Literal["cutout", "background", "enhance", "generative", "adjust"]

GROUP_LABELS: dict[str, str] = {
    "cutout": "Cut-out",
    "background": "Background",
    "enhance": "Enhance",
    "generative": "Generative",
    "adjust": "Crop & adjust",
}

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class ToolError(PixoraError):
    """A tool could not do what was asked; the message is shown to the user as is.

    `retryable` says whether the same request can work if it is simply run again. Decided where the
    error is raised: False (the default) when the photo or the settings can never work ("no face
    found", a refused or oversized image, a content-policy refusal); True for a passing failure (see
    `TransientToolError`). The job records it and the studio offers "Try again" only when it is True.
    """

    retryable: bool = False

    def __init__(
        self, message: str = "", status: int | None = None, code: str | None = None, *, retryable: bool | None = None
    ) -> None:
        super().__init__(message, status, code)
        if retryable is not None:
            self.retryable = retryable


class TransientToolError(ToolError):
    """A passing failure of the service running the tool: it timed out, could not be reached, was
    over its rate limit (429) or broke (5xx). The same request can work a little later."""

    retryable = True
    status = 503
    code = "temporarily_unavailable"


class ParamError(ToolError):
    """A parameter is missing, of the wrong type or out of range."""

    status = 422
    code = "invalid_params"


class ToolCancelled(Exception):
    """The user cancelled the job; raised by tools between steps."""


class NeedsGenerativeProvider(ToolError):
    """The request needs a generative model; the message says what to configure."""


class ToolUnavailable(ToolError):
    """The tool cannot run here (for example its model weights are not installed)."""

    status = 503
    code = "tool_unavailable"


@dataclass(frozen=True, kw_only=True, slots=True)
class Param:
    name: str
    label: str
    kind: ParamKind
    default: Any = None
    choices: tuple[str, ...] = ()
    choice_labels: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    required: bool = False
    help: str = ""
    max_length: int = 500
    # Shown only while another parameter has one of these values, e.g. ("background", ("blur",)):
    # forms show the fields of the chosen mode only. The tool still validates every parameter.
    only_with: tuple[str, tuple[str, ...]] | None = None

    def coerce(self, value: Any) -> Any:
        """Validate and convert a raw value (from JSON, a form or the CLI) to this parameter's type."""
        if value is None or (isinstance(value, str) and value == ""):
            if self.required:
                raise ParamError(f"{self.label} is required")
            return self.default
        if self.kind == "choice":
            text = str(value)
            if text not in self.choices:
                raise ParamError(f"{self.label} must be one of {', '.join(self.choices)}")
            return text
        if self.kind in {"int", "float"}:
            try:
                number: float = int(value) if self.kind == "int" else float(value)
            except (TypeError, ValueError) as exc:
                raise ParamError(f"{self.label} must be a number") from exc
            if self.kind == "int" and isinstance(value, float) and not value.is_integer():
                raise ParamError(f"{self.label} must be a whole number")
            if self.min is not None and number < self.min:
                raise ParamError(f"{self.label} must be at least {self.min:g}")
            if self.max is not None and number > self.max:
                raise ParamError(f"{self.label} must be at most {self.max:g}")
            return number
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ParamError(f"{self.label} must be true or false")
        if self.kind == "color":
            text = str(value).strip()
            if not _COLOR.match(text):
                raise ParamError(f"{self.label} must be a colour like #1a2b3c")
            return text.lower()
        if self.kind == "text":
            text = str(value).strip()
            if "\x00" in text:  # PostgreSQL cannot store it, and no prompt means one
                raise ParamError(f"{self.label} contains a character that is not allowed")
            if len(text) > self.max_length:
                raise ParamError(f"{self.label} is longer than {self.max_length} characters")
            if self.required and not text:
                raise ParamError(f"{self.label} is required")
            return text
        # "image": an asset id or path; resolved to pixels by the caller.
        if isinstance(value, np.ndarray):
            return value
        return str(value)


@dataclass(kw_only=True, slots=True)
class ToolResult:
    image: ImageArray
    # Optional extras: a crop box (x, y, w, h) the studio can preview, a note for the user.
    box: tuple[int, int, int, int] | None = None
    note: str = ""
    # Preferred output format: "png" keeps alpha, "jpeg" for opaque photos.
    format_hint: Literal["png", "jpeg", "webp"] | None = None
    # What actually ran (for example the plan of a plain-language edit).
    summary: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


ToolRun = Callable[[ImageArray, dict[str, Any], Progress, Cancelled], ToolResult]


def _always_available() -> tuple[bool, str]:
    return True, ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Tool:
    name: str
    label: str
    group: ToolGroup
    description: str
    run: ToolRun
    params: tuple[Param, ...] = ()
    costs_credit: bool = True
    icon: str = "auto_fix_high"
    # Returns (available, reason): e.g. (False, "models not installed: run main.py models install").
    availability: Callable[[], tuple[bool, str]] = _always_available
    # Typical wall time per megapixel on the reference machine, for ETAs before progress arrives.
    seconds_per_mp: float = 0.5
    # Parameter values that a provider other than the local engine may need ("prompt" etc.).
    local: bool = True
    # Whether a request costs a credit depends on its parameters (e.g. a free filter or a paid AI
    # restyle in one tool); None: `costs_credit` decides alone.
    credit_rule: Callable[[dict[str, Any]], bool] | None = None
    # False for tools that make a new image from nothing (text-to-image): no input photo.
    takes_photo: bool = True

    # Whether a request needs a generative model, so the router offers generative providers first;
    # None: never.
    generative_rule: GenerativeRule | None = None
    # The box the studio draws over the photo as the parameters change (what a crop keeps, the canvas
    # an expand makes), computed from the parameters alone; None: the tool has no such preview.
    preview_rule: PreviewRule | None = None
    # The image parameter the user paints over the photo with the brush (magic erase's mask).
    painted_mask: str | None = None

    # Loads the models a run with these (validated) parameters needs, without running them, so a
    # caller can overlap the loading with other work (the CLI decodes the first photo meanwhile).
    # The tool's `run` must work without it: models still load on first use.
    preload: Callable[[dict[str, Any]], None] | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def validate(self, raw: dict[str, Any]) -> dict[str, Any]:
        """All parameters with defaults filled in; unknown names and bad values raise ParamError."""
        known = {p.name for p in self.params}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ParamError(f"{self.label} has no parameter {', '.join(unknown)}")
        return {p.name: p.coerce(raw.get(p.name)) for p in self.params}

    def charges(self, params: dict[str, Any]) -> bool:
        """Whether this request (validated parameters) costs one credit."""
        return self.costs_credit if self.credit_rule is None else self.credit_rule(params)

    def needs_generative(self, params: Mapping[str, Any] | None) -> bool:
        """Whether this request (raw parameters) needs a generative model."""
        return bool(params) and self.generative_rule is not None and self.generative_rule(params or {})

    def preview_box(self, params: Mapping[str, Any], *, width: int, height: int) -> Box | None:
        """The box to draw over a `width` x `height` photo for these raw parameters; None for none."""
        return None if self.preview_rule is None else self.preview_rule(params, width, height)

    def image_params(self) -> list[str]:
        return [p.name for p in self.params if p.kind == "image"]


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def add(self, tool: Tool) -> Tool:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} registered twice")
        self._tools[tool.name] = tool
        return tool

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(f"Unknown tool {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def all(self) -> list[Tool]:
        return list(self._tools.values())

    def by_group(self) -> dict[str, list[Tool]]:
        groups: dict[str, list[Tool]] = {g: [] for g in GROUP_LABELS}
        for tool in self._tools.values():
            groups[tool.group].append(tool)
        return groups

    def extend(self, tools: Iterable[Tool]) -> None:
        for tool in tools:
            self.add(tool)


def param_number(params: Mapping[str, Any], name: str) -> float:
    """A raw numeric parameter as the studio's form holds it: blank or not a number counts as 0."""
    value = params.get(name)
    if value in (None, ""):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def param_text(params: Mapping[str, Any], *names: str) -> str:
    """The first of `names` holding non-blank text, stripped ("" when none does)."""
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def check_cancelled(cancelled: Cancelled) -> None:
    if cancelled():
        raise ToolCancelled()


def no_progress(_fraction: float, _message: str) -> None:
    """A progress callback that ignores updates (CLI without a bar, tests)."""


def never_cancelled() -> bool:
    return False

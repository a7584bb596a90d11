"""The grammar of plain-language edits: one matcher per local tool, each turning a clause into steps.

Each matcher returns the steps for a clause, or None when the clause is not about its tool;
`MATCHERS` tries them in order and `match_style` reads a clause that only names a style filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pixora_ui.engine.tools.interpret_words import (
    ASPECTS,
    COLORS,
    LESS,
    NUMBER_WORDS,
    PERCENT,
    SMALL_WORDS,
    amount,
    signed,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanStep:
    tool: str
    params: dict[str, Any]
    label: str  # what the user sees in the plan, e.g. "Brightness +25"


_Matcher = Callable[[str], list[PlanStep] | None]


def _adjust(key: str, value: float, label: str) -> list[PlanStep]:
    return [PlanStep(tool="adjust", params={key: round(value, 1)}, label=f"{label} {signed(value)}")]


def _m_background(clause: str) -> list[PlanStep] | None:
    if not re.search(r"\b(background|backdrop|bg)\b", clause):
        if re.search(r"\b(cut ?out|cut the (?:subject|person|object) out|isolate|transparent)\b", clause):
            return [PlanStep(tool="remove-bg", params={}, label="Remove the background")]
        return None
    if re.search(r"\b(blur|blurred|blurry|bokeh|defocus|soft(?:en)?)\b", clause):
        return [PlanStep(tool="change-bg", params={"background": "blur"}, label="Blur the background")]
    for name in sorted(COLORS, key=len, reverse=True):
        if re.search(rf"\b{name}\b", clause):
            return [
                PlanStep(
                    tool="change-bg",
                    params={"background": "color", "color": COLORS[name]},
                    label=f"Put the subject on a {name} background",
                )
            ]
    hex_match = re.search(r"#[0-9a-f]{6}\b", clause)
    if hex_match:
        return [
            PlanStep(
                tool="change-bg",
                params={"background": "color", "color": hex_match.group(0)},
                label=f"Put the subject on a {hex_match.group(0)} background",
            )
        ]
    if re.search(r"\b(remove|delete|erase|drop|get rid of|take out|take away|no|without|transparent|cut)\b", clause):
        return [PlanStep(tool="remove-bg", params={}, label="Remove the background")]
    return None


def _m_on_color(clause: str) -> list[PlanStep] | None:
    # "put it on white", "on a blue backdrop" (the backdrop case is handled above).
    m = re.search(
        r"\bon (?:a |an |plain |solid |pure )*(" + "|".join(sorted(COLORS, key=len, reverse=True)) + r")\b", clause
    )
    if not m or re.search(r"\b(car|shirt|dress|hair|wall|sky)\b", clause):
        return None
    name = m.group(1)
    return [
        PlanStep(
            tool="change-bg", params={"background": "color", "color": COLORS[name]}, label=f"Put the subject on {name}"
        )
    ]


def _m_bw(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(bw|b ?& ?w|b/w|grayscale|greyscale|monochrome|mono|noir|colorless|colourless)\b", clause):
        return [PlanStep(tool="adjust", params={"black_white": True}, label="Black and white")]
    if re.search(r"\b(remove|drop|no) (?:the |all )?colou?rs?\b", clause):
        return [PlanStep(tool="adjust", params={"black_white": True}, label="Black and white")]
    return None


# Style filters (engine/ops/style.py) by the words people use; "colour" is already "color" here.
_STYLE_WORDS: tuple[tuple[str, str, str], ...] = (
    (
        r"colou?r(?:ed)? pencil(?: sketch| drawing)?|pencil (?:sketch|drawing) in colou?r",
        "pencil-colour",
        "Colour pencil",
    ),
    (r"(?:pencil |charcoal |line )?(?:sketch|drawing)|pencil|charcoal", "pencil", "Pencil sketch"),
    (r"water ?colou?r|aquarelle", "watercolour", "Watercolour"),
    (r"oil painting|painting|painterly|painted", "painting", "Painting"),
    (r"cartoon|comic(?: book)?|toon|cel[- ]shaded", "cartoon", "Cartoon"),
    (r"duo ?tone|two[- ]tone", "duotone", "Duotone"),
    (r"film|film (?:grain|photo|stock)|vintage film|analog(?:ue)? film|grainy film", "vintage", "Vintage film"),
    (r"high[- ]key", "high-key", "High key"),
    (r"low[- ]key|moody|dramatic dark", "low-key", "Low key"),
)
_STYLE_INTRO = re.compile(
    r"^(?:(?:make|turn|render|convert|style|restyle)(?: it| this| the photo| the image)?(?: look)?(?: like| as| into)?"
    r"|look like|like|as|into|in the style of|(?:apply|add|give it|use)(?: an?| the)?(?: style)?)?"
    r"\s*(?:an? |the )?(?:style of )?(?:an? )?"
)


def match_style(clause: str) -> list[PlanStep] | None:
    """A whole clause naming a style filter: "make it look like a pencil sketch", "cartoon", "film look"."""
    rest = _STYLE_INTRO.sub("", clause, count=1).strip()
    rest = re.sub(r"\s*(?:please|thanks|for me|now)$", "", rest).strip()
    rest = re.sub(r"\s*(?:style|effect|filter|look)$", "", rest).strip()
    rest = re.sub(r"^(?:a bit|a little|slightly|subtle|subtly|light|lightly) ", "", rest)
    for words, preset, label in _STYLE_WORDS:
        if re.fullmatch(words, rest):
            strength = 50 if SMALL_WORDS.search(clause) else 100
            text = label if strength == 100 else f"{label} at {strength}%"
            return [PlanStep(tool="style", params={"preset": preset, "strength": strength}, label=f"Style: {text}")]
    return None


def _m_sepia(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(sepia|vintage|retro|old[- ]fashioned|old photo|antique|nostalgic|faded)\b", clause):
        return [PlanStep(tool="adjust", params={"sepia": True}, label="Sepia (vintage)")]
    return None


def _m_brightness(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(darker|darken|dim|dimmer|underexpose)\b", clause):
        return _adjust("brightness", -amount(clause), "Brightness")
    if re.search(
        r"\b(brighter|brighten|lighter|lighten|bright|brightness|light(?:en)? up|exposure|too dark)\b", clause
    ):
        value = amount(clause)
        less = LESS.search(clause) and not re.search(r"\btoo dark\b", clause)
        if re.search(r"\btoo bright\b", clause):
            less = True
        return _adjust("brightness", -value if less else value, "Brightness")
    return None


def _m_contrast(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(contrast|contrasty|punch(?:ier|y)?|pop)\b", clause):
        value = amount(clause)
        if LESS.search(clause) or re.search(r"\b(flatter|flat|softer)\b", clause):
            value = -value
        return _adjust("contrast", value, "Contrast")
    return None


def _m_warmth(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(warmer|warm|warmth|golden|sunnier)\b", clause):
        value = amount(clause)
        return _adjust("warmth", -value if LESS.search(clause) else value, "Warmth")
    if re.search(r"\b(cooler|cool|colder|cold|bluer|icy)\b", clause):
        value = amount(clause)
        return _adjust("warmth", value if LESS.search(clause) else -value, "Warmth")
    return None


def _m_saturation(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(desaturate|desaturated|muted|mute|washed out|dull(?:er)?)\b", clause):
        return _adjust("saturation", -amount(clause), "Saturation")
    if re.search(
        r"\b(vivid|vibrant|saturat\w*|colou?rful|colou?rs? pop|more colou?r|richer colou?rs?|colou?rs? richer)\b",
        clause,
    ):
        value = amount(clause)
        return _adjust("saturation", -value if LESS.search(clause) else value, "Saturation")
    return None


def _m_sharpen(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(sharpen|sharper|sharp|crisp(?:er)?|crispy|more detail|clearer|less blurry|deblur)\b", clause):
        value = amount(clause, 40.0)
        return [PlanStep(tool="adjust", params={"sharpen": round(value, 1)}, label=f"Sharpen {value:.0f}")]
    return None


def _m_noise(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(noise|noisy|denoise|de-noise|grain|grainy|graininess|speckles?)\b", clause):
        value = amount(clause, 50.0)
        return [PlanStep(tool="denoise", params={"strength": round(value)}, label=f"Remove noise ({value:.0f})")]
    return None


def _m_retouch(clause: str) -> list[PlanStep] | None:
    if re.search(
        r"\b(retouch|smooth(?:er)? (?:the )?skin|skin smoothing|beautify|blemish(?:es)?|pimples?|spots|acne|"
        r"touch up|touch-up|airbrush|enhance|improve|auto[- ]?(?:fix|enhance)|"
        r"fix (?:the )?(?:photo|picture|image|colou?rs?)|look better)\b",
        clause,
    ):
        value = amount(clause, 50.0)
        return [PlanStep(tool="retouch", params={"strength": round(value)}, label=f"Retouch ({value:.0f})")]
    return None


def _m_upscale(clause: str) -> list[PlanStep] | None:
    if not re.search(
        r"\b(upscale|upscaling|upsample|enlarge|super[- ]?resolution|higher resolution|high resolution|hi-?res|"
        r"increase (?:the )?resolution|bigger|larger|(?:twice|two times|three times|four times) as (?:big|large)|"
        r"double|triple|quadruple|(?:2|3|4)x|x(?:2|3|4))\b",
        clause,
    ):
        return None
    scale = 2
    m = re.search(r"\b(?:x\s*([234])|([234])\s*(?:x|times)|by (?:a factor of )?([234]))\b", clause)
    if m:
        scale = int(next(g for g in m.groups() if g))
    else:
        for word, n in NUMBER_WORDS.items():
            if re.search(rf"\b{word}\b", clause):
                scale = n
                break
    model = "fast" if re.search(r"\b(fast|quick|quickly)\b", clause) else "quality"
    return [PlanStep(tool="upscale", params={"scale": str(scale), "model": model}, label=f"Upscale {scale}x ({model})")]


def _m_crop(clause: str) -> list[PlanStep] | None:
    if not re.search(
        r"\b(crop|square|portrait|landscape|widescreen|format|aspect|ratio|\d{1,2}:\d{1,2}|story|stories|reel)\b",
        clause,
    ):
        return None
    for key in sorted(ASPECTS, key=len, reverse=True):
        if re.search(rf"(?<![\w:]){re.escape(key)}(?![\w:])", clause):
            aspect = ASPECTS[key]
            return [PlanStep(tool="smart-crop", params={"ratio": aspect}, label=f"Crop to {aspect} around the subject")]
    return None


def _m_rotate(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(upside down|180)\b", clause) and re.search(r"\b(rotate|turn|spin|upside)\b", clause):
        return [PlanStep(tool="rotate", params={"angle": 180.0}, label="Rotate 180°")]
    if not re.search(r"\b(rotate|rotated|turn|spin)\b", clause):
        return None
    if re.search(r"\b(left|counter[- ]?clockwise|anti[- ]?clockwise|ccw|270|-90)\b", clause):
        return [PlanStep(tool="rotate", params={"angle": 90.0}, label="Rotate 90° left")]
    if re.search(r"\b(right|clockwise|cw|90|quarter)\b", clause) or re.search(r"\brotate\b", clause):
        return [PlanStep(tool="rotate", params={"angle": -90.0}, label="Rotate 90° right")]
    return None


def _m_flip(clause: str) -> list[PlanStep] | None:
    if not re.search(r"\b(flip|flipped|mirror|mirrored|reflect)\b", clause):
        return None
    if re.search(r"\b(vertical|vertically|upside down|top to bottom|up ?side)\b", clause):
        return [PlanStep(tool="flip", params={"direction": "vertical"}, label="Flip vertically")]
    return [PlanStep(tool="flip", params={"direction": "horizontal"}, label="Flip horizontally (mirror)")]


def _m_resize(clause: str) -> list[PlanStep] | None:
    m = re.search(
        r"\b(?:resize|scale|shrink|make it|reduce)\b.*?\b(\d{2,5})\s*(?:px|pixels)?\s*(wide|width|tall|high|height)\b",
        clause,
    )
    if m:
        size = int(m.group(1))
        axis = "width" if m.group(2) in {"wide", "width"} else "height"
        return [PlanStep(tool="resize", params={axis: size}, label=f"Resize to {size} px {axis}")]
    if re.search(r"\b(smaller|shrink|downscale|downsize|half (?:the )?size|reduce (?:the )?size)\b", clause):
        pct = 50
        p = PERCENT.search(clause)
        if p and 1 <= float(p.group(1)) < 100:
            pct = int(float(p.group(1)))
        return [PlanStep(tool="resize", params={"percent": pct}, label=f"Resize to {pct}%")]
    return None


# Order matters: specific intents before generic words ("black and white background" is a background).
MATCHERS: tuple[_Matcher, ...] = (
    _m_background,
    _m_bw,
    _m_sepia,
    _m_noise,
    _m_retouch,
    _m_upscale,
    _m_crop,
    _m_flip,
    _m_rotate,
    _m_resize,
    _m_sharpen,
    _m_contrast,
    _m_saturation,
    _m_warmth,
    _m_brightness,
    _m_on_color,
)

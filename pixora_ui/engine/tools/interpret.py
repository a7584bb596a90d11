"""Plain-language edits: turn a sentence into a plan of local tools, or say it needs a generative model.

Pure Python (regular expressions over a normalised sentence), well under 20 ms. The sentence is
split into clauses ("remove the background and make it square" → two clauses); every clause must
map to a local tool, otherwise the whole request goes to a generative provider, so the user never
gets half of what they asked for with a success message.

Amounts: "a bit" / "slightly" → half the default step, "much" / "a lot" / "very" → about double,
"by 30%" / "+30" → that number (tool parameters are on a -100..100 scale).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Default step of an adjustment on the -100..100 scale, and the multipliers of amount words.
_STEP = 25.0
_SMALL = 0.5
_LARGE = 2.0

_COLORS: dict[str, str] = {
    "white": "#ffffff",
    "black": "#000000",
    "grey": "#808080",
    "gray": "#808080",
    "light grey": "#d9d9d9",
    "light gray": "#d9d9d9",
    "red": "#d32f2f",
    "blue": "#1e63d6",
    "light blue": "#9fd0f5",
    "sky blue": "#87ceeb",
    "navy": "#1b2a4a",
    "green": "#2e9d4f",
    "yellow": "#f5d33b",
    "orange": "#f28c28",
    "pink": "#f4a6c1",
    "purple": "#7b4bb7",
    "beige": "#e8dcc4",
    "cream": "#f6f0e1",
    "brown": "#7a5233",
    "teal": "#1f9e9a",
}
_NUMBER_WORDS: dict[str, int] = {"two": 2, "three": 3, "four": 4, "twice": 2, "double": 2, "triple": 3, "quadruple": 4}
_ASPECTS: dict[str, str] = {
    "square": "1:1",
    "1:1": "1:1",
    "portrait": "4:5",
    "4:5": "4:5",
    "instagram": "4:5",
    "instagram story": "9:16",
    "instagram stories": "9:16",
    "3:4": "3:4",
    "2:3": "2:3",
    "landscape": "3:2",
    "3:2": "3:2",
    "4:3": "4:3",
    "16:9": "16:9",
    "widescreen": "16:9",
    "youtube": "16:9",
    "9:16": "9:16",
    "story": "9:16",
    "stories": "9:16",
    "reel": "9:16",
    "tiktok": "9:16",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanStep:
    tool: str
    params: dict[str, Any]
    label: str  # what the user sees in the plan, e.g. "Brightness +25"


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    text: str
    steps: tuple[PlanStep, ...] = ()
    needs_generative: bool = False
    reason: str = ""  # why a generative model is needed (one sentence), when needs_generative
    unknown: tuple[str, ...] = field(default=())  # clauses no local tool understood
    create: str = ""  # "create an image of X": the description of a new picture (text-to-image)

    @property
    def summary(self) -> str:
        if self.needs_generative:
            return self.reason
        return "; ".join(step.label for step in self.steps)

    @property
    def tools(self) -> list[str]:
        return [step.tool for step in self.steps]


# --- amounts -----------------------------------------------------------------------------------

_PERCENT = re.compile(r"(?:by\s+)?([+-]?\d{1,3}(?:\.\d+)?)\s*(?:%|percent|per cent|points?)")
_BY_NUMBER = re.compile(r"\bby\s+([+-]?\d{1,3})\b")
_SMALL_WORDS = re.compile(
    r"\b(a (?:little )?bit|a little|a touch|a tad|slightly|somewhat|subtly|subtle|gently|gentle|little|lightly|"
    r"mild(?:ly)?)\b"
)
_LARGE_WORDS = re.compile(
    r"\b(much|a lot|lots|very|really|way|strongly|strong|heavily|significantly|dramatically|extremely|super|far)\b"
)


def _amount(clause: str, default: float = _STEP) -> float:
    """The size of an adjustment asked for in a clause, on the -100..100 scale (always positive)."""
    m = _PERCENT.search(clause) or _BY_NUMBER.search(clause)
    if m:
        return min(100.0, abs(float(m.group(1))))
    if _SMALL_WORDS.search(clause):
        return default * _SMALL
    if _LARGE_WORDS.search(clause):
        return min(100.0, default * _LARGE)
    return default


def _signed(value: float) -> str:
    return f"{value:+.0f}"


# --- clause matchers ---------------------------------------------------------------------------
# Each returns a list of steps for the clause, or None when it does not apply.

_Matcher = Callable[[str], list[PlanStep] | None]


def _adjust(key: str, value: float, label: str) -> list[PlanStep]:
    return [PlanStep(tool="adjust", params={key: round(value, 1)}, label=f"{label} {_signed(value)}")]


_LESS = re.compile(r"\b(less|lower|reduce|decrease|tone down|turn down|dial down|not so|too)\b")


def _m_background(clause: str) -> list[PlanStep] | None:
    if not re.search(r"\b(background|backdrop|bg)\b", clause):
        if re.search(r"\b(cut ?out|cut the (?:subject|person|object) out|isolate|transparent)\b", clause):
            return [PlanStep(tool="remove-bg", params={}, label="Remove the background")]
        return None
    if re.search(r"\b(blur|blurred|blurry|bokeh|defocus|soft(?:en)?)\b", clause):
        return [PlanStep(tool="change-bg", params={"background": "blur"}, label="Blur the background")]
    for name in sorted(_COLORS, key=len, reverse=True):
        if re.search(rf"\b{name}\b", clause):
            return [
                PlanStep(
                    tool="change-bg",
                    params={"background": "color", "color": _COLORS[name]},
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
        r"\bon (?:a |an |plain |solid |pure )*(" + "|".join(sorted(_COLORS, key=len, reverse=True)) + r")\b", clause
    )
    if not m or re.search(r"\b(car|shirt|dress|hair|wall|sky)\b", clause):
        return None
    name = m.group(1)
    return [
        PlanStep(
            tool="change-bg", params={"background": "color", "color": _COLORS[name]}, label=f"Put the subject on {name}"
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


def _m_style(clause: str) -> list[PlanStep] | None:
    """A whole clause naming a style filter: "make it look like a pencil sketch", "cartoon", "film look"."""
    rest = _STYLE_INTRO.sub("", clause, count=1).strip()
    rest = re.sub(r"\s*(?:please|thanks|for me|now)$", "", rest).strip()
    rest = re.sub(r"\s*(?:style|effect|filter|look)$", "", rest).strip()
    rest = re.sub(r"^(?:a bit|a little|slightly|subtle|subtly|light|lightly) ", "", rest)
    for words, preset, label in _STYLE_WORDS:
        if re.fullmatch(words, rest):
            strength = 50 if _SMALL_WORDS.search(clause) else 100
            text = label if strength == 100 else f"{label} at {strength}%"
            return [PlanStep(tool="style", params={"preset": preset, "strength": strength}, label=f"Style: {text}")]
    return None


_CREATE = re.compile(
    r"^(?:please |can you |could you |i want |i'd like )?(?:create|generate|make|draw|paint|render|imagine|design)"
    r"(?: me| us)? (?:an? |some |\d )?(?:new )?(?:image|picture|photo|illustration|drawing|artwork|painting|render)s?"
    r" (?:of|showing|with|that shows) (.+)$"
)


def _m_sepia(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(sepia|vintage|retro|old[- ]fashioned|old photo|antique|nostalgic|faded)\b", clause):
        return [PlanStep(tool="adjust", params={"sepia": True}, label="Sepia (vintage)")]
    return None


def _m_brightness(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(darker|darken|dim|dimmer|underexpose)\b", clause):
        return _adjust("brightness", -_amount(clause), "Brightness")
    if re.search(
        r"\b(brighter|brighten|lighter|lighten|bright|brightness|light(?:en)? up|exposure|too dark)\b", clause
    ):
        value = _amount(clause)
        less = _LESS.search(clause) and not re.search(r"\btoo dark\b", clause)
        if re.search(r"\btoo bright\b", clause):
            less = True
        return _adjust("brightness", -value if less else value, "Brightness")
    return None


def _m_contrast(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(contrast|contrasty|punch(?:ier|y)?|pop)\b", clause):
        value = _amount(clause)
        if _LESS.search(clause) or re.search(r"\b(flatter|flat|softer)\b", clause):
            value = -value
        return _adjust("contrast", value, "Contrast")
    return None


def _m_warmth(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(warmer|warm|warmth|golden|sunnier)\b", clause):
        value = _amount(clause)
        return _adjust("warmth", -value if _LESS.search(clause) else value, "Warmth")
    if re.search(r"\b(cooler|cool|colder|cold|bluer|icy)\b", clause):
        value = _amount(clause)
        return _adjust("warmth", value if _LESS.search(clause) else -value, "Warmth")
    return None


def _m_saturation(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(desaturate|desaturated|muted|mute|washed out|dull(?:er)?)\b", clause):
        return _adjust("saturation", -_amount(clause), "Saturation")
    if re.search(
        r"\b(vivid|vibrant|saturat\w*|colou?rful|colou?rs? pop|more colou?r|richer colou?rs?|colou?rs? richer)\b",
        clause,
    ):
        value = _amount(clause)
        return _adjust("saturation", -value if _LESS.search(clause) else value, "Saturation")
    return None


def _m_sharpen(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(sharpen|sharper|sharp|crisp(?:er)?|crispy|more detail|clearer|less blurry|deblur)\b", clause):
        value = _amount(clause, 40.0)
        return [PlanStep(tool="adjust", params={"sharpen": round(value, 1)}, label=f"Sharpen {value:.0f}")]
    return None


def _m_noise(clause: str) -> list[PlanStep] | None:
    if re.search(r"\b(noise|noisy|denoise|de-noise|grain|grainy|graininess|speckles?)\b", clause):
        value = _amount(clause, 50.0)
        return [PlanStep(tool="denoise", params={"strength": round(value)}, label=f"Remove noise ({value:.0f})")]
    return None


def _m_retouch(clause: str) -> list[PlanStep] | None:
    if re.search(
        r"\b(retouch|smooth(?:er)? (?:the )?skin|skin smoothing|beautify|blemish(?:es)?|pimples?|spots|acne|"
        r"touch up|touch-up|airbrush|enhance|improve|auto[- ]?(?:fix|enhance)|"
        r"fix (?:the )?(?:photo|picture|image|colou?rs?)|look better)\b",
        clause,
    ):
        value = _amount(clause, 50.0)
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
        for word, n in _NUMBER_WORDS.items():
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
    for key in sorted(_ASPECTS, key=len, reverse=True):
        if re.search(rf"(?<![\w:]){re.escape(key)}(?![\w:])", clause):
            aspect = _ASPECTS[key]
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
        p = _PERCENT.search(clause)
        if p and 1 <= float(p.group(1)) < 100:
            pct = int(float(p.group(1)))
        return [PlanStep(tool="resize", params={"percent": pct}, label=f"Resize to {pct}%")]
    return None


# Order matters: specific intents before generic words ("black and white background" is a background).
_MATCHERS: tuple[_Matcher, ...] = (
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

# Words that point at content a generative model would have to invent or change.
_GENERATIVE = re.compile(
    r"\b(add|insert|put (?:a|an|some)|replace|swap|change (?:the|his|her|their|my)|make (?:the|his|her|my|their) \w+ "
    r"(?:red|blue|green|yellow|black|white|pink|purple|orange|bigger|smaller|longer|shorter)|"
    r"turn (?:it|him|her|them) into|"
    r"into a (?:painting|cartoon|sketch|drawing|anime)|"
    r"remove (?:the|a|an|this|that|those|these) "
    r"(?!background|backdrop|noise|grain|colou?rs?\b|blemish|spots|pimples)\w+|"
    r"smile|hat|sunglasses|glasses|beard|tattoo|sky|sunset|snow|rain|dog|cat|person|people|car|text|logo|watermark)\b"
)

_MODIFIER_ONLY = re.compile(r"^(?:quickly|quick|fast|please|thanks|thank you|now|asap|for me)$")
_SPLIT = re.compile(r"\s*(?:,|;|\.|\band then\b|\bthen\b|\band also\b|\balso\b|\bplus\b|\band\b|&|\+)\s*")
_NOISE_WORDS = re.compile(
    r"^(?:please|pls|can you|could you|would you|i want(?: to)?|i'd like(?: to)?|let's|make it|it|just|"
    r"the photo|the image)\s*"
)


def _normalise(text: str) -> str:
    t = text.lower().strip()
    t = t.replace("’", "'").replace("colour", "color")
    t = re.sub(r"\bblack[\s-]*(?:and|&|n)[\s-]*white\b", "bw", t)
    t = re.sub(r"\bb\s*&\s*w\b", "bw", t)
    t = re.sub(r"\bblack[\s-]*(?:and|&)[\s-]*white\b", "bw", t)
    t = re.sub(r"\s+", " ", t)
    return t


def _clauses(text: str) -> list[str]:
    parts = [p.strip() for p in _SPLIT.split(text) if p and p.strip()]
    cleaned = []
    for part in parts:
        previous = None
        while previous != part:
            previous = part
            part = _NOISE_WORDS.sub("", part).strip()
        if part:
            cleaned.append(part)
    return cleaned


def _merge(steps: list[PlanStep]) -> list[PlanStep]:
    """Join consecutive adjustments into one step so the plan reads (and runs) as one edit."""
    merged: list[PlanStep] = []
    for step in steps:
        if step.tool == "adjust" and merged and merged[-1].tool == "adjust":
            last = merged[-1]
            params = dict(last.params)
            for key, value in step.params.items():
                if isinstance(value, bool):
                    params[key] = bool(params.get(key)) or value
                elif key in params:
                    params[key] = max(-100.0, min(100.0, float(params[key]) + float(value)))
                else:
                    params[key] = value
            merged[-1] = PlanStep(tool="adjust", params=params, label=f"{last.label}, {step.label}")
            continue
        merged.append(step)
    return merged


def interpret(text: str) -> Plan:
    """Turn one sentence into a plan of local tools, or a plan that needs a generative provider."""
    original = text.strip()
    if not original:
        return Plan(text=original, needs_generative=False, reason="Describe the edit you want.", unknown=("",))
    norm = _normalise(original)
    spaced = " ".join(original.split())
    created = _CREATE.match(spaced.lower())
    if created:
        # A new picture, not an edit of this one: only a generative provider can draw it.
        return Plan(
            text=original,
            needs_generative=True,
            reason="Creating a new picture needs a generative model.",
            create=spaced[created.start(1) :].strip(" ."),
        )
    steps: list[PlanStep] = []
    unknown: list[str] = []
    for clause in _clauses(norm):
        if _MODIFIER_ONLY.match(clause):
            # "…, quickly" / "…, please": belongs to the clause before it.
            if steps and steps[-1].tool == "upscale" and re.search(r"fast|quick", clause):
                last = steps.pop()
                label = f"Upscale {last.params['scale']}x (fast)"
                steps.append(PlanStep(tool="upscale", params={**last.params, "model": "fast"}, label=label))
            continue
        # A clause that names a style filter and nothing else ("make it look like a pencil sketch").
        styled = _m_style(clause)
        if styled:
            steps.extend(styled)
            continue
        # "remove the person" and friends must not be read as a local tool by a stray keyword.
        generative = _GENERATIVE.search(clause)
        found: list[PlanStep] | None = None
        if not generative or re.search(r"\b(background|backdrop)\b", clause):
            for matcher in _MATCHERS:
                found = matcher(clause)
                if found:
                    break
        if found:
            steps.extend(found)
        else:
            unknown.append(clause)
    if unknown:
        what = "; ".join(f"“{u}”" for u in unknown)
        return Plan(
            text=original,
            steps=tuple(_merge(steps)),
            needs_generative=True,
            reason=f"The local tools cannot do {what}: that needs a generative model.",
            unknown=tuple(unknown),
        )
    return Plan(text=original, steps=tuple(_merge(steps)))

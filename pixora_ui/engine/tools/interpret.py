"""Plain-language edits: turn a sentence into a plan of local tools, or say it needs a generative model.

Pure Python (regular expressions over a normalised sentence), well under 20 ms. The sentence is
split into clauses ("remove the background and make it square" → two clauses); every clause must
map to a local tool, otherwise the whole request goes to a generative provider, so the user never
gets half of what they asked for with a success message.

The words live in `interpret_words.py`, one matcher per tool in `interpret_clauses.py`; this
module splits the sentence, asks the matchers, and decides between local tools and a generative
model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pixora_ui.engine.tools.interpret_clauses import MATCHERS, PlanStep, match_style


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


_CREATE = re.compile(
    r"^(?:please |can you |could you |i want |i'd like )?(?:create|generate|make|draw|paint|render|imagine|design)"
    r"(?: me| us)? (?:an? |some |\d )?(?:new )?(?:image|picture|photo|illustration|drawing|artwork|painting|render)s?"
    r" (?:of|showing|with|that shows) (.+)$"
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
        styled = match_style(clause)
        if styled:
            steps.extend(styled)
            continue
        # "remove the person" and friends must not be read as a local tool by a stray keyword.
        generative = _GENERATIVE.search(clause)
        found: list[PlanStep] | None = None
        if not generative or re.search(r"\b(background|backdrop)\b", clause):
            for matcher in MATCHERS:
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

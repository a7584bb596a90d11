"""The vocabulary of plain-language edits: colour names, aspect ratios, and how big "a bit" is.

Amounts: "a bit" / "slightly" → half the default step, "much" / "a lot" / "very" → about double,
"by 30%" / "+30" → that number (tool parameters are on a -100..100 scale).
"""

from __future__ import annotations

import re

# Default step of an adjustment on the -100..100 scale, and the multipliers of amount words.
STEP = 25.0
SMALL = 0.5
LARGE = 2.0

COLORS: dict[str, str] = {
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
NUMBER_WORDS: dict[str, int] = {"two": 2, "three": 3, "four": 4, "twice": 2, "double": 2, "triple": 3, "quadruple": 4}
ASPECTS: dict[str, str] = {
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

PERCENT = re.compile(r"(?:by\s+)?([+-]?\d{1,3}(?:\.\d+)?)\s*(?:%|percent|per cent|points?)")
BY_NUMBER = re.compile(r"\bby\s+([+-]?\d{1,3})\b")
SMALL_WORDS = re.compile(
    r"\b(a (?:little )?bit|a little|a touch|a tad|slightly|somewhat|subtly|subtle|gently|gentle|little|lightly|"
    r"mild(?:ly)?)\b"
)
LARGE_WORDS = re.compile(
    r"\b(much|a lot|lots|very|really|way|strongly|strong|heavily|significantly|dramatically|extremely|super|far)\b"
)


def amount(clause: str, default: float = STEP) -> float:
    """The size of an adjustment asked for in a clause, on the -100..100 scale (always positive)."""
    m = PERCENT.search(clause) or BY_NUMBER.search(clause)
    if m:
        return min(100.0, abs(float(m.group(1))))
    if SMALL_WORDS.search(clause):
        return default * SMALL
    if LARGE_WORDS.search(clause):
        return min(100.0, default * LARGE)
    return default


def signed(value: float) -> str:
    return f"{value:+.0f}"


# Words that turn an adjustment around: "less contrast", "too bright".
LESS = re.compile(r"\b(less|lower|reduce|decrease|tone down|turn down|dial down|not so|too)\b")

"""The choices of text-to-image (`generate`), with no imports: the command line builds its help from
them without loading the engine."""

from __future__ import annotations

ASPECTS: tuple[str, ...] = ("1:1", "4:3", "3:4", "16:9", "9:16")
MAX_COUNT = 4

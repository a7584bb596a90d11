"""`main.py generate "PROMPT" [--aspect 16:9] [--count N] [--provider gemini] -o OUT`: text-to-image from
the command line, through the configured generative provider (no account, no credits: like `edit`)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pixora_ui.engine.tools.create_options import ASPECTS, MAX_COUNT

if TYPE_CHECKING:
    from pixora_ui.engine.tools.registry import ImageArray
    from pixora_ui.settings import Settings

HELP = "create pictures from a description (needs Gemini or ImageKit)"
_IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def add_arguments(generate: argparse.ArgumentParser) -> None:
    generate.add_argument("prompt", help='what to draw, e.g. "a red bicycle on a beach"')
    generate.add_argument("--aspect", choices=ASPECTS, default="1:1", help="shape of the picture (default 1:1)")
    generate.add_argument("--count", type=int, default=1, help=f"how many pictures, 1 to {MAX_COUNT} (default 1)")
    generate.add_argument("--provider", choices=("gemini", "imagekit"), help="default: the first configured")
    generate.add_argument("-o", "--output", required=True, help="output file (one picture) or folder")


def _targets(output: Path, prompt: str, count: int) -> list[tuple[Path, str]]:
    suffix = output.suffix.lower()
    if count == 1 and suffix in _IMAGE_SUFFIXES:
        return [(output, _IMAGE_SUFFIXES[suffix])]
    stem = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:50] or "picture"
    return [(output / f"{stem}-{i + 1}.png", "png") for i in range(count)]


async def _generate(prompt: str, aspect: str, provider_name: str | None) -> ImageArray:
    import numpy as np

    from pixora_ui.engine.tools.create import GENERATE_TOOL
    from pixora_ui.engine.tools.registry import never_cancelled, no_progress
    from pixora_ui.providers import router
    from pixora_ui.providers.base import ProviderRequest

    provider = router.choose(GENERATE_TOOL, provider_name)
    request = ProviderRequest(
        tool=GENERATE_TOOL,
        image=np.zeros((0, 0, 3), dtype=np.uint8),
        source_bytes=b"",
        source_mime="",
        params={"prompt": prompt, "aspect": aspect},
        progress=no_progress,
        cancelled=never_cancelled,
    )
    result = await provider.run(request)
    return result.image


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pixora_ui.engine.ops import imageio
    from pixora_ui.engine.tools.registry import ToolError

    prompt = " ".join(str(args.prompt).split())
    if not prompt:
        print("error: describe the picture to create", file=sys.stderr)
        return 2
    if not 1 <= args.count <= MAX_COUNT:
        print(f"error: --count must be 1 to {MAX_COUNT}", file=sys.stderr)
        return 2
    targets = _targets(Path(args.output), prompt, args.count)
    failed = 0
    for path, fmt in targets:
        try:
            image = asyncio.run(_generate(prompt, args.aspect, args.provider))
        except ToolError as exc:
            message = str(exc)
            if "No configured provider" in message or "not configured" in message:
                message = "creating pictures needs GEMINI_API_KEY or ImageKit keys (see README, Configuration)"
            print(f"error: {message}", file=sys.stderr)
            failed += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        data = imageio.encode(image, fmt)  # type: ignore[arg-type]
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
        print(f"{path} ({prompt})", file=sys.stderr)
    return 1 if failed else 0

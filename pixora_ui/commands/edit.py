"""`main.py edit PHOTOS... --tool TOOL [--param k=v ...] -o OUT`: run a tool over photos."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "run a tool on photos, folders or globs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="PHOTO", help="files, folders or glob patterns")
    parser.add_argument("--tool", required=True, help="tool name, e.g. remove-bg, upscale, prompt")
    parser.add_argument("--mode", help="shortcut for --param mode=VALUE")
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help="a tool parameter (repeatable)")
    parser.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    parser.add_argument("--format", choices=("png", "jpeg", "webp"), help="output format (default: by tool)")
    parser.add_argument("--skip-existing", action="store_true", help="skip inputs whose output exists")
    parser.add_argument("--list-tools", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pixora_ui.batch import run_batch

    params = list(args.param)
    if args.mode:
        params.append(f"mode={args.mode}")
    exit_code: int = run_batch(
        inputs=args.inputs,
        tool=args.tool,
        raw_params=params,
        output=Path(args.output),
        output_format=args.format,
        skip_existing=args.skip_existing,
    )
    return exit_code

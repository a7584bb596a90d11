"""`main.py bench [OPTIONS]`: benchmark the local tools (options: `main.py bench --help`).

`main.py bench --quality [--tiny] [--sheets DIR]` measures output quality instead of speed
(`pixora_ui/bench/quality.py`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "benchmark the local tools and print a table"
PASS_THROUGH = True  # `main.py bench --repeats 5`: the benchmark parses its own options
ADD_HELP = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the benchmark")


def run(args: argparse.Namespace, settings: Settings) -> int:
    rest = list(args.rest)
    if "--quality" in rest:
        from pixora_ui.bench.quality import main as quality_main

        rest.remove("--quality")
        quality: int = quality_main(rest)
        return quality
    from pixora_ui.bench.runner import main as bench_main

    exit_code: int = bench_main(list(args.rest))
    return exit_code

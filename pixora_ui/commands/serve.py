"""`main.py serve [--host H] [--port P]`: run the studio."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "start the studio (http://localhost:8080 by default)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (default: HOST or 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORT or 8080)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pixora_ui.server import run_server

    run_server(settings, host=args.host, port=args.port)
    return 0

"""The command line behind `main.py`: one module per command in `pixora_ui/commands/`.

The parser is built from every command module (they import only argparse at the top); the chosen
command's `run` then imports what that command needs, so `main.py edit` loads the engine and
nothing of the web server.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from pixora_ui.errors import PixoraError
from pixora_ui.settings import SettingsError, get_settings

# `main.py <name>` runs pixora_ui.commands.<name> (dashes become underscores); --help lists them in this order.
COMMANDS: tuple[str, ...] = ("serve", "worker", "migrate", "models", "edit", "generate", "admin", "bench")


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"pixora_ui.commands.{name.replace('-', '_')}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Pixora, the self-hosted AI image studio.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name in COMMANDS:
        module = command_module(name)
        sub = commands.add_parser(name, help=module.HELP, add_help=getattr(module, "ADD_HELP", True))
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str], *, run_server: Callable[..., None] | None = None) -> int:
    """Run one command; returns the exit status. `run_server` replaces the real server (tests)."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    module = command_module(args.command)
    if getattr(module, "PASS_THROUGH", False):
        args.rest = [*extra, *args.rest]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve" and run_server is not None:
        run_server(settings, host=args.host, port=args.port)
        return 0
    try:
        exit_code: int = module.run(args, settings)
    except PixoraError as exc:  # the command line's one translation: the message, exit status 1
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return exit_code

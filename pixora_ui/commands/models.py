"""`main.py models install [NAMES...]` and `main.py models list`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "install or list the local AI models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")
    actions.required = True
    install = actions.add_parser("install", help="fetch, verify and install the model weights")
    install.add_argument("names", nargs="*", help="only these models (default: all)")
    actions.add_parser("list", help="show each model's name, size, license and status")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.models_command == "list":
        return _list(settings)
    from pixora_ui.engine.installer import install_models

    install_models(settings.models_dir, names=args.names or None, progress=print)  # InstallError: see pixora_ui.cli
    return 0


def _list(settings: Settings) -> int:
    from pixora_ui.engine.models import model_statuses

    print(f"{'name':<22} {'size':>9}  {'status':<13} {'license':<16} used by")
    for status in model_statuses(settings.models_dir):
        size = f"{status.size / 1e6:.1f} MB" if status.size else "-"
        state = "installed" if status.installed else "not installed"
        print(f"{status.name:<22} {size:>9}  {state:<13} {status.license.split(' ')[0]:<16} {status.used_by}")
    return 0

"""`main.py models install [NAMES...]` and `main.py models list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "install or list the local AI models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")
    actions.required = True
    install = actions.add_parser("install", help="fetch, verify and install the model weights")
    install.add_argument("names", nargs="*", help="only these models (default: all)")
    install.add_argument(
        "--file",
        type=Path,
        help="with the name inpaint: a LaMa or MI-GAN ONNX file you downloaded (checked, then copied in)",
    )
    actions.add_parser("list", help="show each model's name, size, license and status")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.models_command == "list":
        return _list(settings)
    from pixora_ui.engine.models.installer import install_inpaint_file, install_models

    wants_inpaint = "inpaint" in args.names
    if wants_inpaint != (args.file is not None) or (wants_inpaint and len(args.names) > 1):
        print("error: install the inpainting model on its own: models install inpaint --file PATH", file=sys.stderr)
        return 2
    # InstallError: see pixora_ui.cli
    if args.file is not None:
        install_inpaint_file(settings.models_dir, args.file, progress=print)
    else:
        install_models(settings.models_dir, names=args.names or None, progress=print)
    return 0


def _list(settings: Settings) -> int:
    from pixora_ui.engine.models.weights import model_statuses

    print(f"{'name':<22} {'size':>9}  {'status':<13} {'license':<16} used by")
    for status in model_statuses(settings.models_dir):
        size = f"{status.size / 1e6:.1f} MB" if status.size else "-"
        state = "installed" if status.installed else "not installed"
        print(f"{status.name:<22} {size:>9}  {state:<13} {status.license.split(' ')[0]:<16} {status.used_by}")
    _list_inpaint(settings)
    return 0


def _list_inpaint(settings: Settings) -> None:
    """The inpainting model an operator may bring (LaMa or MI-GAN, `install inpaint --file`)."""
    from pixora_ui.engine.models import learned_inpaint

    record = learned_inpaint.read_record(settings.models_dir)
    path = settings.models_dir / learned_inpaint.MODEL_FILENAME
    size = f"{path.stat().st_size / 1e6:.1f} MB" if record else "-"
    state = f"installed ({record['kind']})" if record else "not installed"
    print(f"{'inpaint':<22} {size:>9}  {state:<13} {'yours':<16} magic erase, expand canvas (--file PATH)")

"""`main.py migrate`: upgrade the database to the newest schema."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "upgrade the database to the newest schema"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace, settings: Settings) -> int:
    from db.migrate import upgrade

    applied = upgrade(settings)
    print("Database migrated to the newest schema." if applied else "Database schema is up to date.")
    return 0

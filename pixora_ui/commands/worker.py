"""`main.py worker [--queues cpu,gpu,remote] [--name NAME]`: a Celery worker for a shared queue.

It needs QUEUE_URL, and the database and storage the web instances use.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "run a Celery worker (needs QUEUE_URL, the database and storage)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queues", default="cpu,gpu,remote", help="kinds of jobs to take: cpu, gpu, remote (default: all)"
    )
    parser.add_argument("--name", help="worker name shown in logs (default: random@host)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pixora_ui.logs import configure_logging
    from pixora_ui.workers import celery_worker

    configure_logging(settings)
    try:
        kinds = celery_worker.parse_queues(args.queues)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    exit_code: int = celery_worker.main(kinds, name=args.name)
    return exit_code

"""`main.py admin ACTION ...`: operator tasks (create users, set plans).

Each action is one `_add_<action>` parser function and one `_<action>` handler in `ACTIONS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixora_ui.settings import Settings

HELP = "operator tasks: create users, set plans, make API keys, list, retry or cancel jobs"


def _add_create_user(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = actions.add_parser("create-user", help="create a user with a password")
    create.add_argument("email")
    create.add_argument("--password", help="at least 10 characters (asked for when omitted)")
    create.add_argument("--name", default="")
    create.add_argument("--plan", default="free", choices=("free", "pro", "team"))
    create.add_argument("--admin", action="store_true", help="make the user an administrator")


def _create_user(args: argparse.Namespace) -> None:
    import asyncio

    from pixora_ui.commands import admin_tasks as admin

    password = args.password
    if not password:
        import getpass

        password = getpass.getpass("Password (at least 10 characters): ")
    asyncio.run(
        admin.create_user(email=args.email, password=password, name=args.name, plan=args.plan, is_admin=args.admin)
    )
    print(f"Created {args.email.strip().lower()} on the {args.plan} plan.")


def _add_set_plan(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    set_plan = actions.add_parser("set-plan", help="change a user's plan (free, pro, team)")
    set_plan.add_argument("email")
    set_plan.add_argument("plan", choices=("free", "pro", "team"))


def _set_plan(args: argparse.Namespace) -> None:
    import asyncio

    from pixora_ui.commands import admin_tasks as admin

    asyncio.run(admin.set_plan(email=args.email, plan=args.plan))
    print(f"{args.email.strip().lower()} is now on the {args.plan} plan.")


def _add_create_api_key(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api_key = actions.add_parser("create-api-key", help="make an API key for a user and print it once")
    api_key.add_argument("email")
    api_key.add_argument("--name", default="Command line", help="a name to tell the key apart (default: Command line)")


def _create_api_key(args: argparse.Namespace) -> None:
    import asyncio

    from pixora_ui.commands import admin_tasks as admin

    secret = asyncio.run(admin.create_api_key(email=args.email, name=args.name))
    print(secret)
    print("Keep this key safe: it is shown only this once.", file=sys.stderr)


def _add_jobs(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin_jobs = actions.add_parser("jobs", help="list, retry or cancel jobs")
    jobs_sub = admin_jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    jobs_sub.required = True
    jobs_list = jobs_sub.add_parser("list", help="the newest jobs, all users")
    jobs_list.add_argument("--status", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    jobs_list.add_argument("--limit", type=int, default=50)
    jobs_retry = jobs_sub.add_parser("retry", help="submit a failed or cancelled job again (as a new job)")
    jobs_retry.add_argument("job_id")
    jobs_cancel = jobs_sub.add_parser("cancel", help="cancel a queued or running job (credit refunded)")
    jobs_cancel.add_argument("job_id")


def _jobs(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_admin_jobs(args))


async def _admin_jobs(args: argparse.Namespace) -> int:
    from db.session import dispose_engine
    from pixora_ui.services import job_admin

    try:
        if args.jobs_command == "list":
            rows = await job_admin.list_jobs(status=args.status, limit=args.limit)
            print(
                f"{'job':<32} {'user':>6} {'tool':<16} {'status':<10} {'prog':>5} {'created (UTC)':<19} worker / error"
            )
            for row in rows:
                detail = row.error or row.worker_id or ""
                created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
                print(
                    f"{row.id:<32} {row.user_id:>6} {row.tool:<16} {row.status:<10} {row.progress:>5.0%} "
                    f"{created:<19} {detail[:60]}"
                )
        elif args.jobs_command == "retry":
            view = await job_admin.retry(args.job_id)
            print(f"Queued {view.id} ({view.tool}) again for user {view.user_id}.")
        else:
            view = await job_admin.cancel(args.job_id)
            print(f"Job {view.id}: {view.status} ({view.message}).")
    finally:
        await dispose_engine()
    return 0


ParserAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
# A handler may return an exit status; None means success.
ACTIONS: dict[str, tuple[ParserAdder, Callable[[argparse.Namespace], int | None]]] = {
    "create-user": (_add_create_user, _create_user),
    "set-plan": (_add_set_plan, _set_plan),
    "create-api-key": (_add_create_api_key, _create_api_key),
    "jobs": (_add_jobs, _jobs),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="admin_command", metavar="ACTION")
    actions.required = True
    for add_parser, _handler in ACTIONS.values():
        add_parser(actions)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pixora_ui.logs import configure_logging

    configure_logging(settings)
    status = ACTIONS[args.admin_command][1](args)  # an AdminError is printed by the CLI (pixora_ui.cli)
    return status or 0

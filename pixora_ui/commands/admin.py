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

HELP = "operator tasks: create users, set plans, make API keys"


def _add_create_user(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = actions.add_parser("create-user", help="create a user with a password")
    create.add_argument("email")
    create.add_argument("--password", help="at least 10 characters (asked for when omitted)")
    create.add_argument("--name", default="")
    create.add_argument("--plan", default="free", choices=("free", "pro", "team"))
    create.add_argument("--admin", action="store_true", help="make the user an administrator")


def _create_user(args: argparse.Namespace) -> None:
    import asyncio

    from pixora_ui.auth import admin

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

    from pixora_ui.auth import admin

    asyncio.run(admin.set_plan(email=args.email, plan=args.plan))
    print(f"{args.email.strip().lower()} is now on the {args.plan} plan.")


def _add_create_api_key(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api_key = actions.add_parser("create-api-key", help="make an API key for a user and print it once")
    api_key.add_argument("email")
    api_key.add_argument("--name", default="Command line", help="a name to tell the key apart (default: Command line)")


def _create_api_key(args: argparse.Namespace) -> None:
    import asyncio

    from pixora_ui.auth import admin

    secret = asyncio.run(admin.create_api_key(email=args.email, name=args.name))
    print(secret)
    print("Keep this key safe: it is shown only this once.", file=sys.stderr)


ParserAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
ACTIONS: dict[str, tuple[ParserAdder, Callable[[argparse.Namespace], None]]] = {
    "create-user": (_add_create_user, _create_user),
    "set-plan": (_add_set_plan, _set_plan),
    "create-api-key": (_add_create_api_key, _create_api_key),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="admin_command", metavar="ACTION")
    actions.required = True
    for add_parser, _handler in ACTIONS.values():
        add_parser(actions)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pixora_ui.auth import admin
    from pixora_ui.logs import configure_logging

    configure_logging(settings)
    try:
        ACTIONS[args.admin_command][1](args)
    except admin.AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0

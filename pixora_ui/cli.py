"""The command line behind `main.py`: serve, worker, migrate, models, edit, admin, bench."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pixora_ui.settings import Settings, SettingsError, get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Pixora, the self-hosted AI image studio.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    serve = commands.add_parser("serve", help="start the studio (http://localhost:8080 by default)")
    serve.add_argument("--host", help="interface to listen on (default: HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT or 8080)")

    worker = commands.add_parser("worker", help="run a Celery worker (needs QUEUE_URL, the database and storage)")
    worker.add_argument(
        "--queues", default="cpu,gpu,remote", help="kinds of jobs to take: cpu, gpu, remote (default: all)"
    )
    worker.add_argument("--name", help="worker name shown in logs (default: random@host)")

    commands.add_parser("migrate", help="upgrade the database to the newest schema")

    models = commands.add_parser("models", help="install or list the local AI models")
    models_sub = models.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.required = True
    install = models_sub.add_parser("install", help="fetch, verify and install the model weights")
    install.add_argument("names", nargs="*", help="only these models (default: all)")
    models_sub.add_parser("list", help="show each model's name, size, license and status")

    edit = commands.add_parser("edit", help="run a tool on photos, folders or globs")
    edit.add_argument("inputs", nargs="+", metavar="PHOTO", help="files, folders or glob patterns")
    edit.add_argument("--tool", required=True, help="tool name, e.g. remove-bg, upscale, prompt")
    edit.add_argument("--mode", help="shortcut for --param mode=VALUE")
    edit.add_argument("--param", action="append", default=[], metavar="K=V", help="a tool parameter (repeatable)")
    edit.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    edit.add_argument("--format", choices=("png", "jpeg", "webp"), help="output format (default: by tool)")
    edit.add_argument("--skip-existing", action="store_true", help="skip inputs whose output exists")
    edit.add_argument("--list-tools", action="store_true", help=argparse.SUPPRESS)

    admin = commands.add_parser("admin", help="operator tasks: create users, set plans")
    admin_sub = admin.add_subparsers(dest="admin_command", metavar="ACTION")
    admin_sub.required = True
    create = admin_sub.add_parser("create-user", help="create a user with a password")
    create.add_argument("email")
    create.add_argument("--password", help="at least 10 characters (asked for when omitted)")
    create.add_argument("--name", default="")
    create.add_argument("--plan", default="free", choices=("free", "pro", "team"))
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    set_plan = admin_sub.add_parser("set-plan", help="change a user's plan (free, pro, team)")
    set_plan.add_argument("email")
    set_plan.add_argument("plan", choices=("free", "pro", "team"))
    admin_jobs = admin_sub.add_parser("jobs", help="list, retry or cancel jobs")
    jobs_sub = admin_jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    jobs_sub.required = True
    jobs_list = jobs_sub.add_parser("list", help="the newest jobs, all users")
    jobs_list.add_argument("--status", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    jobs_list.add_argument("--limit", type=int, default=50)
    jobs_retry = jobs_sub.add_parser("retry", help="submit a failed or cancelled job again (as a new job)")
    jobs_retry.add_argument("job_id")
    jobs_cancel = jobs_sub.add_parser("cancel", help="cancel a queued or running job (credit refunded)")
    jobs_cancel.add_argument("job_id")

    bench = commands.add_parser("bench", help="benchmark the local tools and print a table", add_help=False)
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the benchmark")
    return parser


def _cmd_migrate(settings: Settings) -> int:
    from db.migrate import upgrade

    applied = upgrade(settings)
    print("Database migrated to the newest schema." if applied else "Database schema is up to date.")
    return 0


def _cmd_models(settings: Settings, args: argparse.Namespace) -> int:
    from pixora_ui.engine.models import model_statuses

    if args.models_command == "list":
        print(f"{'name':<22} {'size':>9}  {'status':<13} {'license':<16} used by")
        for status in model_statuses(settings.models_dir):
            size = f"{status.size / 1e6:.1f} MB" if status.size else "-"
            state = "installed" if status.installed else "not installed"
            print(f"{status.name:<22} {size:>9}  {state:<13} {status.license.split(' ')[0]:<16} {status.used_by}")
        return 0
    from pixora_ui.engine.installer import InstallError, install_models

    try:
        install_models(settings.models_dir, names=args.names or None, progress=print)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_edit(args: argparse.Namespace) -> int:
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


async def _admin_jobs(args: argparse.Namespace) -> int:
    from db.session import dispose_engine
    from pixora_ui.services import job_admin, jobs

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
    except (jobs.JobError, jobs.ToolError, jobs.AssetNotFound, jobs.LimitReached) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await dispose_engine()
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from pixora_ui.workers import celery_worker

    try:
        kinds = celery_worker.parse_queues(args.queues)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return celery_worker.main(kinds, name=args.name)


def _cmd_admin(args: argparse.Namespace) -> int:
    from pixora_ui.auth import admin

    if args.admin_command == "jobs":
        return asyncio.run(_admin_jobs(args))
    try:
        if args.admin_command == "create-user":
            password = args.password
            if not password:
                import getpass

                password = getpass.getpass("Password (at least 10 characters): ")
            asyncio.run(
                admin.create_user(
                    email=args.email, password=password, name=args.name, plan=args.plan, is_admin=args.admin
                )
            )
            print(f"Created {args.email.strip().lower()} on the {args.plan} plan.")
        else:
            asyncio.run(admin.set_plan(email=args.email, plan=args.plan))
            print(f"{args.email.strip().lower()} is now on the {args.plan} plan.")
    except admin.AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str], *, run_server: Callable[..., None]) -> int:
    parser = _parser()
    # The benchmark takes its own options (`main.py bench --repeats 5`); every other command is strict.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        run_server(settings, host=args.host, port=args.port)
        return 0
    if args.command == "worker":
        from pixora_ui.logs import configure_logging

        configure_logging(settings)
        return _cmd_worker(args)
    if args.command == "migrate":
        return _cmd_migrate(settings)
    if args.command == "models":
        return _cmd_models(settings, args)
    if args.command == "edit":
        return _cmd_edit(args)
    if args.command == "admin":
        from pixora_ui.logs import configure_logging

        configure_logging(settings)
        return _cmd_admin(args)
    from pixora_ui.bench import main as bench_main

    bench_exit: int = bench_main([*extra, *args.rest])
    return bench_exit

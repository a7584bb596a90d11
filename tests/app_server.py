"""`main.py serve` in a subprocess: the one way the browser and start-up tests run the real app."""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, url: str, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without pytest's and NiceGUI's markers (they switch main.py into
    NiceGUI's simulated-user mode), pointed at `data_dir` and `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.update({"BASE_URL": url, "DATA_DIR": str(data_dir), "LOG_LEVEL": "INFO", **(extra_env or {})})
    return env


def launch(
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    log: IO[bytes],
    cwd: Path = REPO,
    script: Path | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `main.py serve` on `port` (default: a free one) without waiting; (process, base URL)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(script or REPO / "main.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=cwd, env=server_env(data_dir, url, extra_env), stdout=log, stderr=subprocess.STDOUT
    )
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def failure_screenshot(page: Any, path: Path) -> Iterator[None]:
    """Save what a Playwright page showed when the block failed, then let the failure through."""
    try:
        yield
    except BaseException:
        with suppress(Exception):  # a dead browser must not hide the real failure
            page.screenshot(path=str(path))
        raise


LOG_TAIL_CHARS = 6000
# The logs of the apps serving right now: a failed test's report shows their tail (tests/conftest.py).
RUNNING_LOGS: list[Path] = []


def log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
    except OSError as exc:
        return f"(unreadable: {exc})"


@contextmanager
def serve_app(
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    cwd: Path = REPO,
    script: Path | None = None,
    log_path: Path | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Start the app, wait until /healthz answers below 500, yield its base URL; stop it on the way
    out. A failed start raises with the server's log."""
    log_path = log_path or data_dir.parent / "app.log"
    with log_path.open("wb") as log:
        process, url = launch(data_dir, extra_env, log=log, cwd=cwd, script=script, port=port)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start:\n" + log_path.read_text(errors="replace"))
                time.sleep(0.1)
            RUNNING_LOGS.append(log_path)
            yield url
        finally:
            with suppress(ValueError):
                RUNNING_LOGS.remove(log_path)
            stop(process)


def mailed_link(data_dir: Path, path: str = "/verify-email", timeout_s: float = 30.0) -> str:
    """The path of the newest link to `path` in the server's outbox, once the mail is written."""
    pattern = re.compile("(" + re.escape(path) + r"\?token=[A-Za-z0-9._%\-]+)")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for mail in sorted((data_dir / "outbox").glob("*.eml"), reverse=True):
            body = email.message_from_bytes(mail.read_bytes()).get_payload(decode=True)
            found = pattern.search(body.decode() if isinstance(body, bytes) else "")
            if found:
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail with a {path} link in the outbox")

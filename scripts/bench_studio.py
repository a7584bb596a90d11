"""Studio benchmark: page load, 12 MP upload to preview, tool feedback, websocket message sizes, and N users.

Starts `main.py serve` on a free port with a throw-away data folder, creates users and photos directly
through the services (same database), then drives headless Chromium (Playwright, /usr/bin/chromium):

    .venv/bin/python scripts/bench_studio.py [--users 20] [--rounds 10] [--server main.py]

Numbers on a shared 2-core machine are noisy: read them as an upper bound.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import socketio
from PIL import Image
from playwright.async_api import async_playwright
from skimage import data

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the app's packages are at the repository root

from db.session import session_scope  # noqa: E402
from pixora_ui.auth import passwords  # noqa: E402
from pixora_ui.auth.accounts import create_password_user  # noqa: E402
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session  # noqa: E402
from pixora_ui.services import assets  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
LOADED = (
    "() => { const i = document.querySelector('[data-testid=canvas-after]');"
    " return !!(i && i.complete && i.naturalWidth > 0); }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def photo_12mp() -> bytes:
    image = Image.fromarray(data.astronaut()).resize((4240, 2832), Image.Resampling.BICUBIC)
    noise = np.random.default_rng(1).integers(0, 12, (2832, 4240, 3), dtype=np.uint8)
    image = Image.fromarray(np.asarray(image) + noise)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


async def prepare_users(count: int) -> list[str]:
    """Users with one small photo each; returns their session tokens."""
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    password_hash = await passwords.hash_password("bench password 123")
    tokens = []
    for index in range(count):
        async with session_scope() as session:
            user = await create_password_user(
                session,
                email=f"bench{index}@example.com",
                password_hash=password_hash,
                name=f"Bench {index}",
                plan="pro",
            )
            for name in ("astronaut.png", "second.png"):
                await assets.upload(session, owner_id=user.id, data=buffer.getvalue(), filename=name)
            tokens.append(await create_session(session, user_id=user.id))
    return tokens


class SimulatedUser:
    """A studio visitor without a browser: loads the page over HTTP, speaks NiceGUI's socket.io protocol,
    clicks elements by their data-testid and times each click until the server's answer arrives."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.elements: dict[str, dict[str, Any]] = {}
        self.answer = asyncio.Event()
        self.largest = 0

    def _merge(self, data: dict[str, Any]) -> None:
        for key, element in data.items():
            if key.isdigit() and isinstance(element, dict):
                self.elements[key] = element

    async def start(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as http:
            page = await http.get("/studio", cookies={SESSION_COOKIE: self.token})
        html = page.text
        raw = re.search(r"parseElements\(String\.raw`(.*?)`\)", html, re.S)
        query = re.search(r"query: (\{.*?\}),\n", html)
        assert raw and query, "unexpected page"
        text = raw.group(1)
        for entity, char in (("&#36;", "$"), ("&#96;", "`"), ("&gt;", ">"), ("&lt;", "<"), ("&amp;", "&")):
            text = text.replace(entity, char)
        self._merge(json.loads(text))
        params = ast.literal_eval(query.group(1).replace("true", "True").replace("false", "False"))
        params.update(document_id=uuid.uuid4().hex, tab_id=uuid.uuid4().hex)
        self.client_id = params["client_id"]
        self.sio = socketio.AsyncClient(reconnection=False)

        @self.sio.on("*")
        async def any_message(event: str, data: Any = None) -> None:
            if os.environ.get("BENCH_DEBUG"):
                print("<-", event, str(data)[:120], flush=True)
            self.largest = max(self.largest, len(json.dumps(data)) if data is not None else 0)
            if event == "update" and isinstance(data, dict):
                self._merge(data)
            self.answer.set()

        query_string = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
        await self.sio.connect(
            f"{self.base}?{query_string}", socketio_path="/_nicegui_ws/socket.io", transports=["websocket"]
        )

    def find(self, testid: str) -> tuple[str, str] | None:
        for key, element in self.elements.items():
            if element.get("props", {}).get("data-testid") == testid:
                for event in element.get("events", []):
                    if event.get("type") == "click":
                        return key, event["listener_id"]
        return None

    async def wait_for(self, testid: str, limit_s: float = 30) -> tuple[str, str]:
        deadline = time.monotonic() + limit_s
        while (found := self.find(testid)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(testid)
            self.answer.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self.answer.wait()
        return found

    async def click(self, testid: str) -> float:
        element_id, listener_id = await self.wait_for(testid)
        self.answer.clear()
        started = time.perf_counter()
        if os.environ.get("BENCH_DEBUG"):
            print("->", testid, element_id, listener_id, flush=True)
        await self.sio.emit(
            "event", {"id": int(element_id), "client_id": self.client_id, "listener_id": listener_id, "args": []}
        )
        await asyncio.wait_for(self.answer.wait(), 30)
        return time.perf_counter() - started

    async def stop(self) -> None:
        await self.sio.disconnect()


async def run_simulated(base: str, tokens: list[str], rounds: int, stagger: float) -> dict[str, float]:
    """N users without browsers clicking non-AI studio actions at the same time (server cost only)."""
    users = [SimulatedUser(base, t) for t in tokens]
    timings: list[float] = []
    by_action: dict[str, list[float]] = {}
    arrived = asyncio.Barrier(len(users))

    async def visit(index: int, user: SimulatedUser) -> None:
        await asyncio.sleep(index * stagger)
        await user.start()
        await user.wait_for("photo-1")
        await arrived.wait()  # measure the steady state: everybody is in the studio
        for _ in range(rounds):
            # Each needs the server: open another photo (database + updates), zoom (a method call), rename dialog.
            for testid in ("photo-1", "zoom-in", "zoom-fit", "rename", "rename-cancel", "photo-0"):
                elapsed = await user.click(testid)
                timings.append(elapsed)
                by_action.setdefault(testid.split("-")[0], []).append(elapsed)
                await asyncio.sleep(0.3)  # a person needs a moment between clicks

    await asyncio.gather(*(visit(i, u) for i, u in enumerate(users)))
    for user in users:
        await user.stop()
    return {
        "sim_users": len(users),
        "sim_interactions": len(timings),
        "sim_interaction_p50_ms": percentile(timings, 50) * 1000,
        "sim_interaction_p95_ms": percentile(timings, 95) * 1000,
        "sim_largest_message_kb": max(u.largest for u in users) / 1024,
        **{f"sim_p95_{name}_ms": percentile(values, 95) * 1000 for name, values in by_action.items()},
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, float]:
    base = args.base
    tokens = await prepare_users(args.users + 1)
    results: dict[str, float] = {}
    if args.mode == "simulated":
        return await run_simulated(base, tokens[: args.users], args.rounds, args.stagger)
    ws_max = {"in": 0, "out": 0}

    def watch(page: object) -> None:
        def on_ws(ws: object) -> None:
            ws.on("framereceived", lambda f: ws_max.__setitem__("in", max(ws_max["in"], len(f))))  # type: ignore[attr-defined]
            ws.on("framesent", lambda f: ws_max.__setitem__("out", max(ws_max["out"], len(f))))  # type: ignore[attr-defined]

        page.on("websocket", on_ws)  # type: ignore[attr-defined]

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        async def new_page(token: str, width: int = 1440, height: int = 900) -> object:
            context = await browser.new_context(viewport={"width": width, "height": height})
            await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base}])
            page = await context.new_page()
            watch(page)
            return page

        # 1. Page load until the photo is on the canvas, and the 12 MP upload.
        page = await new_page(tokens[-1])
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            await page.goto(f"{base}/studio")
            await page.wait_for_function(LOADED, timeout=30_000)
            loads.append(time.perf_counter() - started)
        results["studio_load_s_median"] = statistics.median(loads)
        big = Path(tempfile.mkdtemp()) / "big-12mp.jpg"
        big.write_bytes(photo_12mp())
        old = await page.get_attribute('[data-testid="canvas-after"]', "src")
        started = time.perf_counter()
        await page.locator(".pixora-upload input[type=file]").set_input_files(str(big))
        await page.wait_for_function(
            "(old) => { const i = document.querySelector('[data-testid=canvas-after]');"
            " const p = document.querySelector('.pixora-preview');"
            " return i && i.getAttribute('src') !== old && ((p && p.complete && p.naturalWidth > 0) || i.complete); }",
            arg=old,
            timeout=60_000,
        )
        results["upload_12mp_to_preview_s"] = time.perf_counter() - started
        # 2. Feedback after clicking a tool (Flip is free): the job panel shows up.
        await page.locator('[data-testid="tool-flip"] .q-item').first.click()
        await page.wait_for_selector('[data-testid="apply-flip"]', state="visible")
        # Timed inside the page: from the click event to the first visible change (the button's pulse),
        # and to the job panel that the server shows.
        timing = await page.evaluate(
            """() => new Promise((resolve) => {
              const button = document.querySelector('[data-testid="apply-flip"]');
              const started = performance.now();
              let feedback = null;
              const check = () => {
                const pulsing = button.classList.contains('pixora-pending');
                if (feedback === null && pulsing) feedback = performance.now() - started;
                const panel = document.querySelector('[data-testid="job-panel"]');
                if (panel && panel.offsetParent !== null) resolve({feedback, panel: performance.now() - started});
                else requestAnimationFrame(check);
              };
              button.click();
              check();
            })"""
        )
        results["tool_feedback_ms"] = float(timing["feedback"] or timing["panel"])
        results["tool_job_panel_ms"] = float(timing["panel"])
        print({k: round(v, 3) for k, v in results.items()}, flush=True)
        await page.wait_for_selector('[data-testid="version-1"]', timeout=60_000)

        # 3. N users clicking through non-AI studio actions at once.
        pages = [await new_page(t) for t in tokens[: args.users]]

        async def arrive(index: int, pg: object) -> None:
            # Users arrive within a couple of seconds of each other, not in the same millisecond.
            await asyncio.sleep(index * args.stagger)
            await pg.goto(f"{base}/studio", timeout=120_000)  # type: ignore[attr-defined]

        await asyncio.gather(*(arrive(i, pg) for i, pg in enumerate(pages)))
        await asyncio.gather(*(pg.wait_for_function(LOADED, timeout=60_000) for pg in pages))  # type: ignore[attr-defined]
        timings: list[float] = []

        async def timed(pg: object, trigger: str, watched: str) -> None:
            """Click something whose answer needs the server and time it inside the page until `watched` changes
            (its text or src): no Playwright polling, no dialog animations in the figure."""
            elapsed = await pg.evaluate(  # type: ignore[attr-defined]
                """([trigger, watched]) => new Promise((resolve) => {
                  const read = () => { const el = document.querySelector(watched);
                                       return el ? (el.getAttribute('src') || el.textContent) : null; };
                  const before = read();
                  const started = performance.now();
                  const check = () => {
                    if (read() !== before) resolve(performance.now() - started);
                    else if (performance.now() - started > 15000) resolve(15000);
                    else requestAnimationFrame(check);
                  };
                  document.querySelector(trigger).click();
                  check();
                })""",
                [trigger, watched],
            )
            timings.append(float(elapsed) / 1000)
            await asyncio.sleep(0.3)

        async def clicks(pg: object) -> None:
            for _ in range(args.rounds):
                await timed(pg, '[data-testid="zoom-in"]', '[data-testid="zoom-label"]')
                await timed(pg, '[data-testid="zoom-fit"]', '[data-testid="zoom-label"]')
                await timed(pg, '[data-testid="photo-1"]', '[data-testid="canvas-after"]')
                await timed(pg, '[data-testid="photo-0"]', '[data-testid="canvas-after"]')

        await asyncio.gather(*(clicks(pg) for pg in pages))
        results["users"] = args.users
        results["interactions"] = len(timings)
        results["interaction_p50_ms"] = percentile(timings, 50) * 1000
        results["interaction_p95_ms"] = percentile(timings, 95) * 1000
        results["ws_max_message_in_kb"] = ws_max["in"] / 1024
        results["ws_max_message_out_kb"] = ws_max["out"] / 1024
        await browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--mode",
        choices=("browser", "simulated"),
        default="browser",
        help="browser: Chromium pages (page load, upload, feedback, clicks); simulated: socket.io clients only",
    )
    parser.add_argument("--stagger", type=float, default=0.1, help="seconds between users arriving")
    parser.add_argument("--server", default=str(REPO / "main.py"), help="entry point to start (main.py)")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="pixora-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.update(
        DATA_DIR=str(data_dir),
        MODELS_DIR=str(REPO / "data" / "models"),
        LOG_JSON="false",
        LOG_LEVEL="WARNING",
        SESSION_SECRET="bench-" + "x" * 40,
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    os.environ.update(env)
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
        [sys.executable, args.server, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=data_dir
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        args.base = f"http://127.0.0.1:{port}"
        sys.path.insert(0, str(REPO))
        results = asyncio.run(run(args))
    finally:
        server.terminate()
        server.wait(timeout=20)
    for key, value in results.items():
        print(f"{key:28s} {value:10.2f}" if isinstance(value, float) else f"{key:28s} {value:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render transformations in a few worker processes, away from the server's event loop and memory.

Some encoders (Pillow's WebP among them) hold Python's GIL for hundreds of milliseconds on a large
photo; in a thread they would stall every other request. Each worker is a plain child process
(`python -m pixora_ui.transform.workers`) that reads one request at a time from its stdin and
answers on its stdout: length-prefixed pickles, over a pipe only the parent holds. A worker that
dies (out of memory, killed) is replaced on the next request; workers exit when the server closes
their pipe, so none outlives it. They run at nice 10, so the event loop wins the CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.errors import PixoraError
from pixora_ui.transform import render

_HEADER = struct.Struct(">Q")
REPO = Path(__file__).resolve().parents[2]


class RenderFailed(PixoraError):
    """The worker could not make the image; the message is safe to show."""


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the worker closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _send(stream: IO[bytes], value: Any) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(body)))
    stream.write(body)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))  # noqa: S301 - our own child, over a private pipe


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pixora_ui.transform.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, source: render.Source, plan: Any, accepts_webp: bool) -> render.Rendered:
        """Blocking: one render in the worker (run it in a thread)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        _send(self.process.stdin, (source, plan, accepts_webp))
        status, value = _receive(self.process.stdout)
        if status != "ok":
            raise RenderFailed(str(value))
        assert isinstance(value, render.Rendered)
        return value

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        self.process.kill()
        with contextlib.suppress(OSError):
            self.process.wait(timeout=5)


class Pool:
    """At most `size` renders at once, each in its own worker process (started on first use)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: asyncio.Queue[Worker | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)
        self._all: set[Worker] = set()

    async def render(self, source: render.Source, plan: Any, accepts_webp: bool) -> render.Rendered:
        worker = await self._idle.get()
        try:
            if worker is None or not worker.alive:
                worker = await asyncio.to_thread(Worker)
                self._all.add(worker)
            return await asyncio.to_thread(worker.call, source, plan, accepts_webp)
        except RenderFailed:
            raise
        except BaseException:
            # Dead, or interrupted half-way through a request: never hand this pipe out again.
            if worker is not None:
                self._all.discard(worker)
                await asyncio.to_thread(worker.kill)
            worker = None
            raise
        finally:
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        workers = list(self._all)
        self._all.clear()
        for worker in workers:
            await asyncio.to_thread(worker.close)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker's loop: requests in, rendered images (or the reason it failed) out."""
    while True:
        try:
            source, plan, accepts_webp = _receive(stdin)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", render.render(source, plan, accepts_webp=accepts_webp))
        except ImageInputError as exc:
            reply = ("error", f"The image could not be made: {exc}")
        except Exception as exc:  # any other failure is reported, and the worker lives on
            print(f"transformation failed: {exc!r}", file=sys.stderr)
            reply = ("error", "The image could not be made.")
        del source
        _send(stdout, reply)


if __name__ == "__main__":
    # Below the server in CPU priority, so requests are answered first while a large photo renders.
    os.nice(10)
    # The protocol gets its own copy of stdout; anything a library prints goes to stderr instead.
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, protocol)

"""The server upgrades a brand-new database before it accepts its first connection."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest

from tests.app_server import launch, stop

pytestmark = pytest.mark.browser  # a real `main.py serve` subprocess, like the browser journeys


def test_first_connection_finds_the_schema_in_place(tmp_path: Path) -> None:
    data_dir = tmp_path / "brand-new"  # not the autouse fixture's folder, which holds a migrated copy
    with (tmp_path / "app.log").open("wb") as log:
        process, url = launch(data_dir, {"LOG_JSON": "false"}, log=log, cwd=tmp_path)
        try:
            port = int(url.rsplit(":", 1)[1])
            deadline = time.monotonic() + 60
            while True:  # poll the port as tightly as a browser reconnecting would
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert process.poll() is None, (tmp_path / "app.log").read_text(errors="replace")
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.005)
            # The moment the port opens, the tables are there (NiceGUI's on_startup runs in the
            # background, so a migration left to it would still be running now).
            with sqlite3.connect(data_dir / "pixora.db") as db:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
            assert {"users", "sessions", "assets", "jobs", "alembic_version"} <= tables
            assert version
        finally:
            stop(process)

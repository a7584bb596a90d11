"""The start-up sweep of temporary files never removes one that a live write still owns."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from pixora_ui.storage import local
from pixora_ui.storage.local import LocalStorage, key_for


def _partials(root: Path) -> list[Path]:
    return list(root.glob("*/*/.tmp-*.part"))


def test_sweep_leaves_a_write_in_flight_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path)
    data = b"photo bytes" * 1000
    sha = hashlib.sha256(data).hexdigest()
    key = key_for(sha, "image/png")
    in_flight = threading.Event()
    release = threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        # Hold the writer between writing its temporary file and renaming it into place.
        if threading.current_thread().name == "writer" and not in_flight.is_set():
            in_flight.set()
            assert release.wait(30)
        real_fsync(fd)

    monkeypatch.setattr(local.os, "fsync", slow_fsync)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            storage._write(storage._path(key), data)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    writer = threading.Thread(target=write, name="writer")
    writer.start()
    try:
        assert in_flight.wait(30)
        [tmp] = _partials(tmp_path)
        # Even when it looks abandoned by age, the writer's lock keeps it.
        old = time.time() - 3600
        os.utime(tmp, (old, old))
        assert storage.cleanup_partial_files() == 0
        assert tmp.exists()
    finally:
        release.set()
        writer.join(30)
    assert not errors
    assert (tmp_path / key).read_bytes() == data
    assert _partials(tmp_path) == []


def test_sweep_keeps_young_files_and_removes_old_abandoned_ones(tmp_path: Path) -> None:
    folder = tmp_path / "ab" / "cd"
    folder.mkdir(parents=True)
    young = folder / ".tmp-young.part"
    abandoned = folder / ".tmp-crashed.part"
    young.write_bytes(b"x")
    abandoned.write_bytes(b"y")
    old = time.time() - local.PARTIAL_FILE_GRACE_S - 60
    os.utime(abandoned, (old, old))

    assert LocalStorage(tmp_path).cleanup_partial_files() == 1
    assert young.exists()
    assert not abandoned.exists()

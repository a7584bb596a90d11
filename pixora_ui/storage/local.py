"""Content-addressed storage on the local disk, under `settings.media_dir`.

Keys look like ``ab/cd/<sha256>.<ext>``: the same content is stored once, whoever uploads it.
Writes are atomic: the bytes go to a temporary file in the target folder, are fsynced, then
renamed into place (and the folder fsynced), so a reader or a crash never sees a half-written
file. Disk I/O runs in a worker thread so the event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import tempfile
import time
from pathlib import Path

from pixora_ui.settings import Settings, get_settings
from pixora_ui.storage.base import Storage, StorageError, StoredObject

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")

# A temporary file younger than this may belong to a write still in flight (on this process or on
# another one sharing the folder), so the start-up sweep leaves it alone even if it can lock it.
PARTIAL_FILE_GRACE_S = 15 * 60

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/tiff": "tif",
    "image/bmp": "bmp",
}


def key_for(sha256: str, mime: str) -> str:
    if not _SHA.match(sha256):
        raise StorageError("Invalid content hash")
    ext = EXTENSIONS.get(mime, "bin")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        # Keys come from our own database, but check anyway: never let a key escape the media folder.
        if not _KEY.match(key):
            raise FileNotFoundError(key)
        return self.root / key

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists() and path.stat().st_size == len(data):
            return  # same content already stored (the key is its hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        # The writer holds an exclusive lock on its temporary file until it is renamed: the sweep
        # below never removes a file whose owner is still alive.
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o640)
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        # The rename is durable only once the folder entry is on disk.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def put(self, data: bytes, *, sha256: str, mime: str, owner_id: int, filename: str) -> StoredObject:
        key = key_for(sha256, mime)
        try:
            await asyncio.to_thread(self._write, self._path(key), data)
        except OSError as exc:
            raise StorageError("Could not save the file on the server") from exc
        return StoredObject(backend=self.name, key=key, size=len(data))

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        try:
            path = self._path(key)
        except FileNotFoundError:
            return
        await asyncio.to_thread(path.unlink, True)

    def local_path(self, key: str) -> str | None:
        return str(self._path(key))

    def cleanup_partial_files(self, *, grace_s: float = PARTIAL_FILE_GRACE_S) -> int:
        """Remove temporary files left by a crash mid-write; returns how many were removed.

        Only a file that is older than `grace_s` and that no live write holds locked is removed."""
        removed = 0
        if not self.root.exists():
            return 0
        cutoff = time.time() - grace_s
        for tmp in self.root.glob("*/*/.tmp-*.part"):
            if _remove_if_abandoned(tmp, cutoff):
                removed += 1
        return removed


def _remove_if_abandoned(tmp: Path, cutoff: float) -> bool:
    try:
        if tmp.stat().st_mtime > cutoff:
            return False
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return False  # renamed or removed meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live write owns it
        try:
            tmp.unlink()
        except OSError:
            return False
        return True
    finally:
        os.close(fd)


def create(settings: Settings | None = None) -> LocalStorage:
    settings = settings or get_settings()
    return LocalStorage(settings.media_dir)

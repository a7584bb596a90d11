"""A size-bounded disk cache of computed images (LRU), with the hottest small entries kept in memory.

Entries are files `<key>.<ext>` under one folder in DATA_DIR; the key is a hex digest of the photo
version and the normalised transformation, so an entry never goes stale: it is only ever evicted.
The index lives in memory and is rebuilt from the folder (oldest first, by modification time) the
first time the cache is used. Only the event loop touches the index; file reads and writes run in
worker threads. Writes go to a temporary file and are renamed into place, so a reader never sees
half a file, even from another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

_EXT_MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_MIME_EXT = {mime: ext for ext, mime in _EXT_MIME.items()}
HOT_ENTRY_MAX = 2 * 1024 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    key: str
    mime: str
    size: int
    path: Path

    @property
    def etag(self) -> str:
        return f'"t{self.key[:40]}"'


class DiskCache:
    def __init__(self, root: Path, *, max_bytes: int, memory_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.memory_bytes = memory_bytes
        self._index: OrderedDict[str, Entry] = OrderedDict()
        self._total = 0
        self._hot: OrderedDict[str, bytes] = OrderedDict()
        self._hot_total = 0
        self._loaded = False

    # --- index -------------------------------------------------------------------------------------
    def _scan(self) -> list[Entry]:
        self.root.mkdir(parents=True, exist_ok=True)
        found: list[tuple[float, Entry]] = []
        for item in os.scandir(self.root):
            stem, _, ext = item.name.partition(".")
            if ext not in _EXT_MIME or not item.is_file():
                if item.name.startswith("tmp-"):
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)  # a write that died half-way
                continue
            stat = item.stat()
            found.append((stat.st_mtime, Entry(key=stem, mime=_EXT_MIME[ext], size=stat.st_size, path=Path(item.path))))
        return [entry for _mtime, entry in sorted(found, key=lambda pair: pair[0])]

    async def _load(self) -> None:
        if self._loaded:
            return
        entries = await asyncio.to_thread(self._scan)
        if self._loaded:
            return
        for entry in entries:
            if entry.key not in self._index:
                self._index[entry.key] = entry
                self._total += entry.size
        self._loaded = True
        await self._evict()

    @property
    def total_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return len(self._index)

    # --- reading -----------------------------------------------------------------------------------
    async def get(self, key: str) -> tuple[Entry, bytes] | None:
        """The entry and its bytes, or None when it is not cached."""
        await self._load()
        entry = self._index.get(key)
        if entry is None:
            return None
        self._index.move_to_end(key)
        data = self._hot.get(key)
        if data is not None:
            self._hot.move_to_end(key)
            return entry, data
        try:
            data = await asyncio.to_thread(entry.path.read_bytes)
        except FileNotFoundError:
            self._drop(key)
            return None
        self._remember(key, data)
        return entry, data

    # --- writing -----------------------------------------------------------------------------------
    def _write(self, key: str, data: bytes, ext: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / f"{key}.{ext}"
        temporary = self.root / f"tmp-{secrets.token_hex(6)}"
        temporary.write_bytes(data)
        os.replace(temporary, final)
        return final

    async def put(self, key: str, data: bytes, mime: str) -> Entry:
        await self._load()
        ext = _MIME_EXT[mime]
        path = await asyncio.to_thread(self._write, key, data, ext)
        old = self._index.pop(key, None)
        if old is not None:
            self._total -= old.size
        entry = Entry(key=key, mime=mime, size=len(data), path=path)
        self._index[key] = entry
        self._total += entry.size
        self._remember(key, data)
        await self._evict()
        return entry

    def _remember(self, key: str, data: bytes) -> None:
        if len(data) > HOT_ENTRY_MAX or key in self._hot:
            return
        self._hot[key] = data
        self._hot_total += len(data)
        while self._hot_total > self.memory_bytes and self._hot:
            _old, dropped = self._hot.popitem(last=False)
            self._hot_total -= len(dropped)

    def _drop(self, key: str) -> Entry | None:
        entry = self._index.pop(key, None)
        if entry is not None:
            self._total -= entry.size
        hot = self._hot.pop(key, None)
        if hot is not None:
            self._hot_total -= len(hot)
        return entry

    async def _evict(self) -> None:
        doomed: list[Path] = []
        while self._total > self.max_bytes and self._index:
            key = next(iter(self._index))
            entry = self._drop(key)
            if entry is not None:
                doomed.append(entry.path)
        if doomed:
            await asyncio.to_thread(_unlink_all, doomed)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

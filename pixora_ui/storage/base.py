"""The storage interface. Keys are opaque strings chosen by the backend; bytes in, bytes out.

Writes are atomic: a reader never sees a half-written file, and a crash mid-write leaves none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from pixora_ui.errors import PixoraError


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredObject:
    backend: str  # "local" | "imagekit"
    key: str  # where the backend keeps it (content-addressed path, or ImageKit file id + path)
    size: int


class StorageError(PixoraError):
    """The storage backend failed; the message is safe to show."""

    status = 502
    code = "storage_failed"


class Storage(ABC):
    name: str

    @abstractmethod
    async def put(self, data: bytes, *, sha256: str, mime: str, owner_id: int, filename: str) -> StoredObject:
        """Store `data` (idempotent for the same content) and return where it lives."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The stored bytes; raises FileNotFoundError when gone."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; missing objects are not an error."""

    def local_path(self, key: str) -> str | None:
        """A filesystem path for zero-copy serving, when the backend has one."""
        return None

    def public_url(self, key: str, *, expires_in: int = 3600) -> str | None:
        """A (signed) CDN URL for the object, when the backend serves files itself."""
        return None

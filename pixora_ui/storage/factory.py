"""Which storage backend keeps the files: local disk by default, ImageKit when configured.

Assets remember their backend (`local` or `imagekit`), so files uploaded before a switch stay readable.
"""

from __future__ import annotations

from functools import cache

from pixora_ui.settings import Settings, get_settings
from pixora_ui.storage import imagekit, local
from pixora_ui.storage.base import Storage, StorageError


def default_backend(settings: Settings) -> str:
    return "imagekit" if settings.imagekit_uploads and settings.imagekit_enabled else "local"


@cache
def _build(backend: str, settings: Settings) -> Storage:
    if backend == "local":
        return local.create(settings)
    if backend == "imagekit":
        return imagekit.create(settings)
    raise StorageError(f"Unknown storage backend {backend!r}")


def get_storage(backend: str | None = None) -> Storage:
    """The storage for `backend` (default: the configured one for new uploads)."""
    settings = get_settings()
    return _build(backend or default_backend(settings), settings)


def reset_storage() -> None:
    """Forget built backends (tests switch settings)."""
    _build.cache_clear()

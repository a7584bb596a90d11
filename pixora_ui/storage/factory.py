"""Which storage backend keeps the files: local disk by default, ImageKit when configured.

`BACKENDS` maps a backend name to "module:factory"; a factory takes Settings and returns a Storage.
Assets remember their backend, so files uploaded before a switch stay readable.
"""

from __future__ import annotations

import importlib
from functools import cache

from pixora_ui.settings import Settings, get_settings
from pixora_ui.storage.base import Storage, StorageError

BACKENDS: dict[str, str] = {
    "local": "pixora_ui.storage.local:create",
    "imagekit": "pixora_ui.storage.imagekit:create",
}


def default_backend(settings: Settings) -> str:
    return "imagekit" if settings.imagekit_uploads and settings.imagekit_enabled else "local"


@cache
def _build(backend: str, settings: Settings) -> Storage:
    target = BACKENDS.get(backend)
    if target is None:
        raise StorageError(f"Unknown storage backend {backend!r}")
    module_name, factory_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise StorageError(f"Storage backend {backend!r} is not available on this server") from exc
    storage: Storage = getattr(module, factory_name)(settings)
    return storage


def get_storage(backend: str | None = None) -> Storage:
    """The storage for `backend` (default: the configured one for new uploads)."""
    settings = get_settings()
    return _build(backend or default_backend(settings), settings)


def reset_storage() -> None:
    """Forget built backends (tests switch settings)."""
    _build.cache_clear()

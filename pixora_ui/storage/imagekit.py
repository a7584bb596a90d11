"""ImageKit storage: files live in the ImageKit media library, one folder per user.

Uploads are server-side (HTTP Basic with the private key) through the imagekitio 5.x SDK and marked
private, so every delivery URL is signed with an expiry. Keys are "<fileId>:<filePath>": the id is
what the API deletes, the path is what delivery URLs address. Assets stored earlier on the local
disk keep their "local" backend and stay readable after `IMAGEKIT_UPLOADS` is switched on.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx

from pixora_ui.settings import Settings, get_settings
from pixora_ui.storage.base import Storage, StorageError, StoredObject

if TYPE_CHECKING:
    from imagekitio import AsyncImageKit, ImageKit

log = logging.getLogger("pixora.storage.imagekit")

ROOT_FOLDER = "/pixora"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/avif": "avif"}


def user_folder(owner_id: int | None, *sub: str) -> str:
    """The media-library folder of one user ("/pixora/u42", "/pixora/u42/tmp")."""
    parts = [ROOT_FOLDER, f"u{owner_id}" if owner_id is not None else "shared", *sub]
    return "/".join(p.strip("/") if i else p for i, p in enumerate(parts))


def async_client(settings: Settings) -> AsyncImageKit:
    """A fresh async SDK client (one per operation, so it never outlives the event loop it was made on)."""
    from imagekitio import AsyncImageKit  # noqa: PLC0415 - ImageKit SDK, loaded only when ImageKit is configured

    return AsyncImageKit(
        private_key=settings.imagekit_private_key,
        base_url=settings.imagekit_api_base or None,
        timeout=settings.imagekit_timeout_s,
        max_retries=2,
    )


@cache
def sync_client(settings: Settings) -> ImageKit:
    """The sync SDK client for the helpers that only compute (URLs, signatures): it makes no requests,
    so one per settings object is shared."""
    from imagekitio import ImageKit  # noqa: PLC0415 - ImageKit SDK, loaded only when ImageKit is configured

    return ImageKit(private_key=settings.imagekit_private_key, base_url=settings.imagekit_api_base or None)


def split_key(key: str) -> tuple[str, str]:
    file_id, sep, path = key.partition(":")
    if not sep or not file_id or not path.startswith("/"):
        raise FileNotFoundError(key)
    return file_id, path


def sdk_error_message(exc: Exception) -> str:
    """A safe one-liner from an SDK error (ImageKit puts its reason in a JSON "message")."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return type(exc).__name__


async def upload_private(
    settings: Settings,
    data: bytes,
    *,
    file_name: str,
    mime: str,
    folder: str,
    unique: bool,
    tags: list[str],
    what: str = "file",
) -> tuple[str, str]:
    """Upload one private file (every delivery URL then needs a signature); its (file id, file path).

    The one upload of the app, for stored assets and the providers' temporary inputs alike. Raises
    StorageError with a reason safe to show, naming the upload as `what` ("file", "photo").
    """
    import imagekitio  # noqa: PLC0415 - ImageKit SDK, loaded only when ImageKit is configured

    try:
        async with async_client(settings) as client:
            uploaded = await client.files.upload(
                file=(file_name, data, mime),
                file_name=file_name,
                folder=folder,
                use_unique_file_name=unique,
                is_private_file=True,
                tags=tags,
            )
    except imagekitio.AuthenticationError as exc:
        raise StorageError("ImageKit rejected the server's keys. Ask the administrator to check them.") from exc
    except imagekitio.APIError as exc:
        log.warning("imagekit upload failed: %s", sdk_error_message(exc))
        raise StorageError(f"ImageKit did not accept the {what}: {sdk_error_message(exc)}") from exc
    if not uploaded.file_id or not uploaded.file_path:
        raise StorageError(f"ImageKit did not say where it stored the {what}")
    return uploaded.file_id, uploaded.file_path


class ImageKitStorage(Storage):
    name = "imagekit"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def put(self, data: bytes, *, sha256: str, mime: str, owner_id: int, filename: str) -> StoredObject:
        # Named by content and not made unique: storing the same bytes again replaces the same file.
        file_id, file_path = await upload_private(
            self._settings,
            data,
            file_name=f"{sha256[:32]}.{_EXTENSIONS.get(mime, 'bin')}",
            mime=mime,
            folder=user_folder(owner_id),
            unique=False,
            tags=["pixora"],
        )
        return StoredObject(backend=self.name, key=f"{file_id}:{file_path}", size=len(data))

    def url(self, key: str, *, transformation: list[dict[str, Any]] | None = None, expires_in: int = 3600) -> str:
        """A signed delivery URL for a stored file, optionally with a transformation chain."""
        _file_id, path = split_key(key)
        return sync_client(self._settings).helper.build_url(
            url_endpoint=self._settings.imagekit_url_endpoint,
            src=path,
            transformation=transformation or [],  # type: ignore[arg-type]
            signed=True,
            expires_in=expires_in,
        )

    async def get(self, key: str) -> bytes:
        # "orig-true" asks for the stored file itself, never an automatically optimised variant.
        url = self.url(key, transformation=[{"original": True}], expires_in=300)
        try:
            async with httpx.AsyncClient(timeout=self._settings.imagekit_timeout_s) as http:
                response = await http.get(url)
        except httpx.HTTPError as exc:
            raise StorageError("ImageKit could not be reached to read the file") from exc
        if response.status_code == 404:
            raise FileNotFoundError(key)
        if response.status_code != 200:
            raise StorageError(f"ImageKit answered {response.status_code} when reading the file")
        return response.content

    async def delete(self, key: str) -> None:
        import imagekitio  # noqa: PLC0415 - ImageKit SDK, loaded only when ImageKit is configured

        try:
            file_id, _path = split_key(key)
        except FileNotFoundError:
            return
        try:
            async with async_client(self._settings) as client:
                await client.files.delete(file_id)
        except imagekitio.NotFoundError:
            return
        except imagekitio.APIError as exc:
            raise StorageError(f"ImageKit could not delete the file: {sdk_error_message(exc)}") from exc

    def public_url(self, key: str, *, expires_in: int = 3600) -> str | None:
        return self.url(key, transformation=[{"original": True}], expires_in=expires_in)


def create(settings: Settings | None = None) -> ImageKitStorage:
    settings = settings or get_settings()
    if not settings.imagekit_enabled:
        raise StorageError(
            "ImageKit storage is not configured: set IMAGEKIT_PRIVATE_KEY, IMAGEKIT_PUBLIC_KEY and "
            "IMAGEKIT_URL_ENDPOINT"
        )
    return ImageKitStorage(settings)

"""The upload zone: drag and drop, click to browse, paste from the clipboard; several files at once.

The browser-side size limit only saves a pointless transfer; the server checks size, type (by
content) and pixel count again and says what was wrong, inline, per file.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import events, ui

from components import theme
from components.testids import tagged
from pixora_ui.services import studio
from pixora_ui.settings import get_settings
from pixora_ui.web.body_limit import UPLOAD_MAX_FILES

UPLOAD_CSS = """
.pixora-upload { width: 100%; box-shadow: none !important; background: transparent !important; }
.pixora-upload .q-uploader__header { background: transparent !important; color: inherit; }
.pixora-upload .q-uploader__list { padding: 0 !important; min-height: 0 !important; }
.pixora-drop { position: relative; display: flex; align-items: center; gap: 12px; padding: 14px;
  border-radius: 14px; cursor: pointer;
  border: 2px dashed rgba(109,94,252,.45); background: rgba(109,94,252,.05); transition: background .15s; }
.pixora-drop:hover, .q-uploader--dnd .pixora-drop { background: rgba(109,94,252,.12); border-color: #6d5efc; }
"""

_HEADER = r"""
<div class="pixora-drop" data-testid="drop-zone">
  <q-uploader-add-trigger />
  <q-icon name="add_photo_alternate" size="28px" color="primary" />
  <div style="flex:1;min-width:0">
    <div class="text-sm" style="font-weight:600">Drop photos, paste, or click to browse</div>
    <div class="text-xs" style="opacity:.65">__HINT__</div>
  </div>
  <q-spinner v-if="props.isUploading" size="20px" color="primary" />
  <span v-if="props.isUploading" class="text-xs">{{ props.uploadProgressLabel }}</span>
</div>
"""
_LIST = r"""
<div v-for="file in props.files" :key="file.__key" class="text-xs" style="padding:4px 6px">
  <div style="display:flex;justify-content:space-between;gap:8px">
    <span style="overflow:hidden;text-overflow:ellipsis;white-space:nowrap">{{ file.name }}</span>
    <span>{{ file.__status === 'uploaded' ? 'Processing…' : file.__progressLabel }}</span>
  </div>
  <q-linear-progress :value="file.__progress" size="3px" rounded color="primary" />
</div>
"""
_PASTE_JS = """
if (!window.pixoraPaste) {
  window.pixoraPaste = true;
  document.addEventListener('paste', (e) => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])].filter((f) => f.type.startsWith('image/'));
    const el = getElement(__ID__);
    if (!files.length || !el) return;
    e.preventDefault();
    el.$refs.qRef.addFiles(files);
  });
}
"""


# The formats the server decodes (engine/ops/imageio.py); anything else is refused in the browser by name.
ACCEPT = (
    "image/jpeg,image/png,image/webp,image/gif,image/bmp,image/tiff,image/heic,image/heif,"
    ".jpg,.jpeg,.png,.webp,.gif,.bmp,.tif,.tiff,.heic,.heif"
)
_REJECTED_JS = (
    "(entries) => emit((entries || []).slice(0, 20).map(e => ({reason: e.failedPropValidation, "
    "name: String((e.file && e.file.name) || '').slice(0, 120), size: (e.file && e.file.size) || 0})))"
)


def rejection_messages(entries: list[Any]) -> list[str]:
    """One plain sentence per file the browser refused, saying why."""
    settings = get_settings()
    messages: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name") or "A file")[:120]
        reason = entry.get("reason")
        if reason == "accept":
            messages.append(f"{name}: this format is not supported. Use JPEG, PNG, WebP, GIF, BMP, TIFF or HEIC.")
        elif reason in {"max-file-size", "max-total-size"}:
            size = entry.get("size")
            size_mb = f"{size / (1024 * 1024):.0f} MB" if isinstance(size, int | float) and size else "It"
            messages.append(f"{name}: {size_mb} is over the {settings.max_upload_mb} MB limit for one photo.")
        elif reason == "max-files":
            messages.append(f"{name} was not added: at most {UPLOAD_MAX_FILES} photos at a time.")
        else:
            messages.append(f"{name} was not added.")
    return messages or ["A file was not added."]


class UploadZone:
    def __init__(
        self,
        *,
        user_id: int,
        on_uploaded: Callable[[studio.PhotoCard], Any],
        still_signed_in: Callable[[], Awaitable[bool]],
    ) -> None:
        settings = get_settings()
        self.user_id = user_id
        self._on_uploaded = on_uploaded
        # Re-checks the session before storing anything: a tab left open after sign-out stores nothing.
        self._still_signed_in = still_signed_in
        self.busy = 0
        ui.add_css(UPLOAD_CSS)
        hint = f"JPEG, PNG, WebP, HEIC · up to {settings.max_upload_mb} MB and {settings.max_pixels_mp:g} MP"
        with tagged(ui.column().classes("w-full gap-1"), "upload-zone"):
            self.upload = tagged(
                ui.upload(
                    multiple=True,
                    auto_upload=True,
                    max_file_size=settings.max_upload_bytes,
                    max_files=UPLOAD_MAX_FILES,
                    on_upload=self._handle,
                )
                .props(f'accept="{ACCEPT}" flat')
                .classes("pixora-upload"),
                "upload",
            )
            # Quasar says why each file was refused (format, size, count): pass that on, not a guess.
            self.upload.on("rejected", self._rejected, js_handler=_REJECTED_JS)
            self.upload.add_slot("header", _HEADER.replace("__HINT__", html.escape(hint)))
            self.upload.add_slot("list", _LIST)
            self.messages = tagged(ui.column().classes("w-full gap-1"), "upload-messages")
        ui.add_body_html(f"<script>{_PASTE_JS.replace('__ID__', str(self.upload.id))}</script>")

    def pick(self) -> None:
        self.upload.run_method("pickFiles")

    def _message(self, text: str, *, error: bool) -> None:
        with self.messages:
            row = ui.row().classes(
                "w-full items-start no-wrap gap-2 text-xs rounded-lg px-2 py-1.5 "
                + ("bg-negative/10 text-negative" if error else f"bg-primary/5 {theme.MUTED}")
            )
            with row:
                ui.icon("error_outline" if error else "hourglass_top", size="16px")
                ui.label(text).classes("grow")
                ui.button(icon="close", on_click=row.delete).props("flat round dense size=xs")
        if error:
            tagged(row, "upload-error")
        while len(self.messages.default_slot.children) > 5:
            self.messages.default_slot.children[0].delete()

    def _rejected(self, e: events.GenericEventArguments) -> None:
        entries = e.args if isinstance(e.args, list) else []
        for text in rejection_messages(entries)[:5]:
            self._message(text, error=True)

    async def _handle(self, e: events.UploadEventArguments) -> None:
        name = e.file.name or "photo"
        settings = get_settings()
        if e.file.size() > settings.max_upload_bytes:
            size_mb = e.file.size() / (1024 * 1024)
            self._message(f"{name}: {size_mb:.0f} MB is over the {settings.max_upload_mb} MB limit.", error=True)
            return
        if not await self._still_signed_in():
            return
        self.busy += 1
        try:
            data = await e.file.read()
            card = await studio.upload_photo(self.user_id, data=data, filename=name)
        except studio.StudioError as exc:
            self._message(f"{name}: {exc}", error=True)
            return
        finally:
            self.busy -= 1
            if not self.upload.is_deleted:
                self.upload.run_method("removeUploadedFiles")
        result = self._on_uploaded(card)
        if hasattr(result, "__await__"):
            await result

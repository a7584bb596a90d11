"""The profile's Developer section: API keys (name, created, last used, revoke) and a new key shown once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from components import theme
from components.testids import tagged
from pixora_ui.api import keys
from pixora_ui.api.keys import KeyView


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%b %-d, %Y at %H:%M} UTC"


async def developer_section(user_id: int, still_signed_in: Callable[[int], Awaitable[bool]]) -> None:
    """Render the section for `user_id`; every action re-checks the sign-in first."""
    with ui.column().classes(f"{theme.CARD} w-full p-6 gap-3").mark("developer-section"):
        ui.label("Developer").classes(f"text-lg {theme.HEADING}")
        with ui.row().classes("gap-1 items-center"):
            ui.label("API keys let your scripts and sites use Pixora as you, with your plan and AI edits.").classes(
                f"text-sm {theme.MUTED}"
            )
            ui.link("Read the API documentation", "/api/docs", new_tab=True).classes("text-sm")

        with ui.row().classes("w-full items-end gap-3 no-wrap"):
            name = ui.input("Key name", placeholder="e.g. Website").props("outlined maxlength=100").classes("flex-1")
            tagged(name, "api-key-name")
            create = ui.button("Create key").props("unelevated no-caps")
            tagged(create, "create-api-key")

        reveal = ui.column().classes("w-full gap-2 p-4 rounded-xl bg-amber-50 dark:bg-amber-900/20")
        reveal.set_visibility(False)
        with reveal:
            ui.label("Copy your new key now: it will not be shown again.").classes("text-sm font-medium")
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                secret = ui.input().props("outlined dense readonly").classes("flex-1 font-mono")
                tagged(secret, "new-api-key")
                copy = ui.button(icon="content_copy").props("flat round").tooltip("Copy")
                tagged(copy, "copy-api-key")

        async def copy_key() -> None:
            ui.clipboard.write(secret.value or "")
            ui.notify("Key copied", type="positive")

        copy.on_click(copy_key)

        @ui.refreshable
        async def key_list() -> None:
            found = await keys.keys_of(user_id)
            if not found:
                ui.label("No API keys yet.").classes(f"text-sm {theme.MUTED}").mark("no-api-keys")
                return
            for view in found:
                _key_row(view)

        def _key_row(view: KeyView) -> None:
            with ui.row().classes("w-full items-center justify-between gap-3 py-2 border-t border-black/5"):
                with ui.column().classes("gap-0"):
                    ui.label(view.name).classes("font-medium").mark(f"api-key-{view.id}")
                    ui.label(
                        f"{view.prefix}… · created {_when(view.created_at)} · last used {_when(view.last_used_at)}"
                    ).classes(f"text-xs {theme.MUTED}")
                revoke_button = ui.button("Revoke", on_click=lambda v=view: confirm(v)).props(
                    "outline no-caps color=negative size=sm"
                )
                tagged(revoke_button, f"revoke-api-key-{view.id}")

        with ui.dialog() as dialog, ui.card().classes("p-6 gap-3 max-w-[440px]"):
            question = ui.label("").classes(f"text-lg {theme.HEADING}")
            ui.label("Scripts using this key will stop working at once.").classes(f"text-sm {theme.MUTED}")
            chosen: dict[str, int] = {}

            async def do_revoke() -> None:
                if not await still_signed_in(user_id):
                    return
                await keys.revoke(user_id, chosen["id"])
                dialog.close()
                ui.notify("Key revoked", type="positive")
                key_list.refresh()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                confirm_button = ui.button("Revoke key", on_click=do_revoke).props("unelevated no-caps color=negative")
                tagged(confirm_button, "confirm-revoke-api-key")

        def confirm(view: KeyView) -> None:
            chosen["id"] = view.id
            question.set_text(f"Revoke “{view.name}”?")
            dialog.open()

        async def make() -> None:
            if not await still_signed_in(user_id):
                return
            create.disable()
            try:
                created = await keys.make_key(user_id, name.value or "")
            except keys.ApiKeyError as exc:
                ui.notify(str(exc), type="negative")
                return
            finally:
                create.enable()
            secret.set_value(created.secret)
            reveal.set_visibility(True)
            name.set_value("")
            key_list.refresh()

        create.on_click(make)
        with ui.column().classes("w-full gap-0"):
            await key_list()

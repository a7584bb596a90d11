"""The account's usage on a page: shown, kept current, and checked before an AI edit.

The page's chips are updated after its own edits (`refresh`) and whenever the plan or the usage
changes elsewhere: the billing webhook, an operator, another tab or the API (`services.user_events`).
At the limit, `blocks` opens the upgrade dialog instead of letting the edit through.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components.upgrade_dialog import open_upgrade_dialog
from pixora_ui.auth.current import CurrentUser
from pixora_ui.billing.status import payments_enabled
from pixora_ui.services import studio, user_events
from pixora_ui.services.plans import Usage
from pixora_ui.services.usage import LIMIT_MESSAGE


class UsageGate:
    def __init__(self, user: CurrentUser, *, show: Callable[[str], None]) -> None:
        self.usage: Usage = user.usage
        self._user_id = user.id
        self._show = show
        self._layout = ui.context.client.layout
        ui.context.client.on_delete(user_events.subscribe(user.id, self._changed))

    async def refresh(self) -> None:
        self.usage = await studio.usage_of(self._user_id)
        self._show(self.usage.label)

    def blocks(self, costs_credit: bool) -> bool:
        """True (and the upgrade dialog opens) when an edit that costs a credit finds none left."""
        if costs_credit and self.usage.exhausted:
            self.open_upgrade()
            return True
        return False

    def open_upgrade(self) -> None:
        enabled, reason = payments_enabled()
        open_upgrade_dialog(payments_enabled=enabled, reason=reason, message=LIMIT_MESSAGE)

    async def _changed(self, _user_id: int) -> None:
        # Called by the event, outside any page context: enter this page's.
        with self._layout:
            await self.refresh()

"""One test name for an element, readable by both kinds of page test.

NiceGUI's simulated `user` finds elements by marker; the Chromium tests find them by the
`data-testid` attribute. `tagged` sets both to the same name, so the two never drift apart.
"""

from __future__ import annotations

from typing import TypeVar

from nicegui.element import Element

T = TypeVar("T", bound=Element)


def tagged(element: T, name: str) -> T:
    """Mark `element` as `name` and give it `data-testid=name`; returns the element for chaining."""
    return element.mark(name).props(f"data-testid={name}")

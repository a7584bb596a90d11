"""One module per NiceGUI page. `register_pages()` imports them so their routes exist."""

from __future__ import annotations

import importlib

PAGE_MODULES: tuple[str, ...] = ("pages.landing", "pages.errors")


def register_pages() -> None:
    for name in PAGE_MODULES:
        importlib.import_module(name)
    from pages.errors import register_not_found

    register_not_found()

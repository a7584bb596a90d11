"""One module per NiceGUI page. `register_pages()` imports them so their routes exist."""

from __future__ import annotations

import importlib

PAGE_MODULES: tuple[str, ...] = (
    "pages.landing",
    "pages.errors",
    "pages.login",
    "pages.signup",
    "pages.forgot_password",
    "pages.reset_password",
    "pages.profile",
    "pages.billing",
    "pages.team",
    "pages.studio",
)


def register_pages() -> None:
    for name in PAGE_MODULES:
        importlib.import_module(name)
    from pages.errors import register_not_found

    register_not_found()

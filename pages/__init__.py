"""One module per NiceGUI page. `register_pages()` imports them so their routes exist."""

from __future__ import annotations


def register_pages() -> None:
    # Importing a page module registers its `@ui.page` routes, so the imports happen here, when the
    # app is built, never as a side effect of importing `pages` (NiceGUI's test fixture drops those).
    from pages import (  # noqa: F401, PLC0415 - imported for the routes they register, at build time
        billing,
        forgot_password,
        landing,
        login,
        profile,
        reset_password,
        signup,
        studio,
        team,
    )
    from pages.errors import register_not_found  # noqa: PLC0415 - with the pages, for the same reason

    register_not_found()

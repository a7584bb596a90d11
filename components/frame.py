"""The shared page frame: header with navigation, the page body and a footer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nicegui import ui

from components import theme
from components.testids import tagged
from pixora_ui.auth.accounts import begin_sign_out


@dataclass(frozen=True, kw_only=True, slots=True)
class Viewer:
    """What the header needs to know about the signed-in person (plain data, no ORM)."""

    name: str
    email: str
    plan_label: str
    usage_label: str
    avatar_url: str | None = None


NAV_SIGNED_IN = (("Studio", "/studio"), ("Billing", "/billing"), ("Team", "/team"))


def logo() -> None:
    with ui.link(target="/").classes("flex flex-nowrap items-center gap-2 no-underline shrink-0").mark("logo"):
        ui.icon("auto_awesome", size="26px").classes("text-primary")
        ui.label("Pixora").classes("text-xl font-bold tracking-tight text-slate-900 dark:text-white")


def _initials(name: str, email: str) -> str:
    source = name.strip() or email.split("@", maxsplit=1)[0]
    parts = [p for p in source.replace(".", " ").split() if p]
    return ("".join(p[0] for p in parts[:2]) or "?").upper()


# A picture that cannot load (gone, blocked, offline) removes itself and uncovers the initials.
_DROP_ON_ERROR = "this.remove()"


def avatar(viewer: Viewer, size: int = 34) -> None:
    """The person's initials, with their picture (e.g. from Google) on top when it loads."""
    with (
        ui.element("div")
        .classes("relative rounded-full overflow-hidden shrink-0")
        .style(f"width:{size}px;height:{size}px")
        .mark("avatar")
    ):
        tagged(
            ui.label(_initials(viewer.name, viewer.email))
            .classes("w-full h-full rounded-full bg-primary text-white font-semibold flex items-center justify-center")
            .style(f"font-size:{size * 0.4:.0f}px"),
            "avatar-initials",
        )
        if viewer.avatar_url:
            picture = ui.element("img").classes("absolute inset-0 w-full h-full object-cover rounded-full")
            # Google's picture hosts refuse many requests that carry a Referer.
            picture.props.update(
                {"src": viewer.avatar_url, "alt": "", "referrerpolicy": "no-referrer", "onerror": _DROP_ON_ERROR}
            )
            tagged(picture, "avatar-picture")


async def _sign_out() -> None:
    # Revoke the session server-side now; the browser then drops the cookie at /logout (one-time ticket).

    ui.navigate.to(await begin_sign_out(ui.context.client.request))


def _header(viewer: Viewer | None) -> None:
    with (
        ui.header()
        .classes("p-0 bg-white/80 dark:bg-[#0e0e14]/80 backdrop-blur border-b border-black/5 dark:border-white/10")
        .style("box-shadow:none"),
        ui.row().classes(f"{theme.SECTION} items-center justify-between no-wrap h-14"),
    ):
        logo()
        if viewer is None:
            with ui.row().classes("items-center gap-1 no-wrap"):
                for label, target in (("Tools", "/#tools"), ("Pricing", "/#pricing")):
                    ui.link(label, target).classes(
                        "max-sm:hidden px-3 text-slate-600 dark:text-slate-300 no-underline whitespace-nowrap"
                    )
                ui.button("Sign in", on_click=lambda: ui.navigate.to("/login")).props(
                    "flat no-caps no-wrap padding='6px 10px'"
                ).mark("nav-login")
                ui.button("Get started", on_click=lambda: ui.navigate.to("/signup")).props(
                    "unelevated no-caps rounded no-wrap padding='6px 14px'"
                ).mark("nav-signup")
        else:
            with ui.row().classes("items-center gap-2 no-wrap"):
                for label, target in NAV_SIGNED_IN:
                    ui.link(label, target).classes(
                        "max-md:hidden px-2 text-slate-600 dark:text-slate-300 no-underline whitespace-nowrap"
                    )
                ui.label(viewer.usage_label).classes(
                    "max-sm:hidden whitespace-nowrap text-xs px-3 py-1 rounded-full"
                    " bg-primary/10 text-primary font-medium"
                ).mark("usage-chip")
                with tagged(ui.button().props("flat round dense"), "user-menu"):
                    avatar(viewer, 32)
                    with ui.menu().classes("min-w-[220px]"):
                        with ui.column().classes("px-4 py-3 gap-0"):
                            ui.label(viewer.name or viewer.email).classes("font-semibold")
                            ui.label(viewer.email).classes(f"text-xs {theme.MUTED}")
                            ui.label(viewer.plan_label).classes("text-xs text-primary mt-1")
                        ui.separator()
                        for label, target in (("Studio", "/studio"), ("Profile", "/profile"), *NAV_SIGNED_IN[1:]):
                            ui.menu_item(label, on_click=lambda t=target: ui.navigate.to(t))
                        ui.separator()
                        ui.menu_item("Sign out", on_click=_sign_out).mark("sign-out")


def _footer(viewer: Viewer | None) -> None:
    with ui.element("footer").classes("w-full border-t border-black/5 dark:border-white/10 mt-16"):
        with ui.row().classes(f"{theme.SECTION} py-8 items-center justify-between gap-4"):
            with ui.column().classes("gap-1"):
                logo()
                ui.label("Your AI image studio, on your own machine.").classes(f"text-sm {theme.MUTED}")
            with ui.row().classes("gap-5 text-sm"):
                ui.link("Tools", "/#tools").classes(f"no-underline {theme.MUTED}")
                ui.link("Pricing", "/#pricing").classes(f"no-underline {theme.MUTED}")
                if viewer is None:
                    ui.link("Sign in", "/login").classes(f"no-underline {theme.MUTED}")
                else:
                    ui.link("Studio", "/studio").classes(f"no-underline {theme.MUTED}")
                ui.label("AGPL-3.0-or-later").classes(f"{theme.MUTED}")


@contextmanager
def frame(title: str, *, viewer: Viewer | None = None, footer: bool = True) -> Iterator[ui.column]:
    """Wrap a page: theme, header, a full-width content column, footer."""
    ui.page_title(f"{title} · Pixora" if title else "Pixora")
    theme.apply_theme()
    _header(viewer)
    with ui.column().classes("w-full min-h-[calc(100vh-56px)] gap-0 items-stretch") as body:
        yield body
    if footer:
        _footer(viewer)

"""Design tokens: the one place that knows Pixora's colours, radii, spacing and type."""

from __future__ import annotations

from nicegui import ui

PRIMARY = "#6d5efc"
PRIMARY_DARK = "#5646e8"
SECONDARY = "#0ea5e9"
ACCENT = "#f472b6"
POSITIVE = "#16a34a"
NEGATIVE = "#dc2626"
WARNING = "#d97706"
INFO = "#2563eb"

RADIUS = "14px"
MAX_WIDTH = "1180px"
FONT_STACK = "Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

# Utility classes shared by pages, so spacing and surfaces stay consistent.
CARD = "rounded-2xl shadow-sm border border-black/5 dark:border-white/10 bg-white dark:bg-[#17171f]"
SECTION = "w-full max-w-[1180px] mx-auto px-5 md:px-8"
MUTED = "text-slate-500 dark:text-slate-400"
HEADING = "font-semibold tracking-tight text-slate-900 dark:text-white"

_CSS = f"""
:root {{ --pixora-primary: {PRIMARY}; --pixora-radius: {RADIUS}; }}
body {{ font-family: {FONT_STACK}; -webkit-font-smoothing: antialiased; }}
body.body--light {{ background: #f7f7fb; color: #1f2330; }}
body.body--dark {{ background: #0e0e14; color: #e6e6ee; }}
.pixora-gradient-text {{
  background: linear-gradient(90deg, {PRIMARY} 0%, {ACCENT} 100%);
  -webkit-background-clip: text; background-clip: text; color: transparent;
}}
.pixora-hero-bg {{
  background: radial-gradient(1200px 500px at 10% -10%, rgba(109,94,252,.18), transparent 60%),
              radial-gradient(900px 400px at 100% 0%, rgba(244,114,182,.14), transparent 60%);
}}
.pixora-checker {{
  background-color: #fff;
  background-image: linear-gradient(45deg, #e5e7eb 25%, transparent 25%),
    linear-gradient(-45deg, #e5e7eb 25%, transparent 25%),
    linear-gradient(45deg, transparent 75%, #e5e7eb 75%),
    linear-gradient(-45deg, transparent 75%, #e5e7eb 75%);
  background-size: 20px 20px; background-position: 0 0, 0 10px, 10px -10px, -10px 0px;
}}
body.body--dark .pixora-checker {{ background-color: #2a2a33;
  background-image: linear-gradient(45deg, #3a3a45 25%, transparent 25%),
    linear-gradient(-45deg, #3a3a45 25%, transparent 25%),
    linear-gradient(45deg, transparent 75%, #3a3a45 75%),
    linear-gradient(-45deg, transparent 75%, #3a3a45 75%); }}
.q-btn {{ text-transform: none; font-weight: 600; letter-spacing: 0; }}
.q-card {{ border-radius: {RADIUS}; }}
a.pixora-link {{ color: {PRIMARY}; text-decoration: none; }}
a.pixora-link:hover {{ text-decoration: underline; }}
"""

# The studio's three-column grid; below 1024 px the side columns become bottom sheets.
STUDIO_CSS = """
.pixora-studio { display: grid; grid-template-columns: 280px minmax(0, 1fr) 360px; height: calc(100dvh - 56px);
  width: 100%; overflow: hidden; }
.pixora-panel { overflow-y: auto; overscroll-behavior: contain; }
.pixora-left { border-right: 1px solid rgba(0,0,0,.06); }
.pixora-right { border-left: 1px solid rgba(0,0,0,.06); }
body.body--dark .pixora-left, body.body--dark .pixora-right { border-color: rgba(255,255,255,.08); }
.pixora-sheet-head, .pixora-bottom-nav { display: none; }
.pixora-photo { display: flex; gap: 10px; align-items: center; padding: 6px; border-radius: 12px; cursor: pointer;
  border: 1px solid transparent; }
.pixora-photo:hover { background: rgba(109,94,252,.06); }
.pixora-photo.is-open { background: rgba(109,94,252,.10); border-color: rgba(109,94,252,.35); }
.pixora-photo img { width: 48px; height: 48px; object-fit: cover; border-radius: 8px; flex: none; }
.pixora-tool.q-expansion--expanded { background: rgba(109,94,252,.06); }
@media (max-width: 1023px) {
  .pixora-studio { grid-template-columns: minmax(0, 1fr); height: calc(100dvh - 56px - 60px); }
  .pixora-sheet { position: fixed; left: 0; right: 0; bottom: 60px; max-height: 72dvh; z-index: 2000;
    transform: translateY(calc(100% + 70px)); transition: transform .22s ease; border-radius: 18px 18px 0 0;
    box-shadow: 0 -12px 40px rgba(0,0,0,.25); border: none !important; }
  body.body--light .pixora-sheet { background: #fff; }
  body.body--dark .pixora-sheet { background: #17171f; }
  .pixora-sheet.is-open { transform: none; }
  .pixora-sheet-head { display: flex; }
  .pixora-bottom-nav { display: flex; position: fixed; left: 0; right: 0; bottom: 0; height: 60px; z-index: 2001;
    border-top: 1px solid rgba(0,0,0,.08); }
  body.body--light .pixora-bottom-nav { background: rgba(255,255,255,.96); }
  body.body--dark .pixora-bottom-nav { background: rgba(20,20,28,.96); border-color: rgba(255,255,255,.08); }
}
"""


def apply_theme() -> None:
    """Colours, fonts and shared CSS for the current page; dark mode follows the system."""
    ui.colors(
        primary=PRIMARY,
        secondary=SECONDARY,
        accent=ACCENT,
        positive=POSITIVE,
        negative=NEGATIVE,
        warning=WARNING,
        info=INFO,
    )
    ui.dark_mode(None)
    ui.add_css(_CSS)
    ui.query(".nicegui-content").classes("p-0 gap-0")

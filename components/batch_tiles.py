"""The batch panel's pieces that only draw: one tile per photo and the one-line summary.

A tile keeps the state it last drew and changes only when that state changed, so a progress event
of one photo costs one small update, never a redraw of the batch.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.testids import tagged
from pixora_ui.services import batch_studio
from pixora_ui.services.batch_views import BatchItem, BatchView

BATCH_CSS = """
.pixora-batch-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(64px, 1fr)); gap: 8px;
  max-height: 216px; overflow-y: auto; }
.pixora-batch-tile { position: relative; aspect-ratio: 1; border-radius: 10px; overflow: hidden;
  border: 1px solid rgba(0,0,0,.06); }
body.body--dark .pixora-batch-tile { border-color: rgba(255,255,255,.08); }
.pixora-batch-tile img { width: 100%; height: 100%; object-fit: cover; display: block; }
.pixora-batch-tile.is-queued img, .pixora-batch-tile.is-running img { opacity: .55; }
.pixora-batch-tile.is-cancelled img { opacity: .35; filter: grayscale(1); }
.pixora-batch-tile.is-failed { border-color: rgba(220,38,38,.6); }
.pixora-batch-tile .pixora-batch-bar { position: absolute; left: 0; bottom: 0; height: 4px;
  background: var(--pixora-primary); transition: width .25s linear; }
.pixora-batch-tile .pixora-batch-badge { position: absolute; right: 4px; top: 4px; width: 20px; height: 20px;
  border-radius: 999px; display: flex; align-items: center; justify-content: center; color: #fff;
  background: rgba(0,0,0,.45); }
.pixora-batch-tile.is-succeeded .pixora-batch-badge { background: #16a34a; }
.pixora-batch-tile.is-failed .pixora-batch-badge { background: #dc2626; }
"""
_BADGES = {"queued": "schedule", "running": "autorenew", "succeeded": "check", "failed": "priority_high"}


def eta_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    if seconds < 1.5:
        return "almost done"
    if seconds < 60:
        return f"about {seconds:.0f} s left"
    return f"about {seconds / 60:.0f} min left"


def photos_text(count: int) -> str:
    return f"{count} photo{'s' if count != 1 else ''}"


def summary(view: BatchView) -> str:
    """The panel's one line: progress and ETA while it runs, the outcome once it is done."""
    if not view.done:
        done = view.total - view.active
        parts = [f"{done} of {view.total} done"]
        if view.failed:
            parts.append(f"{view.failed} failed")
        eta = eta_text(view.eta_seconds)
        return " · ".join([*parts, eta] if eta else parts)
    parts = [f"{photos_text(view.succeeded)} edited"]
    if view.failed:
        parts.append(f"{view.failed} failed")
    if view.cancelled:
        parts.append(f"{view.cancelled} cancelled")
    refunded = sum(1 for item in view.items if item.job.credit_state == "refunded")
    text = " · ".join(parts)
    return f"{text}. {refunded} AI edit{'s' if refunded != 1 else ''} given back." if refunded else text


class BatchTile:
    """One photo of the batch; redrawn only when its state changed."""

    def __init__(self, item: BatchItem, index: int) -> None:
        self.key: tuple[Any, ...] = ()
        with tagged(ui.element("div").classes("pixora-batch-tile pixora-checker"), f"batch-item-{index}") as self.box:
            self.image = ui.element("img").props(
                f'src="{batch_studio.thumbnail_url(item.photo_id)}" alt="" loading="lazy" draggable="false"'
            )
            with ui.element("span").classes("pixora-batch-badge"):
                self.badge = ui.icon("schedule", size="14px")
            self.bar = ui.element("div").classes("pixora-batch-bar").style("width: 0%")
        self.update(item)

    def update(self, item: BatchItem) -> None:
        job = item.job
        key = (job.status, round(job.progress, 2), item.result_id, item.attempts)
        if key == self.key:
            return
        self.key = key
        self.box.classes(replace=f"pixora-batch-tile pixora-checker is-{job.status}")
        self.box.props(f"data-status={job.status}")
        self.badge.props(f"name={_BADGES.get(job.status, 'block')}")
        running = job.status == "running"
        self.bar.style(f"width: {job.progress * 100:.0f}%" if running else "width: 0%")
        if job.status == "succeeded" and item.result_id:
            self.image.props(f'src="{batch_studio.thumbnail_url(item.result_id)}"')
        note = job.error if job.status == "failed" else job.status
        self.box.props["title"] = f"{item.photo_name}: {note}"  # a dict entry: any name is safe, quotes included

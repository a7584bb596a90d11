"""The job panel: queued with position, running with a progress bar and ETA, cancel, done, failed.

A failure offers "Try again" only when running the same request again can work (a timeout, a busy
or unreachable AI service, a restart: `JobView.can_retry`); otherwise it says what to do instead.

It updates elements in place (no rebuilding) so a stream of progress updates costs a few bytes each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.job_eta import Pace, eta_text, tool_message
from components.testids import tagged
from pixora_ui.services.job_views import JobView

TICK_S = 1.0  # the time left is re-read this often between progress reports
# Under a failure that would happen again as it is: the error says why, this says what to do.
CHANGE_HINT = "The same edit would fail the same way: change the settings or the photo first."


class JobPanel:
    def __init__(self, *, on_cancel: Callable[[], Any], on_retry: Callable[[], Any] | None = None) -> None:
        self.job: JobView | None = None
        self._pace: tuple[str, Pace] | None = None  # (job id, its pace) of the running job on show
        with tagged(ui.card().classes(f"{theme.CARD} w-full p-3 gap-2").props("flat"), "job-panel") as self.card:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                self.icon = ui.icon("hourglass_top", size="20px").classes("text-primary")
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.title = tagged(ui.label().classes("text-sm font-semibold"), "job-title")
                    self.detail = tagged(ui.label().classes(f"text-xs {theme.MUTED}"), "job-detail")
                    self.hint = tagged(ui.label(CHANGE_HINT).classes(f"text-xs {theme.MUTED}"), "job-hint")
                self.spinner = ui.spinner(size="18px").classes("text-primary")
                self.cancel = tagged(
                    ui.button("Cancel", on_click=on_cancel).props("flat dense no-caps color=negative"), "job-cancel"
                )
                self.retry = ui.button("Try again", on_click=on_retry or (lambda: None)).props("flat dense no-caps")
                tagged(self.retry, "job-retry")
                self.close = ui.button(icon="close", on_click=self.hide).props("flat round dense size=sm")
            self.bar = tagged(
                ui.linear_progress(value=0, show_value=False, size="6px").props("rounded"), "job-progress"
            )
            self._ticker = ui.timer(TICK_S, self._tick, active=False)
        self.card.set_visibility(False)

    def hide(self) -> None:
        self.card.set_visibility(False)

    def pending(self, tool_label: str) -> None:
        """Immediate feedback on click, before the server has queued anything."""
        self.show(JobView.pending(tool_label))

    def show(self, job: JobView) -> None:
        self.job = job
        self.card.set_visibility(True)
        busy = job.status in {"submitting", "queued", "running"}
        self._ticker.active = job.status == "running"
        self.spinner.set_visibility(busy)
        self.cancel.set_visibility(busy and bool(job.id))
        self.retry.set_visibility(job.can_retry)
        self.hint.set_visibility(job.status == "failed" and not job.can_retry)
        self.close.set_visibility(not busy)
        self.bar.set_visibility(busy)
        if job.status == "submitting":
            self._set("hourglass_top", f"{job.tool_label}", "Starting…", "text-primary")
            self.bar.props("indeterminate")
        elif job.status == "queued":
            position = f"#{job.queue_position} in the queue" if job.queue_position else "In the queue"
            self._set("schedule", f"{job.tool_label}", f"{position} · starting soon", "text-primary")
            self.bar.props("indeterminate")
        elif job.status == "running":
            self._pace_of(job).observe(job.progress, time.monotonic())
            self._set("auto_fix_high", f"{job.tool_label}", self._running_detail(job), "text-primary")
            self.bar.props(remove="indeterminate")
            self.bar.set_value(self._pace_of(job).progress)
        elif job.status == "succeeded":
            self._set("check_circle", f"{job.tool_label}: done", job.note or "Saved as a new version", "text-positive")
            with self.card:
                ui.timer(4.0, lambda j=job: self.hide() if self.job is j else None, once=True)
        elif job.status == "cancelled":
            refunded = _refund_note(job)
            self._set("block", f"{job.tool_label}: cancelled", f"Nothing was changed.{refunded}", "text-slate-400")
        else:
            refunded = " Your credit was refunded." if job.credit_state == "refunded" else ""
            self._set(
                "error",
                f"{job.tool_label} failed",
                f"{job.error or 'Something went wrong.'}{refunded}",
                "text-negative",
            )

    def _pace_of(self, job: JobView) -> Pace:
        if self._pace is None or self._pace[0] != job.id:
            self._pace = (job.id, Pace(started=time.monotonic()))
        return self._pace[1]

    def _running_detail(self, job: JobView) -> str:
        """The tool's step, the percentage and one estimate of the time left: the panel's own."""
        pace = self._pace_of(job)
        parts = [tool_message(job.message), f"{max(0.0, min(1.0, pace.progress)) * 100:.0f}%"]
        parts.append(eta_text(pace.progress, pace.remaining(time.monotonic())))
        return " · ".join(part for part in parts if part)

    def _tick(self) -> None:
        if self.job is not None and self.job.status == "running":
            self.detail.set_text(self._running_detail(self.job))

    def _set(self, icon: str, title: str, detail: str, colour: str) -> None:
        self.icon.props(f"name={icon}")
        self.icon.classes(replace=colour)
        self.title.set_text(title)
        self.detail.set_text(detail)


def _refund_note(job: JobView) -> str:
    """The jobs service already says so in most errors; say it once."""
    if job.credit_state != "refunded" or "refund" in (job.error or "").lower():
        return ""
    return " Your credit was refunded."

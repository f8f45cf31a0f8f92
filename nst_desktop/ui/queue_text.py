"""The Queue panel's words: a row's text and tooltip, and the status line under its bar (counts,
what it waits for, the time left). Plain text; no widgets here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from nst_desktop.services.jobs import format_duration
from nst_desktop.services.queue_store import QueueItem
from nst_desktop.ui.control_choices import EVEN_LAYERS, OBJECTS_KEPT


def row_text(position: int, item: QueueItem, progress: tuple[int, int] | None = None) -> str:
    """A queue row: '3. photo.png × painting.jpg · style-strength 2 — painting, step 4 of 72'."""
    if item.state == "running":
        state = "painting" + (f", step {progress[0]} of {progress[1]}" if progress and progress[1] else "")
    elif item.state == "done":
        name = item.output.name if item.output is not None else ""
        state = f"done: {name}" + (f" ({format_duration(item.seconds)})" if item.seconds else
                                   f" ({item.message})" if item.message else "")
    elif item.state == "failed":
        state = "FAILED: " + item.message.removeprefix(item.batch_item().label() + ": ")
    else:
        state = "waiting"
    return f"{position}. {item.label()} — {state}"


def row_tooltip(item: QueueItem) -> str:
    """A row's tooltip: the item's files, its result and settings, and its message (one per line)."""
    lines = [f"Photo: {item.photo}", f"Painting: {item.style}", f"Results in: {item.out_dir}"]
    if item.output is not None:
        lines.append(f"Result: {item.output}")
    p = item.params
    lines.append(f"Settings: {p.size} px, strength {p.style_strength:g}, brush {p.style_scale:g}×, "
                 f"{p.steps} steps, colours {p.preserve_colors}, start {p.init}"
                 + ("" if p.leave_out_objects else f", the {OBJECTS_KEPT}")
                 + ("" if p.layer_weights == "fine" else f", {EVEN_LAYERS}"))
    if item.message:
        lines.append(item.message)
    return "\n".join(lines)


def status_text(counts: dict[str, int], total: int, active: bool, waits_for_window: bool,
                seconds_left: Callable[[], float | None], run_label: str,
                waiting_seconds: Callable[[], float | None]) -> str:
    """The line under the queue's bar. ``counts``: items per state of ``total``; ``active``: the
    queue is started; ``waits_for_window``: started but the window's own run paints first;
    ``seconds_left``/``waiting_seconds``: the time left while active / of the waiting items while
    stopped (asked only when shown; None or inf: not known); ``run_label``: the Start button's text."""
    if not total:
        return "The queue is empty: add photos and paintings above."
    text = f"{counts['done']} of {total} done"
    if counts["failed"]:
        text += f" · {counts['failed']} failed"
    if waits_for_window:
        text += " · waiting for the window's run to end"
    elif active:
        left = seconds_left()
        if left is not None and math.isfinite(left):
            text += f" · about {format_duration(left)} left"
    elif counts["waiting"]:
        text += f" · {counts['waiting']} waiting (press {run_label})"
        in_all = waiting_seconds()
        if in_all is not None:
            text += f" · about {format_duration(in_all)} in all"
    return text

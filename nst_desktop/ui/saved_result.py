"""A saved result opened again (File > Open Settings from Image) shown as a result in the History.

The file is a result: it is added to the History as a saved entry (its file is where it is
saved) and shown, so it can be compared, continued or copied without painting it again. Its
metadata is untrusted: only numbers of the right type are taken for the caption.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from nst_desktop.engine import ImageError, StyleResult, load_image, read_metadata
from nst_desktop.ui.history_strip import HistoryEntry, HistoryStrip
from nst_desktop.ui.image_pane import ImagePane
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.worker import RunOutcome


def _count(meta: dict[str, Any], key: str) -> int:
    v = meta.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**9 else 0


def _seconds(meta: dict[str, Any], key: str) -> float:
    v = meta.get(key)
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v < 10**9
    return float(v) if ok else 0.0


def saved_outcome(path: str | Path) -> RunOutcome:
    """The result saved in ``path`` as a run's outcome; raises ImageError if it cannot be read."""
    image = load_image(path)
    meta = read_metadata(path) or {}
    result = StyleResult(image, meta.get("cancelled") is True, _count(meta, "steps_done"), 0.0, 0.0,
                         _seconds(meta, "elapsed_s"), dict(meta))
    return RunOutcome(result, pil_to_qimage(image), "")


def show_saved_result(path: str | Path, *, history: HistoryStrip, content_pane: ImagePane,
                      show_entry: Callable[[HistoryEntry], None]) -> HistoryEntry | None:
    """Add the result saved in ``path`` to the ``history`` (once: opened again, its entry is
    chosen) and show it with ``show_entry``; the photo loaded in ``content_pane`` is its "before".
    None if it cannot be read."""
    p = Path(path).resolve()
    entry = next((e for e in history.entries() if e.saved_as is not None and e.saved_as.resolve() == p), None)
    if entry is None:
        try:
            outcome = saved_outcome(p)
        except ImageError:
            return None
        content = content_pane.loaded
        before = (content.image.resize(outcome.result.image.size, Image.Resampling.LANCZOS)
                  if content is not None else None)
        entry, _dropped = history.add(outcome, outcome.result.cancelled, before)
        history.mark_saved(entry, p)
    show_entry(entry)
    return entry

"""How long the Queue's waiting items will take: each item's estimate on the window's device
(from the speed measured on this computer), with each photo's aspect read from its header once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image

from nst_desktop.services.jobs import RunEstimate
from nst_desktop.services.queue_store import QueueItem

#: ``estimate_for(size, aspect_hw, steps, seamless)``: a run's estimate, None while the engine loads.
EstimateFor = Callable[[int, tuple[int, int], int, bool], RunEstimate | None]


class PhotoAspects:
    """Photos' (height, width) from their headers, read once each (3:4 where one cannot be read)."""

    def __init__(self) -> None:
        self._known: dict[Path, tuple[int, int]] = {}

    def __call__(self, photo: Path) -> tuple[int, int]:
        if photo not in self._known:
            try:
                with Image.open(photo) as im:  # the header only: no pixels are decoded
                    w, h = im.size
                self._known[photo] = (h, w) if w > 0 and h > 0 else (3, 4)
            except (OSError, ValueError, Image.DecompressionBombError):
                self._known[photo] = (3, 4)
        return self._known[photo]


def waiting_seconds(items: Iterable[QueueItem], estimate_for: EstimateFor,
                    aspect: Callable[[Path], tuple[int, int]]) -> float | None:
    """The estimated seconds of the waiting ``items``; None where a device's speed is not measured yet."""
    total = 0.0
    for item in items:
        if item.state != "waiting":
            continue
        p = item.params
        est = estimate_for(p.size, aspect(item.photo), p.steps, p.seamless)
        if est is None or not est.measured:
            return None
        total += est.seconds
    return total

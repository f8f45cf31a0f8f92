"""Running a batch's items: the one rendering function (the same here and on a Ray worker), the
writing of a result, and the local queue (one item after another in this process; no Qt).

:func:`render` is a pure function of the two images' bytes and the settings: it is what a Ray
task runs (:mod:`nst_desktop.services.farm`). :func:`write_result` stores the picture with its
settings and inputs, atomically (:func:`nst_desktop.engine.image.images.save_image`): an item killed
before that left no file, so a rerun restarts it; one whose file exists is finished.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from nst_desktop.engine import (
    EngineError,
    ImageError,
    StyleInputs,
    StyleParams,
    load_weights,
    read_metadata,
    save_image,
)
from nst_desktop.engine.image import decode_image
from nst_desktop.engine.net import VGGWeights
from nst_desktop.services.batch import BatchItem, Planned
from nst_desktop.services.output_file import Saved, save_or_keep

if TYPE_CHECKING:  # the run imports the engine's torch modules, not this module (the window's queue uses it)
    from nst_desktop.engine.progress import ProgressCallback


@dataclass(frozen=True)
class Outcome:
    """What became of one planned item. ``ok`` False: ``message`` says why (one line, naming the
    file). ``skipped``: its result existed already (nothing was run). ``seconds``: wall time of
    the item (reading, painting, writing)."""

    planned: Planned
    ok: bool
    seconds: float = 0.0
    message: str = ""
    skipped: bool = False


class Cancelled(Exception):
    """The batch was stopped during an item (that item's result is not written)."""


def read_meta(path: Path) -> dict[str, Any] | None:
    """A file's stored settings, or None when it has none or cannot be read (never raises)."""
    try:
        return read_metadata(path)
    except (ImageError, OSError):
        return None


def read_inputs(item: BatchItem) -> tuple[bytes, bytes]:
    """The encoded bytes of the item's photo and painting. Raises ImageError naming a file that
    vanished or cannot be read."""
    out = []
    for what, path in (("photo", item.photo), ("painting", item.style)):
        try:
            out.append(path.read_bytes())
        except FileNotFoundError:
            raise ImageError(f"the {what} '{path}' no longer exists") from None
        except OSError as exc:
            raise ImageError(f"the {what} '{path}' cannot be read: {exc.strerror or exc}") from None
    return out[0], out[1]


def render(
    photo: bytes,
    style: bytes,
    params: StyleParams,
    photo_name: str,
    style_name: str,
    weights: VGGWeights | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Image.Image, dict[str, Any], bool]:
    """Paint the photo (encoded bytes, as in its file) in the style of the painting with ``params``:
    ``(RGB image, its metadata, cancelled)``. Retried at a smaller size if the device runs out of
    memory (:func:`stylize_fitting`). ``*_name`` name the files in error messages. ``weights``
    None: loaded from ``params.weights`` (cached per process by the engine). Raises
    :class:`EngineError` (ImageError for a bad image) or ValueError."""
    content = decode_image(photo, photo_name)
    painting = decode_image(style, style_name)
    if weights is None:
        weights = load_weights(params.weights)
    from nst_desktop.engine.fit import stylize_fitting

    result = stylize_fitting(StyleInputs(content, painting), params, weights, on_progress, cancel)
    return result.image, result.metadata, result.cancelled


def encode_png(image: Image.Image) -> bytes:
    """Lossless PNG bytes of ``image`` (what a Ray task sends back)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_result(planned: Planned, image: Image.Image, metadata: Mapping[str, Any]) -> Path:
    """Save an item's picture to its output with its settings, inputs and swept values in the
    metadata (atomically). Raises ImageError naming the file when it cannot be written."""
    meta = dict(metadata)
    meta["inputs"] = planned.item.inputs()
    if planned.item.sweep:
        meta["sweep"] = {name: value for name, value in planned.item.sweep}
    return save_image(image, planned.output, meta)


def keep_result(planned: Planned, image: Image.Image, metadata: Mapping[str, Any]) -> Saved:
    """:func:`write_result`, or where the result is kept when its output cannot be written (beside
    it, or the per-user data folder: :func:`nst_desktop.services.output_file.save_or_keep`).
    Raises ImageError when it cannot be written anywhere."""
    return save_or_keep(lambda path: write_result(dataclasses.replace(planned, output=path), image, metadata),
                        planned.output)


def kept_elsewhere(planned: Planned, saved: Saved, seconds: float) -> Outcome:
    """The failed outcome of an item whose result :func:`keep_result` kept elsewhere (it says where)."""
    return Outcome(planned, ok=False, seconds=seconds, message=f"{planned.item.label()}: {saved.note(planned.output)}")


def failure_line(item: BatchItem, exc: BaseException) -> str:
    """One line for a failed item: its photo and painting, and why."""
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not isinstance(exc, (EngineError, ValueError, OSError)):
        why = f"{type(exc).__name__}: {why}"
    return f"{item.label()}: {why}"


def work(item: BatchItem) -> float:
    """The relative cost of an item for the time estimate: steps x output pixels (long side squared)."""
    return float(max(1, item.params.steps) * item.params.size ** 2)


class Eta:
    """Time left of a batch: the wall time per unit of :func:`work` since the batch started,
    measured on the items that finished, times the work left (so items run in parallel, as on
    a cluster, count as they finish). ``None`` until an item finished."""

    def __init__(self, items: Sequence[BatchItem], start: float) -> None:
        """``items``: those to run; ``start``: ``time.perf_counter()`` when the batch started."""
        self._left = sum(work(i) for i in items)
        self._done = 0.0
        self._start = start

    def finished(self, item: BatchItem, ok: bool) -> None:
        """Count an item as out of the queue; a failed one (which took no time to speak of) is not
        used for the rate."""
        self._left = max(0.0, self._left - work(item))
        if ok:
            self._done += work(item)

    def seconds_left(self, now: float) -> float | None:
        if self._done <= 0:
            return None
        return (now - self._start) / self._done * self._left


def run_local(
    planned: Sequence[Planned],
    on_outcome: Callable[[Outcome], None],
    weights: VGGWeights | None = None,
    on_progress: Callable[[Planned, Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[Outcome]:
    """Run the items not ``done`` one after another in this process, writing each result as it
    is made; ``on_outcome`` is called for every item (done ones first reported as skipped), in order.

    A failing item (bad or vanished file, a result that cannot be written, out of memory even at
    smaller sizes, any other exception) is reported with its message and the queue goes on. ``cancel`` stops the run
    within one step: the current item is not written and :class:`Cancelled` is raised.
    """
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    for p in planned:
        if p.done:
            report(Outcome(p, ok=True, skipped=True))
    for p in planned:
        if p.done:
            continue
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        t0 = time.perf_counter()
        try:
            photo, style = read_inputs(p.item)
            if weights is None:
                weights = load_weights(p.item.params.weights)
            progress = None if on_progress is None else (lambda prog, p=p: on_progress(p, prog))
            image, meta, cancelled = render(photo, style, p.item.params, str(p.item.photo), str(p.item.style),
                                            weights, progress, cancel)
            if cancelled:
                raise Cancelled()
            saved = keep_result(p, image, meta)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one item's error (even a bug) fails that item, not the batch
            report(Outcome(p, ok=False, seconds=time.perf_counter() - t0, message=failure_line(p.item, exc)))
            continue
        if saved.problem is not None:
            report(kept_elsewhere(p, saved, time.perf_counter() - t0))
            continue
        report(Outcome(p, ok=True, seconds=time.perf_counter() - t0))
    return outcomes

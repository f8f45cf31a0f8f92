"""Run at the requested size, or at the largest size that fits after an out-of-memory error.

The engine's memory estimate (:mod:`memory`) is checked before a run by the callers
that show it; this module handles the case where the device still runs out (other
programs took memory, fragmentation, an estimate that was low): the run is retried
once per smaller size the estimate suggests, and the caller is told.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from nst_desktop.engine.errors import OutOfMemory, TooLarge
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import RunOptions, StyleInputs, StyleParams, StyleResult
from nst_desktop.engine.progress import ProgressCallback
from nst_desktop.engine.stylize import stylize

#: Retries at smaller sizes before giving up with the OutOfMemory error.
MAX_RETRIES = 2
#: Each retry is at most this fraction of the size that failed (guards against an
#: estimate that keeps suggesting a size just below the failing one).
MAX_RETRY_FRACTION = 0.9


def stylize_fitting(
    inputs: StyleInputs,
    params: StyleParams,
    weights: VGGWeights | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    options: RunOptions | None = None,
    on_retry: Callable[[str, int], None] | None = None,
    run: Callable[..., StyleResult] = stylize,
) -> StyleResult:
    """:func:`stylize` (``run``, given the same arguments), retried at a smaller size if the device
    runs out of memory.

    ``on_retry(message, new_size)`` is called before each retry with a sentence for
    the user. The result's metadata records ``requested_size`` when it differs from
    the size actually made. Raises the last :class:`OutOfMemory` when no smaller
    size is known to fit or :data:`MAX_RETRIES` retries also failed, and a
    :class:`TooLarge` refusal (a size that cannot fit even tiled) as it is.
    """
    requested = params.size
    current = params
    for attempt in range(MAX_RETRIES + 1):
        try:
            result = run(inputs, current, weights, on_progress, cancel, options=options)
        except OutOfMemory as exc:
            if isinstance(exc, TooLarge):
                raise  # refused before the run: the caller offers the size that fits
            limit = int(current.size * MAX_RETRY_FRACTION)
            fits = min(exc.fits, limit) if exc.fits else None
            if attempt == MAX_RETRIES or fits is None or fits < 32 or (cancel is not None and cancel.is_set()):
                raise
            message = f"Out of memory at {current.size} px; retrying at {fits} px, the largest size that fits."
            if on_retry is not None:
                on_retry(message, fits)
            current = replace(current, size=fits)
            continue
        if current.size != requested:
            result.metadata["requested_size"] = requested
        return result
    raise AssertionError("unreachable")

"""What to restore from a result's settings (File > Open Settings from Image, History > Use Settings).

Reads a result's metadata (:func:`nst_desktop.engine.read_metadata`, the regions with
:func:`nst_desktop.engine.provenance.masks_from_metadata`) and returns a frozen
:class:`RestorePlan`: the run's parameters, its style weights as slider percents, the input
files that still exist (the paintings opened), the files that do not, and its regions. The
window applies it. No Qt here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from nst_desktop.engine import ImageError, load_image, read_metadata
from nst_desktop.engine.provenance import masks_from_metadata
from nst_desktop.services.settings import MAX_STYLES

#: A style weight slider's top (percent).
PERCENT_MAX = 100


def weights_to_percent(weights: object, count: int) -> list[int]:
    """A result's ``style_weights`` (relative, any scale) as slider percents, the largest at
    100 %; ``count`` times 100 % when they are missing, of another length or not valid."""
    ok = (isinstance(weights, list) and len(weights) == count and all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w) and w >= 0 for w in weights))
    top = max(weights) if ok and weights else 0
    if not ok or top <= 0:
        return [PERCENT_MAX] * count
    return [round(PERCENT_MAX * w / top) for w in weights]


@dataclass(frozen=True)
class StyleToRestore:
    """A painting of the run that could be opened: its file, image, weight and place in the run."""

    path: Path
    image: Image.Image
    percent: int
    index: int  # among the run's styles (its mask is masks[index])


@dataclass(frozen=True)
class RestorePlan:
    """What a result's metadata gives back (see :func:`plan_from_metadata`).

    params: the run's parameters for the controls (None: the file holds no settings).
    weights: the run's style weights as percents when it blended several paintings, for the
    paintings in use (None otherwise). content: the content photo's file if it still exists.
    styles: the paintings opened. missing: input files not found (or not images any more).
    masks / keep: the run's regions (both None: it painted everywhere); regions_error: why
    they cannot be restored (then both are None).
    """

    params: Mapping[str, object] | None
    weights: tuple[int, ...] | None = None
    content: Path | None = None
    styles: tuple[StyleToRestore, ...] = ()
    missing: tuple[str, ...] = ()
    masks: tuple[Image.Image, ...] | None = None
    keep: Image.Image | None = None
    regions_error: str | None = None

    @property
    def has_settings(self) -> bool:
        return self.params is not None


def _settings(meta: Mapping[str, object] | None) -> tuple[Mapping[str, object] | None, tuple[int, ...] | None]:
    params = meta.get("params") if meta else None
    if not isinstance(params, dict):
        return None, None
    weights = meta.get("style_weights") if meta else None
    if isinstance(weights, list) and len(weights) > 1:
        return params, tuple(weights_to_percent(weights, len(weights)))
    return params, None


def settings_plan(meta: Mapping[str, object] | None) -> RestorePlan:
    """Only the settings (parameters and weights) of ``meta``: the inputs are kept."""
    params, weights = _settings(meta)
    return RestorePlan(params, weights)


def plan_from_metadata(meta: dict | None) -> RestorePlan:
    """Everything to restore from ``meta``: settings, the inputs whose files exist, the regions."""
    params, weights = _settings(meta)
    if params is None or meta is None:
        return RestorePlan(None)
    content: Path | None = None
    missing: list[str] = []
    styles: list[StyleToRestore] = []
    inputs = meta.get("inputs")
    if isinstance(inputs, dict):
        c = inputs.get("content")
        if isinstance(c, str) and Path(c).is_file():
            content = Path(c)
        elif c:
            missing.append(str(c))
        files = inputs.get("styles") if isinstance(inputs.get("styles"), list) else []
        percents = weights_to_percent(meta.get("style_weights"), len(files))
        for i, file in enumerate(files[:MAX_STYLES]):
            if isinstance(file, str) and Path(file).is_file():
                try:
                    styles.append(StyleToRestore(Path(file), load_image(file), percents[i], i))
                    continue
                except ImageError:
                    pass  # no longer an image: named with the missing ones
            if file:
                missing.append(str(file))
    masks = keep = None
    regions_error = None
    try:
        found_masks, keep = masks_from_metadata(meta)
        masks = tuple(found_masks) if found_masks is not None else None
    except ValueError as exc:
        regions_error = str(exc)
    return RestorePlan(params, weights, content, tuple(styles), tuple(missing), masks, keep, regions_error)


def read_plan(path: str | Path) -> RestorePlan:
    """:func:`plan_from_metadata` of the file ``path``; raises ImageError if it cannot be read."""
    return plan_from_metadata(read_metadata(path))

"""What to restore from a result's settings (File > Open Settings from Image, History > Use Settings).

Reads a result's metadata (:func:`nst_desktop.engine.read_metadata`: bounded and checked, it is
untrusted input; the regions with :func:`nst_desktop.engine.provenance.masks_from_metadata`) and
returns a frozen :class:`RestorePlan`: the run's parameters, its style weights as slider percents,
the input files it names that could be opened (:class:`OfferedInput`: nothing is read from them
yet), those that cannot (missing, not images, named by a relative path), and its regions.

Input files are only *offered*: the window lists them and opens them (:func:`load_offered`) only
when the user agrees. A name is looked for only as an absolute path, or, for a bare file name
(what results store by default, see :func:`nst_desktop.engine.provenance.stored_path`), in the
folder of the result itself: never against the current folder. An offered file exists and is
an image by the rules of :func:`nst_desktop.engine.image.images.check_image_file` (a format the app
opens, within the size limits; only its header is read). No Qt here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from nst_desktop.engine import ImageError, load_image, read_metadata
from nst_desktop.engine.image.images import check_image_file
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
class OfferedInput:
    """An input file the result names that exists and is an image (not opened yet).

    path: absolute. index: the painting's place among the run's styles, or :data:`CONTENT` for the
    photo. percent: the painting's weight as a slider percent (100 for the photo)."""

    path: Path
    index: int
    percent: int = PERCENT_MAX

    @property
    def is_content(self) -> bool:
        return self.index == CONTENT

    def describe(self) -> str:
        """'Photo: /path/photo.jpg' or 'Painting 2: /path/p.png' (the path printable)."""
        what = "Photo" if self.is_content else f"Painting {self.index + 1}"
        return f"{what}: {printable(str(self.path))}"


#: :attr:`OfferedInput.index` of the content photo.
CONTENT = -1


@dataclass(frozen=True)
class RestorePlan:
    """What a result's metadata gives back (see :func:`plan_from_metadata`).

    params: the run's parameters for the controls (None: the file holds no settings).
    weights: the run's style weights as percents when it blended several paintings, for the
    paintings in use (None otherwise). offered: the input files that could be opened, the photo
    first (see the module docstring). missing: one line per input that cannot be offered, naming
    it and why. masks / keep: the run's regions (both None: it painted everywhere);
    regions_error: why they cannot be restored (then both are None).
    """

    params: Mapping[str, object] | None
    weights: tuple[int, ...] | None = None
    offered: tuple[OfferedInput, ...] = ()
    missing: tuple[str, ...] = ()
    masks: tuple[Image.Image, ...] | None = None
    keep: Image.Image | None = None
    regions_error: str | None = None

    @property
    def has_settings(self) -> bool:
        return self.params is not None


def printable(text: str, limit: int = 300) -> str:
    """``text`` for a status bar or dialog: unprintable characters as '?', at most ``limit`` characters."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return shown + ("…" if len(text) > limit else "")


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


def locate(name: object, folder: Path | None) -> tuple[Path | None, str]:
    """Where the input a result names as ``name`` is: ``(absolute path, "")`` if it may be offered,
    else ``(None, one line naming it and why not)``. An absolute path as is; a bare file name in
    ``folder`` (the result's own, absolute); anything else (a relative path, a name with a NUL, not
    text) is not looked for."""
    shown = printable(str(name))
    if not isinstance(name, str) or not name or "\0" in name:
        return None, f"{shown} (not a valid file name)"
    p = Path(name)
    if p.is_absolute():
        candidate = p
    elif folder is not None and p.name == name and name not in (".", ".."):
        candidate = folder / name
    else:
        return None, f"{shown} (a relative path: not looked for)"
    try:
        check_image_file(candidate)
    except ImageError as exc:
        text = str(exc).rstrip(".")
        return None, f"{shown} (not found)" if text.endswith("does not exist") else printable(text)
    return candidate, ""


def plan_from_metadata(meta: Mapping[str, object] | None, folder: Path | None = None) -> RestorePlan:
    """Everything to restore from ``meta`` (as :func:`read_metadata` returns it): settings, the inputs
    that may be offered (bare names looked for in ``folder``, see :func:`locate`), the regions."""
    params, weights = _settings(meta)
    if params is None or meta is None:
        return RestorePlan(None)
    offered: list[OfferedInput] = []
    missing: list[str] = []

    def consider(name: object, index: int, percent: int) -> None:
        if name is None or name == "":
            return  # a pasted image: no file
        path, why = locate(name, folder)
        if path is not None:
            offered.append(OfferedInput(path, index, percent))
        else:
            missing.append(why)

    inputs = meta.get("inputs")
    if isinstance(inputs, dict):
        consider(inputs.get("content"), CONTENT, PERCENT_MAX)
        files = inputs.get("styles") if isinstance(inputs.get("styles"), list) else []
        percents = weights_to_percent(meta.get("style_weights"), len(files))
        for i, file in enumerate(files[:MAX_STYLES]):
            consider(file, i, percents[i])
    masks = keep = None
    regions_error = None
    try:
        found_masks, keep = masks_from_metadata(dict(meta))
        masks = tuple(found_masks) if found_masks is not None else None
    except ValueError as exc:
        regions_error = str(exc)
    return RestorePlan(params, weights, tuple(offered), tuple(missing), masks, keep, regions_error)


def read_plan(path: str | Path) -> RestorePlan:
    """:func:`plan_from_metadata` of the file ``path`` (bare input names looked for beside it); raises
    ImageError (one line naming the file) if it cannot be read or its settings are not valid."""
    p = Path(path)
    return plan_from_metadata(read_metadata(p), p.resolve().parent)


def load_offered(offered: tuple[OfferedInput, ...]) -> tuple[Path | None, list[StyleToRestore], list[str]]:
    """Open the offered inputs the user agreed to: ``(the photo's path or None, the paintings opened,
    one line per file that could not be opened after all)``. The photo is only checked here (the
    window's pane loads it)."""
    content: Path | None = None
    styles: list[StyleToRestore] = []
    problems: list[str] = []
    for item in offered:
        if item.is_content:
            content = item.path
            continue
        try:
            styles.append(StyleToRestore(item.path, load_image(item.path), item.percent, item.index))
        except ImageError as exc:
            problems.append(str(exc))
    return content, styles, problems

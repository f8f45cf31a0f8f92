"""Provenance of a result: the settings that made it (:func:`run_metadata`), and the masks of
its regions, stored compactly in the result's metadata.

A run with spatial control (:func:`nst_desktop.engine.stylize.stylize` with ``masks`` /
``keep_mask``) records its masks in ``metadata["regions"]``, so that a saved result can
be re-run with the same regions (File > Open Settings from Image, or
``nst-desktop-cli stylize --masks-from``). The layout (all JSON)::

    "regions": {
        "style_masks": 2,            # number of style masks the run used (0: none)
        "keep_mask": true,           # whether it used a keep-the-photo mask
        "encoding": "png-base64-L",  # each mask: 8-bit grey PNG, base64 (ASCII)
        "max_side": 512,             # long side (px) the masks were reduced to at most
        "style_mask_data": ["iVBORw0KGgo...", ...],   # one per style mask, or null
        "keep_mask_data": "iVBORw0KGgo..."            # or null
    }

``style_masks`` and ``keep_mask`` were the whole record before the masks were stored
and are kept for compatibility. When the masks could not be stored (too large for the
file format's metadata, see :func:`shrink_to_fit`), the ``*_data`` keys are absent and
``"omitted"`` says why.

Masks are white = 1 (paint this style here / keep the photo here) and black = 0, as
the engine takes them. Each is stored in its own size and aspect ratio (the engine
resizes masks to the content anyway), reduced (box filter: the area average, no
ringing) so that its long side is at most ``max_side`` px. 512 px is the default:
it is the app's default output size (a run up to 512 px is reproduced from
exactly-sized masks; larger runs get the stored mask bilinearly enlarged, which only
softens painted edges by a pixel or two of the output), and a 512 px mask costs about
6 KB (hard-edged, as painted in the window) to 18 KB (soft-edged) of base64 PNG. Grainy
masks compress worst (about 150-230 KB at 512 px); the total is kept under
:data:`MAX_MASK_CHARS` by storing all masks at a smaller side (see
:func:`masks_to_metadata`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from nst_desktop.app_info import APP_VERSION
from nst_desktop.engine.params import StyleParams

if TYPE_CHECKING:
    from nst_desktop.engine.net.weights import VGGWeights

#: Value of ``regions["encoding"]``: 8-bit grey ("L") PNG, base64 (standard alphabet, padded).
ENCODING = "png-base64-L"
#: Default limit of a stored mask's long side, px (see the module docstring).
DEFAULT_MAX_SIDE = 512
#: Default budget of all stored masks of one result together, in base64 characters
#: (= bytes of metadata). Masks that would need more are stored at a smaller side.
MAX_MASK_CHARS = 256 * 1024
#: Long sides tried, largest first, when masks must be stored smaller (px).
FALLBACK_SIDES = (512, 384, 256, 192, 128, 96, 64, 48, 32, 24, 16)
#: Limits of the masks a result stores, checked when reading them back before any decoding (the
#: metadata is untrusted): at most 8 style masks (the Style list's 8 paintings; a run with more
#: stores none, ``"omitted"`` says why) and a keep mask, each at most DEFAULT_MAX_SIDE px and
#: MAX_MASK_CHARS of base64: what the app itself writes, no more.
MAX_STORED_MASKS = 8
MAX_STORED_SIDE = DEFAULT_MAX_SIDE
MAX_STORED_PIXELS = MAX_STORED_SIDE * MAX_STORED_SIDE
MAX_ENCODED_CHARS = MAX_MASK_CHARS
#: Largest count of style masks a record may name (a run of more than MAX_STORED_MASKS paintings
#: records its count, without the masks).
MAX_COUNTED_MASKS = 64

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- writing
def run_metadata(
    params: StyleParams, weights: VGGWeights, seed: int, steps_done: int, elapsed_s: float, cancelled: bool
) -> dict[str, Any]:
    """The settings that made an image, for embedding in the saved file (``params`` as run:
    steps and start size resolved, ``seed`` the one used)."""
    p = params.to_dict()
    p["seed"] = seed
    return {
        "program": "NST Desktop",
        "version": APP_VERSION,
        "params": p,
        "weights_name": weights.name,
        "steps_done": steps_done,
        "elapsed_s": round(elapsed_s, 2),
        "cancelled": cancelled,
    }


def stored_path(path: str | os.PathLike[str], keep_paths: bool = False) -> str:
    """How a result's metadata names an input file (``metadata["inputs"]``): its file name only by
    default, since a shared result would show its folders (and with them user names); the absolute
    path with ``keep_paths`` (the CLI's ``--keep-paths``, the window's setting)."""
    p = Path(path)
    return str(p.resolve()) if keep_paths else p.name


def _reduce(mask: Image.Image, max_side: int) -> Image.Image:
    """``mask`` as mode "L", long side at most ``max_side`` px (aspect kept, box filter)."""
    if not isinstance(mask, Image.Image):
        raise ValueError(f"a mask must be an image, not {type(mask).__name__}")
    grey = mask if mask.mode == "L" else mask.convert("L")
    w, h = grey.size
    long_side = max(w, h)
    if long_side <= max_side:
        return grey
    scale = max_side / long_side
    size = (max(1, min(max_side, round(w * scale))), max(1, min(max_side, round(h * scale))))
    return grey.resize(size, Image.Resampling.BOX)


def _encode(mask: Image.Image) -> str:
    buf = io.BytesIO()
    mask.save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _record(
    masks: Sequence[Image.Image] | None, keep_mask: Image.Image | None, max_side: int
) -> dict[str, Any]:
    return {
        "style_masks": 0 if masks is None else len(masks),
        "keep_mask": keep_mask is not None,
        "encoding": ENCODING,
        "max_side": max_side,
        "style_mask_data": None if masks is None else [_encode(_reduce(m, max_side)) for m in masks],
        "keep_mask_data": None if keep_mask is None else _encode(_reduce(keep_mask, max_side)),
    }


def _data_chars(record: Mapping[str, Any]) -> int:
    """Base64 characters of the masks stored in ``record`` (anything that is not text counts 0)."""
    styles = record.get("style_mask_data")
    texts = [*(styles if isinstance(styles, list) else []), record.get("keep_mask_data")]
    return sum(len(t) for t in texts if isinstance(t, str))


def _without_data(record: Mapping[str, Any], reason: str) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in ("style_mask_data", "keep_mask_data", "max_side")}
    out["omitted"] = reason
    return out


def masks_to_metadata(
    masks: Sequence[Image.Image] | None,
    keep_mask: Image.Image | None,
    max_side: int = DEFAULT_MAX_SIDE,
    *,
    max_chars: int = MAX_MASK_CHARS,
) -> dict[str, Any]:
    """The ``metadata["regions"]`` record of a run's masks (JSON-serialisable; layout above).

    ``masks``: one mask per style or None; ``keep_mask``: the keep-the-photo mask or
    None; any Pillow mode (converted to "L" as the engine converts them). Each mask is
    reduced so that its long side is at most ``max_side`` px; if all encoded masks
    together exceed ``max_chars`` base64 characters, they are all stored at the next
    smaller side of :data:`FALLBACK_SIDES`, and left out (``"omitted"`` says so) if even
    16 px does not fit. Raises ``ValueError`` if a mask is not a Pillow image.
    """
    if not 1 <= max_side <= MAX_STORED_SIDE:
        raise ValueError(f"max_side must be from 1 to {MAX_STORED_SIDE} px, not {max_side}")
    masks = None if masks is None else list(masks)
    if masks is not None and len(masks) > MAX_STORED_MASKS:
        record = {"style_masks": len(masks), "keep_mask": keep_mask is not None, "encoding": ENCODING}
        return _without_data(record, f"the masks of more than {MAX_STORED_MASKS} paintings are not stored")
    sides = [max_side, *(s for s in FALLBACK_SIDES if s < max_side)]
    for side in sides:
        record = _record(masks, keep_mask, side)
        if _data_chars(record) <= max_chars:
            return record
    return _without_data(
        _record(masks, keep_mask, sides[-1]),
        f"the masks need more than {max_chars} bytes of metadata even at {sides[-1]} px",
    )


def metadata_chars(metadata: Mapping[str, Any]) -> int:
    """Length of ``metadata`` as :func:`nst_desktop.engine.image.images.save_image` writes it (JSON, ASCII)."""
    return len(json.dumps(metadata, sort_keys=True))


#: Keys of a result's metadata kept when even the masks' removal is not enough (see shrink_to_fit).
_CORE_KEYS = ("program", "version", "params", "weights_name", "style_weights", "regions", "continued")


def shrink_to_fit(metadata: Mapping[str, Any], max_chars: int, where: str = "this file type") -> dict[str, Any]:
    """A copy of ``metadata`` whose JSON (as saved) has at most ``max_chars`` characters.

    For file formats with a hard limit on metadata (JPEG: 64 KB per segment). In order,
    until it fits: the stored masks are re-stored at smaller long sides
    (:data:`FALLBACK_SIDES`); they are left out (``regions["omitted"]`` names ``where``);
    only the keys needed to restore the controls are kept (``"truncated": true``); and
    finally an empty dict. Never raises (damaged mask data is left out); ``metadata``
    itself is not changed.
    """
    out = copy.deepcopy(dict(metadata))
    if metadata_chars(out) <= max_chars:
        return out
    regions = out.get("regions")
    if isinstance(regions, dict) and ("style_mask_data" in regions or "keep_mask_data" in regions):
        try:
            masks, keep = masks_from_metadata(out)
        except ValueError:
            masks, keep = None, None
        stored = regions.get("max_side")
        current = stored if isinstance(stored, int) and not isinstance(stored, bool) else DEFAULT_MAX_SIDE
        if masks is not None or keep is not None:
            for side in (s for s in FALLBACK_SIDES if s < current):
                out["regions"] = _record(masks, keep, side)
                if metadata_chars(out) <= max_chars:
                    return out
        out["regions"] = _without_data(regions, f"the masks did not fit in the metadata of {where}")
        if metadata_chars(out) <= max_chars:
            return out
    core = {k: out[k] for k in _CORE_KEYS if k in out}
    core["truncated"] = True
    if metadata_chars(core) <= max_chars:
        return core
    return {}


# ----------------------------------------------------------------------------- reading
def _count(regions: Mapping[str, Any], key: str) -> int:
    value = regions.get(key, 0)
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if not isinstance(value, int) or not 0 <= value <= MAX_COUNTED_MASKS:
        raise ValueError(f"regions: '{key}' must be a count from 0 to {MAX_COUNTED_MASKS}, not {value!r}")
    return value


def _decode(text: object, what: str) -> Image.Image:
    """One stored mask → mode "L" Pillow image (loaded). Raises ValueError naming ``what``."""
    if not isinstance(text, str):
        raise ValueError(f"{what}: expected base64 text, not {type(text).__name__}")
    if len(text) > MAX_ENCODED_CHARS:
        raise ValueError(f"{what}: {len(text)} characters of data, more than the limit of {MAX_ENCODED_CHARS}")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError(f"{what}: not valid base64") from None
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError(f"{what}: not a PNG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data), formats=["PNG"])
    except Image.DecompressionBombError:
        raise ValueError(f"{what}: the image is too large to open safely") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises assorted types on damaged data
        raise ValueError(f"{what}: damaged PNG data ({type(exc).__name__}: {exc})") from None
    w, h = img.size
    if w < 1 or h < 1 or max(w, h) > MAX_STORED_SIDE or w * h > MAX_STORED_PIXELS:
        raise ValueError(f"{what}: {w}x{h} px is outside the limits (long side 1 to {MAX_STORED_SIDE} px)")
    if img.mode != "L":
        raise ValueError(f"{what}: a grey (mode L) PNG was expected, not mode {img.mode}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{what}: damaged PNG data ({type(exc).__name__}: {exc})") from None
    return img


def masks_from_metadata(meta: dict) -> tuple[list[Image.Image] | None, Image.Image | None]:
    """The masks stored in a result's metadata (as :func:`~nst_desktop.engine.image.images.read_metadata`
    returns it): ``(style masks or None, keep mask or None)``, mode "L" images at their
    stored size (white = 1; the engine resizes them to the content).

    Returns ``(None, None)`` when the run used no regions (no ``"regions"`` record, or
    one with no masks). Raises ``ValueError`` with a message fit for the user, and
    nothing else, when the run used regions but they cannot be restored: masks left out
    (too large for the file's metadata), an older version that did not store them,
    or damaged or malicious data (wrong types, bad base64, not a PNG, an image larger
    than :data:`MAX_STORED_SIDE` px, more than :data:`MAX_STORED_MASKS` masks).
    """
    if meta is None:
        return None, None
    if not isinstance(meta, Mapping):
        raise ValueError(f"the metadata must be a dict, not {type(meta).__name__}")
    regions = meta.get("regions")
    if regions is None:
        return None, None
    if not isinstance(regions, Mapping):
        raise ValueError(f"regions: expected a record, not {type(regions).__name__}")
    n_styles = _count(regions, "style_masks")
    n_keep = _count(regions, "keep_mask")
    if n_keep > 1:
        raise ValueError(f"regions: 'keep_mask' must be true or false, not {regions.get('keep_mask')!r}")
    if n_styles == 0 and n_keep == 0:
        return None, None
    omitted = regions.get("omitted")
    if "style_mask_data" not in regions and "keep_mask_data" not in regions:
        if isinstance(omitted, str) and omitted:
            raise ValueError(f"The regions were not stored with this image: {omitted}.")
        raise ValueError("The regions were not stored with this image (it was made by an older version).")
    encoding = regions.get("encoding")
    if encoding != ENCODING:
        raise ValueError(f"regions: unknown mask encoding {encoding!r} (expected {ENCODING!r})")
    masks: list[Image.Image] | None = None
    if n_styles > MAX_STORED_MASKS:
        raise ValueError(f"regions: {n_styles} style masks, more than the {MAX_STORED_MASKS} the app stores")
    if _data_chars(regions) > MAX_MASK_CHARS:  # counted before anything is decoded
        raise ValueError(f"regions: {_data_chars(regions)} characters of mask data, more than the "
                         f"{MAX_MASK_CHARS} the app stores")
    if n_styles:
        data = regions.get("style_mask_data")
        if not isinstance(data, list) or len(data) != n_styles:
            got = f"{len(data)} masks" if isinstance(data, list) else type(data).__name__
            raise ValueError(f"regions: {n_styles} style masks were recorded but the data holds {got}")
        masks = [_decode(d, f"style mask {i + 1}") for i, d in enumerate(data)]
    keep = _decode(regions.get("keep_mask_data"), "keep mask") if n_keep else None
    return masks, keep


def describe_regions(meta: Mapping[str, Any] | None) -> str | None:
    """One line about the regions of a result's metadata, for people; None if it has none.

    E.g. "2 style masks and a keep mask, stored at 512x384 px (11.5 KB)", or why they
    cannot be restored. Never raises.
    """
    try:
        masks, keep = masks_from_metadata(meta)  # type: ignore[arg-type]
    except ValueError as exc:
        return f"regions used, but they cannot be restored: {exc}"
    if masks is None and keep is None:
        return None
    parts = []
    if masks:
        parts.append(f"{len(masks)} style mask{'s' if len(masks) != 1 else ''}")
    if keep is not None:
        parts.append("a keep mask")
    sizes = sorted({f"{m.width}x{m.height}" for m in [*(masks or []), *([keep] if keep is not None else [])]})
    regions = meta["regions"] if meta is not None else {}
    chars = _data_chars(regions)
    kb = math.ceil(chars / 102.4) / 10
    return f"{' and '.join(parts)}, stored at {', '.join(sizes)} px ({kb:g} KB)"


__all__ = [
    "DEFAULT_MAX_SIDE",
    "ENCODING",
    "MAX_MASK_CHARS",
    "describe_regions",
    "masks_from_metadata",
    "masks_to_metadata",
    "metadata_chars",
    "shrink_to_fit",
    "stored_path",
]

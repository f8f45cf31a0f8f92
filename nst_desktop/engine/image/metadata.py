"""A result's stored settings read back as untrusted input: bounded, parsed, and checked field by field.

:func:`nst_desktop.engine.image.images.read_metadata` takes the text from the file's PNG text chunk or
EXIF ImageDescription and hands it to :func:`parse_metadata`, which

- bounds it before parsing: at most :data:`MAX_METADATA_CHARS` characters (what the app writes
  is far less: the masks' budget, ``provenance.MAX_MASK_CHARS``, plus a few KB), nesting at most
  :data:`MAX_JSON_DEPTH` deep, numbers at most :data:`MAX_NUMBER_CHARS` characters long (Python's
  int parser is quadratic, and refuses 4300 digits with a ValueError), no NaN or Infinity;
- checks every field the app writes against what it writes: ``params`` against
  :class:`~nst_desktop.engine.params.StyleParams` (types, ranges, choices), counts and lists
  against their limits, the regions' record against :mod:`provenance`'s limits (counted, not
  decoded); keys the app does not know are left out (a newer version's additions);
- raises :class:`~nst_desktop.engine.errors.ImageError` with one line naming the file for
  anything else.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from nst_desktop.engine.errors import ImageError, quoted
from nst_desktop.engine.params import MAX_SIZE, MAX_STEPS, MAX_TILE, MIN_SIZE, StyleParams
from nst_desktop.engine.provenance import MAX_COUNTED_MASKS, MAX_STORED_MASKS, MAX_STORED_SIDE

#: Most characters of stored settings read (512 KiB: twice the masks' budget of 256 KiB).
MAX_METADATA_CHARS = 512 * 1024
#: Deepest nesting of lists and objects (the app writes 3: metadata > regions > list of masks).
MAX_JSON_DEPTH = 8
#: Longest number (characters): a seed of 2**63-1 has 19 digits, a float's repr at most 24.
MAX_NUMBER_CHARS = 32
#: Longest text of a name or a path field (characters; 4096 is Linux's PATH_MAX).
MAX_TEXT_CHARS = 4096
#: Most paintings a run's record lists (styles, their weights and masks): the Style list's 8.
MAX_LISTED_STYLES = MAX_STORED_MASKS

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class _Invalid(ValueError):
    """A field that is not what the app writes (message: which and why)."""


def _depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` in JSON ``text`` (brackets inside strings not counted)."""
    marks = _BRACKETS.findall(_STRING.sub('""', text))
    steps = (1 if m in "[{" else -1 for m in marks)
    return max(itertools.accumulate(steps, initial=0))


def _number(kind: Callable[[str], float | int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Invalid(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
        value = kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Invalid(f"the number {text[:40]} is out of range")
        return value
    return parse


def _no_constant(text: str) -> None:
    raise _Invalid(f"{text} is not a number the app writes")


def parse_metadata(text: str | bytes, name: str) -> dict[str, Any] | None:
    """The stored settings of the file ``name`` (for messages) from their JSON ``text``, checked
    (see the module docstring). ``None`` when the text is not JSON at all or not an object (an
    image described by another program). Raises :class:`ImageError` naming the file for text
    that is too large or too deep, and for a field the app would not have written."""
    label = quoted(name)
    if len(text) > MAX_METADATA_CHARS:
        raise ImageError(f"{label}: its stored settings are too large ({len(text)} characters; "
                         f"at most {MAX_METADATA_CHARS} are read).")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.rstrip("\0")
    if not text.lstrip().startswith("{"):
        return None  # a description written by something else
    try:
        depth = _depth(text)
        if depth > MAX_JSON_DEPTH:
            raise _Invalid(f"nested {depth} deep (at most {MAX_JSON_DEPTH})")
        data = json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant)
        if not isinstance(data, dict):
            return None
        return _checked(data)
    except _Invalid as exc:
        raise ImageError(f"{label}: its stored settings are not valid ({exc}).") from None
    except (json.JSONDecodeError, UnicodeError):
        return None  # not JSON: a description written by something else
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ImageError(f"{label}: its stored settings cannot be read ({type(exc).__name__}).") from None


# ----------------------------------------------------------------------------- the fields
def _text(value: object, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{what} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise _Invalid(f"{what} is {len(value)} characters long (at most {limit})")
    return value


def _int(value: object, what: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise _Invalid(f"{what} must be a whole number from {lo} to {hi}, not {_show(value)}")
    return value


def _real(value: object, what: str, lo: float = 0.0, hi: float = math.inf) -> float:
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            or not lo <= value <= hi):
        raise _Invalid(f"{what} must be a number from {lo:g} to {hi:g}, not {_show(value)}")
    return value


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"{what} must be true or false, not {_show(value)}")
    return value


def _list(value: object, what: str, limit: int, item: Callable[[object, str], Any]) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(f"{what} must be a list, not {type(value).__name__}")
    if len(value) > limit:
        raise _Invalid(f"{what} holds {len(value)} entries (at most {limit})")
    return [item(v, f"{what}[{i}]") for i, v in enumerate(value)]


def _optional(check: Callable[[object, str], Any]) -> Callable[[object, str], Any]:
    return lambda value, what: None if value is None else check(value, what)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _params(value: object, what: str) -> dict[str, Any]:
    """A run's ``params``: each StyleParams field of the type of its default (``seed``: an int or
    null), then StyleParams' own ranges and choices. Keys StyleParams does not have are left out."""
    if not isinstance(value, dict):
        raise _Invalid(f"{what} must be a record, not {type(value).__name__}")
    out: dict[str, Any] = {}
    for f in dataclasses.fields(StyleParams):
        if f.name not in value:
            continue
        v = value[f.name]
        key = f"{what}.{f.name}"
        if f.name == "seed":
            out[f.name] = _optional(lambda x, w: _int(x, w, 0, 2**63 - 1))(v, key)
        elif isinstance(f.default, bool):
            out[f.name] = _bool(v, key)
        elif isinstance(f.default, int):
            out[f.name] = _int(v, key, -(2**63), 2**63 - 1)
        elif isinstance(f.default, float):
            out[f.name] = _real(v, key, -math.inf, math.inf)
        else:
            out[f.name] = _text(v, key)
    try:
        StyleParams(**out).validate()
    except ValueError as exc:
        raise _Invalid(f"{what}: {exc}") from None
    return out


def _regions(value: object, what: str) -> dict[str, Any]:
    """The regions' record (see provenance.py): counts and sizes checked, the masks not decoded."""
    if not isinstance(value, dict):
        raise _Invalid(f"{what} must be a record, not {type(value).__name__}")
    out: dict[str, Any] = {}
    checks: dict[str, Callable[[object, str], Any]] = {
        "style_masks": _count(MAX_COUNTED_MASKS),
        "keep_mask": _count(1),
        "encoding": lambda v, w: _text(v, w, 100),
        "max_side": lambda v, w: _int(v, w, 1, MAX_STORED_SIDE),
        "style_mask_data": _optional(lambda v, w: _list(v, w, MAX_STORED_MASKS, _optional(_text_any))),
        "keep_mask_data": _optional(_text_any),
        "omitted": lambda v, w: _text(v, w, 1000),
    }
    for key, check in checks.items():
        if key in value:
            out[key] = check(value[key], f"{what}.{key}")
    return out


def _count(hi: int) -> Callable[[object, str], int | bool]:
    """A count from 0 to ``hi``, or true / false (as older versions wrote it), kept as it is."""
    def check(value: object, what: str) -> int | bool:
        if not isinstance(value, bool):
            _int(value, what, 0, hi)
        return value  # type: ignore[return-value]
    return check


def _text_any(value: object, what: str) -> str:
    return _text(value, what, MAX_METADATA_CHARS)


def _inputs(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"{what} must be a record, not {type(value).__name__}")
    path = _optional(_text)
    paths = _optional(lambda v, w: _list(v, w, MAX_LISTED_STYLES, path))
    checks = {"content": path, "styles": paths, "masks": paths, "keep_mask": path, "masks_from": path}
    return {key: check(value[key], f"{what}.{key}") for key, check in checks.items() if key in value}


def _sweep(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > 8:
        raise _Invalid(f"{what} must be a record of at most 8 settings")
    out = {}
    for k, v in value.items():
        _text(k, f"{what} key", 100)
        if isinstance(v, str):
            out[k] = _text(v, f"{what}.{k}", 100)
        else:
            out[k] = v if isinstance(v, bool) else _real(v, f"{what}.{k}", -math.inf, math.inf)
    return out


#: Most cells, rows or columns of a contact sheet's record (a batch plans at most 10,000 items).
MAX_SHEET_CELLS = 10_000


def _sheet(value: object, what: str) -> dict[str, Any]:
    """A contact sheet's record (services/contact_sheet.py): labels, cell size, each cell's box and result."""
    if not isinstance(value, dict):
        raise _Invalid(f"{what} must be a record, not {type(value).__name__}")
    labels = lambda v, w: _list(v, w, MAX_SHEET_CELLS, lambda x, y: _text(x, y, 1000))  # noqa: E731
    index = lambda v, w: _int(v, w, 0, MAX_SHEET_CELLS)  # noqa: E731
    coord = lambda v, w: _int(v, w, 0, 1 << 20)  # noqa: E731

    def cell(v: object, w: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise _Invalid(f"{w} must be a record, not {type(v).__name__}")
        checks = {"row": index, "col": index, "output": _optional(_text), "note": _optional(_text),
                  "box": lambda b, x: _list(b, x, 4, coord)}
        return {k: check(v[k], f"{w}.{k}") for k, check in checks.items() if k in v}

    checks = {"rows": labels, "cols": labels, "cell_px": lambda v, w: _int(v, w, 1, 1 << 16),
              "cells": lambda v, w: _list(v, w, MAX_SHEET_CELLS, cell)}
    return {k: check(value[k], f"{what}.{k}") for k, check in checks.items() if k in value}


#: The fields the app writes (provenance.run_metadata, stylize, fit, the CLI, the window, batches, sheets).
_FIELDS: dict[str, Callable[[object, str], Any]] = {
    "program": lambda v, w: _text(v, w, 100),
    "version": lambda v, w: _text(v, w, 100),
    "params": _params,
    "weights_name": lambda v, w: _text(v, w, 1000),
    "steps_done": lambda v, w: _int(v, w, 0, 100 * MAX_STEPS),
    "elapsed_s": lambda v, w: _real(v, w),
    "cancelled": _bool,
    "continued": _bool,
    "truncated": _bool,
    "style_weights": lambda v, w: _list(v, w, MAX_LISTED_STYLES, lambda x, y: _real(x, y)),
    "precision_used": lambda v, w: _text(v, w, 1000),
    "tiles_used": lambda v, w: _list(v, w, 64, _optional(lambda x, y: _int(x, y, 0, MAX_TILE))),
    "requested_size": lambda v, w: _int(v, w, MIN_SIZE, MAX_SIZE),
    "regions": _regions,
    "inputs": _inputs,
    "sweep": _sweep,
    "sheet": _sheet,
}


def _checked(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with its known fields checked (raises _Invalid) and unknown ones left out."""
    return {key: check(data[key], key) for key, check in _FIELDS.items() if key in data}

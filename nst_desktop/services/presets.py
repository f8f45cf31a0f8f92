"""Named presets of the painting settings: stored per user, exported and imported as files (no Qt).

A :class:`Preset` holds every setting that decides a result: strength, brush scale, colours,
quality, start, seed, size, seamless, the paintings (files) with their weights, the weights
source and the *kind* of device ("cpu", "cuda", "mps"). Applied on another computer of the
same kind with the same painting files, it paints the same picture (the run is deterministic
for a seed on one kind of device; the quality's step count is the device kind's own).

The user's presets live in ``presets.json`` in :func:`nst_desktop.services.paths.config_dir`
(written atomically). A preset file (export / import) holds one preset::

    {"format": "nst-desktop-preset", "version": 1, "preset": {"name": ..., "size": ..., ...}}

Every file is untrusted: its size is bounded before it is read, every field is checked
(type, range, known values; no field missing, none unknown), and a problem is raised as a
:class:`PresetError` whose text is one line naming the file and what is wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from nst_desktop.engine.params import (
    INITS,
    LAYER_WEIGHTS,
    LAYER_WEIGHTS_BEFORE,
    MAX_SIZE,
    MAX_STYLE_SCALE,
    MAX_STYLE_STRENGTH,
    MIN_SIZE,
    MIN_STYLE_SCALE,
    MIN_STYLE_STRENGTH,
    PRESERVE_COLORS,
    QUALITY_PRESETS,
)
from nst_desktop.services import paths
from nst_desktop.services.settings import MAX_SEED, MAX_STYLES, WEIGHT_SOURCES

PRESETS_FILENAME = "presets.json"
FILE_FORMAT = "nst-desktop-preset"
FORMAT_VERSION = 1
#: Largest preset file read (bytes): one preset is well under 4 KB.
MAX_PRESET_FILE_BYTES = 64 * 1024
#: Largest store read (bytes) and most presets it holds.
MAX_STORE_BYTES = 2 * 1024 * 1024
MAX_PRESETS = 200
MAX_NAME_CHARS = 80
MAX_PATH_CHARS = 4096
DEVICE_KINDS = ("cpu", "cuda", "mps")


class PresetError(ValueError):
    """A preset file or the store cannot be used; the text is one line for people."""


@dataclass(frozen=True)
class PresetStyle:
    """A painting of a preset: its file (absolute path) and weight, 0.0 .. 1.0 (relative)."""

    path: str
    weight: float = 1.0


@dataclass(frozen=True)
class Preset:
    """The settings of a run under a name (see the module). ``device`` is a device *kind*."""

    name: str
    size: int
    style_strength: float
    style_scale: float
    preserve_colors: str
    quality: str
    init: str
    seed: int
    seamless: bool
    device: str
    weights: str
    styles: tuple[PresetStyle, ...]
    #: Optional in a preset file (older ones have none): False when missing.
    leave_out_objects: bool = False
    #: Optional too: all layers alike, as before the choice, when missing.
    layer_weights: str = LAYER_WEIGHTS_BEFORE

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["styles"] = [asdict(s) for s in self.styles]
        return d


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def clean_name(name: str) -> str:
    """``name`` stripped; raises PresetError if empty, too long or holding control characters."""
    if not isinstance(name, str):
        raise PresetError("the name is not text")
    name = name.strip()
    if not name:
        raise PresetError("the name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise PresetError(f"the name is longer than {MAX_NAME_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise PresetError("the name holds control characters")
    return name


def _check_styles(value: Any) -> tuple[PresetStyle, ...]:
    if not isinstance(value, list) or len(value) > MAX_STYLES:
        raise PresetError(f"'styles' must be a list of at most {MAX_STYLES} paintings")
    out = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or set(item) != {"path", "weight"}:
            raise PresetError(f"painting {i} must have exactly a 'path' and a 'weight'")
        path, weight = item["path"], item["weight"]
        if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS or "\0" in path:
            raise PresetError(f"painting {i} has no valid file path")
        if not Path(path).is_absolute():
            raise PresetError(f"painting {i}'s path is not absolute")
        if not _is_number(weight) or not 0.0 <= weight <= 1.0:
            raise PresetError(f"painting {i}'s weight must be a number from 0 to 1")
        out.append(PresetStyle(path, float(weight)))
    return tuple(out)


def _choice(name: str, options: tuple[str, ...] | list[str]) -> Any:
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in options:
            raise PresetError(f"'{name}' must be one of {', '.join(options)}")
        return v
    return check


def _ranged(name: str, lo: float, hi: float, integer: bool = False) -> Any:
    def check(v: Any) -> float | int:
        ok = _is_int(v) if integer else _is_number(v)
        if not ok or not lo <= v <= hi:
            kind = "a whole number" if integer else "a number"
            raise PresetError(f"'{name}' must be {kind} from {lo:g} to {hi:g}")
        return int(v) if integer else float(v)
    return check


def _boolean(name: str) -> Any:
    def check(v: Any) -> bool:
        if not isinstance(v, bool):
            raise PresetError(f"'{name}' must be true or false")
        return v
    return check


#: The check of each field (every field of Preset has one).
_CHECKS = {
    "name": clean_name,
    "size": _ranged("size", MIN_SIZE, MAX_SIZE, integer=True),
    "style_strength": _ranged("style_strength", MIN_STYLE_STRENGTH, MAX_STYLE_STRENGTH),
    "style_scale": _ranged("style_scale", MIN_STYLE_SCALE, MAX_STYLE_SCALE),
    "preserve_colors": _choice("preserve_colors", PRESERVE_COLORS),
    "quality": _choice("quality", list(QUALITY_PRESETS)),
    "init": _choice("init", INITS),
    "seed": _ranged("seed", 0, MAX_SEED, integer=True),
    "seamless": _boolean("seamless"),
    "device": _choice("device", DEVICE_KINDS),
    "weights": _choice("weights", WEIGHT_SOURCES),
    "styles": _check_styles,
    "leave_out_objects": _boolean("leave_out_objects"),
    "layer_weights": _choice("layer_weights", LAYER_WEIGHTS),
}
#: Fields a preset file may leave out (they were added later): their defaults apply.
_OPTIONAL = frozenset({"leave_out_objects", "layer_weights"})
assert set(_CHECKS) == {f.name for f in fields(Preset)}


def preset_from_dict(data: Any) -> Preset:
    """A checked :class:`Preset` from parsed JSON; raises PresetError naming the first bad field."""
    if not isinstance(data, dict):
        raise PresetError("it does not hold a preset object")
    missing = [k for k in _CHECKS if k not in data and k not in _OPTIONAL]
    if missing:
        raise PresetError(f"it has no '{missing[0]}'")
    unknown = sorted(k for k in data if k not in _CHECKS)
    if unknown:
        raise PresetError(f"it has an unknown field '{str(unknown[0])[:40]}'")
    return Preset(**{k: check(data[k]) for k, check in _CHECKS.items() if k in data})


def _read_json(path: Path, limit: int) -> Any:
    """Parsed JSON of ``path``, at most ``limit`` bytes; PresetError (without the file name) if not."""
    try:
        if not path.is_file():
            raise PresetError("it is not a file" if path.exists() else "it does not exist")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise PresetError(f"it cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise PresetError(f"it is larger than {limit // 1024} KB")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PresetError("it is not a text (JSON) file") from None
    except json.JSONDecodeError as exc:
        raise PresetError(f"it is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise PresetError(f"it is not valid JSON ({type(exc).__name__})") from None


def read_preset_file(path: str | Path) -> Preset:
    """The preset of an exported file; raises PresetError("'name.json' is not a usable preset: ...")."""
    p = Path(path)
    try:
        data = _read_json(p, MAX_PRESET_FILE_BYTES)
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise PresetError("it is not an NST Desktop preset file")
        version = data.get("version")
        if not _is_int(version) or version < 1:
            raise PresetError("it has no valid version number")
        if version > FORMAT_VERSION:
            raise PresetError(f"it was made by a newer version of the app (format {version})")
        if set(data) != {"format", "version", "preset"}:
            raise PresetError("it holds more than one preset or unknown fields")
        return preset_from_dict(data["preset"])
    except PresetError as exc:
        raise PresetError(f"'{p.name}' is not a usable preset: {exc}.") from None


def write_preset_file(preset: Preset, path: str | Path) -> Path:
    """Export ``preset`` to ``path`` (atomically); raises OSError if it cannot be written."""
    p = Path(path)
    text = json.dumps({"format": FILE_FORMAT, "version": FORMAT_VERSION, "preset": preset.to_dict()}, indent=2)
    paths.write_text_atomic(p, text + "\n")
    return p


def store_path() -> Path:
    """The current user's presets file."""
    return paths.config_dir() / PRESETS_FILENAME


@dataclass(frozen=True)
class Loaded:
    """The presets read from the store, and a sentence if some (or the file) could not be used."""

    presets: tuple[Preset, ...]
    problem: str | None = None


def load_presets(path: Path | None = None) -> Loaded:
    """The stored presets (none if there is no file). Never raises: a bad preset is skipped
    and a bad file gives none, each with a sentence saying so (the file is left as it is)."""
    p = store_path() if path is None else path
    if not p.exists():
        return Loaded(())
    try:
        data = _read_json(p, MAX_STORE_BYTES)
        if not isinstance(data, dict) or not _is_int(data.get("version")) or not isinstance(data.get("presets"), list):
            raise PresetError("it does not hold a list of presets")
        if data["version"] > FORMAT_VERSION:
            raise PresetError(f"it was written by a newer version of the app (format {data['version']})")
    except PresetError as exc:
        return Loaded((), f"The presets file '{p}' cannot be used: {exc}.")
    good: list[Preset] = []
    bad = 0
    for item in data["presets"][:MAX_PRESETS]:
        try:
            preset = preset_from_dict(item)
        except PresetError:
            bad += 1
            continue
        if all(q.name != preset.name for q in good):
            good.append(preset)
    problem = f"{bad} preset(s) in '{p}' are damaged and were left out." if bad else None
    return Loaded(tuple(good), problem)


def save_presets(presets: tuple[Preset, ...] | list[Preset], path: Path | None = None) -> Path:
    """Write the user's presets (atomically); raises OSError if the folder cannot be written."""
    p = store_path() if path is None else path
    text = json.dumps({"version": FORMAT_VERSION, "presets": [q.to_dict() for q in presets]}, indent=2)
    paths.write_text_atomic(p, text + "\n")
    return p


def with_preset(presets: tuple[Preset, ...], preset: Preset) -> tuple[Preset, ...]:
    """``presets`` with ``preset`` added, replacing one of the same name (in its place)."""
    if any(q.name == preset.name for q in presets):
        return tuple(preset if q.name == preset.name else q for q in presets)
    if len(presets) >= MAX_PRESETS:
        raise PresetError(f"there are already {MAX_PRESETS} presets; delete one first")
    return (*presets, preset)


def unused_name(presets: tuple[Preset, ...], name: str) -> str:
    """``name``, or "name (2)", "name (3)" ... if a preset is already called that."""
    taken = {q.name for q in presets}
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def preset_from_values(name: str, values: Mapping[str, Any]) -> Preset:
    """A checked preset of the window's values (the keys of :class:`Preset` but the name)."""
    try:
        return preset_from_dict({"name": name, **values})
    except PresetError as exc:
        raise PresetError(f"The settings cannot be kept as a preset: {exc}.") from None

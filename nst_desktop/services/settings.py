"""Per-user settings: a plain dataclass stored as a small versioned JSON file (no Qt).

The file lives in :func:`nst_desktop.services.paths.config_dir` as ``settings.json``.
It is written atomically (a temporary file in the same folder, then ``os.replace``),
so a crash never leaves half a file. Reading never raises for a bad file: a missing
file gives the defaults; an empty, unreadable, corrupt or future-version file gives
the defaults and is kept beside it as ``settings.json.broken-<timestamp>`` for the
user to inspect. Single values of the wrong type or out of range fall back to their
default one by one, so one bad value does not lose the others.

Format versions: 1 stored the share of a second style as ``blend`` (0.0-1.0) and no
style files; 2 stores the Style list as ``styles`` (paintings with their weights); 3 has
the start "palette" (the photo in the painting's colours), the new default.
A version-1 file is migrated when read (:func:`migrate`): its ``blend`` becomes the
remembered weights of the first two rows of the list (with no files, which version 1
never stored). A version-2 file's ``init`` "content", the default start then, becomes the
default start now ("palette").
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nst_desktop.engine.params import (
    DEFAULT_QUALITY,
    INITS,
    LAYER_WEIGHTS,
    MAX_SIZE,
    MAX_STYLE_SCALE,
    MAX_STYLE_STRENGTH,
    MIN_SIZE,
    MIN_STYLE_SCALE,
    MIN_STYLE_STRENGTH,
    PRESERVE_COLORS,
    QUALITY_PRESETS,
    StyleParams,
)
from nst_desktop.services import paths

#: Version of the file format this code writes. A file with a higher version came
#: from a newer NST Desktop and is not trusted (defaults, with a backup kept).
SETTINGS_VERSION = 3
SETTINGS_FILENAME = "settings.json"
#: How many entries the recent-image lists keep (newest first).
MAX_RECENT = 10
#: Largest seed the seed box shows (it holds a signed 32-bit int).
MAX_SEED = 2**31 - 1
#: Most paintings the Style list holds (and the settings remember).
MAX_STYLES = 8

WEIGHT_SOURCES = ("bundled", "torchvision")
#: Largest settings file read (this app writes a few KB); a larger one is moved aside unread.
MAX_FILE_BYTES = 1 << 20
#: Longest text a field keeps (a path: Linux's PATH_MAX); a longer one falls back to the default.
MAX_TEXT = 4096
#: Longest device id or splitter name.
MAX_NAME = 64
#: Most splitters, sizes per splitter and devices with a measured speed that are kept.
MAX_ENTRIES = 16
#: Largest splitter size kept, in logical px (Qt takes 32-bit ints: 10**12 overflowed on every start).
MAX_SPLITTER_PX = 100_000
#: Range of a stored speed, seconds per (pixel x loss evaluation): a fast GPU measures ~1e-9, a slow
#: CPU ~1e-5; outside this the value is not a measurement.
MIN_RATE, MAX_RATE = 1e-13, 1e-3
#: Most seconds a step's fixed part may be (a 2-core CPU under heavy load measured 2-3 s).
MAX_STEP_SECONDS = 60.0


@dataclass
class StyleEntry:
    """One row of the Style list: the painting's file ("" = none: an empty first row, a pasted
    image, or a row migrated from an older file) and its weight, 0.0 .. 1.0 (relative)."""

    path: str = ""
    weight: float = 1.0


@dataclass
class Settings:
    """Everything the app remembers between runs.

    window_geometry: ``QWidget.saveGeometry()`` bytes, base64-encoded ("" = none).
    splitters: splitter name -> sizes in logical px.
    last_open_dir / last_save_dir: folders the file dialogs start in ("" = home).
    size: output long side, px. style_strength: 0.01-100 (log-scale slider).
    quality: a key of ``QUALITY_PRESETS``. init: a named start of ``INITS``.
    seed: 0 .. 2**31-1 (used with the noise start).
    device: "auto", "cpu", "cuda:N" or "mps". weights: "bundled" or "torchvision".
    recent_content / recent_style: file paths, newest first.
    seconds_per_pixel_step: device id -> measured seconds per (pixel x loss evaluation)
        from the last finished runs, for the time estimate.
    seconds_per_step: device id -> the fixed part of a step's seconds, measured by the speed
        test (:class:`engine.measure.speed.Speed`); a device missing here is tested again.
    zoom: "fit" or "100" (result view).
    preserve_colors: "none", "luminance" or "match" (the Colours control).
    style_scale: brush scale, MIN_STYLE_SCALE .. MAX_STYLE_SCALE.
    leave_out_objects: leave the painting's one-off objects out (``StyleParams.leave_out_objects``).
    layer_weights: how the style layers weigh (``StyleParams.layer_weights``).
    styles: the rows of the Style list, first row first (at most MAX_STYLES).
    keep_input_paths: saved results name their inputs by absolute path (False: by file name only,
        so that a shared result shows no folder or user names).
    """

    version: int = SETTINGS_VERSION
    window_geometry: str = ""
    splitters: dict[str, list[int]] = field(default_factory=dict)
    last_open_dir: str = ""
    last_save_dir: str = ""
    size: int = 512
    style_strength: float = 1.0
    quality: str = DEFAULT_QUALITY
    init: str = StyleParams.init
    seed: int = 0
    device: str = "auto"
    weights: str = "bundled"
    recent_content: list[str] = field(default_factory=list)
    recent_style: list[str] = field(default_factory=list)
    seconds_per_pixel_step: dict[str, float] = field(default_factory=dict)
    seconds_per_step: dict[str, float] = field(default_factory=dict)
    zoom: str = "fit"
    preserve_colors: str = "none"
    style_scale: float = 1.0
    seamless: bool = False
    leave_out_objects: bool = StyleParams.leave_out_objects
    layer_weights: str = StyleParams.layer_weights
    styles: list[StyleEntry] = field(default_factory=list)
    keep_input_paths: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def settings_path() -> Path:
    """The settings file of the current user."""
    return paths.config_dir() / SETTINGS_FILENAME


@dataclass
class LoadResult:
    """What :func:`load_settings` found.

    ``problem`` is a sentence for the status bar when the file was unusable (None if
    it was fine or absent); ``backup`` is where the unusable file was copied.
    """

    settings: Settings
    problem: str | None = None
    backup: Path | None = None


def _text(value: Any, longest: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and len(value) <= longest


def _valid_str_list(value: Any) -> list[str] | None:
    """The recent files: paths that are too long are left out; at most MAX_RECENT."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v and _text(v)][:MAX_RECENT]
    return None


def _valid_splitters(value: Any) -> dict[str, list[int]] | None:
    """Splitter name -> sizes; an entry with a size out of 0..MAX_SPLITTER_PX is left out (its default)."""
    if not isinstance(value, dict):
        return None
    kept = {}
    for name, sizes in list(value.items())[:MAX_ENTRIES]:
        if (_text(name, MAX_NAME) and isinstance(sizes, list) and len(sizes) <= MAX_ENTRIES
                and all(_is_int(i) and 0 <= i <= MAX_SPLITTER_PX for i in sizes)):
            kept[name] = list(sizes)
    return kept


def _valid_rates(value: Any) -> dict[str, float] | None:
    """Device id -> seconds per pixel-step; a value out of MIN_RATE..MAX_RATE is left out (measured again)."""
    if not isinstance(value, dict):
        return None
    return {k: float(v) for k, v in list(value.items())[:MAX_ENTRIES]
            if _text(k, MAX_NAME) and _number(v) and MIN_RATE <= v <= MAX_RATE}


def _valid_step_seconds(value: Any) -> dict[str, float] | None:
    """Device id -> the fixed part of a step's seconds (0 allowed); a value out of 0..MAX_STEP_SECONDS
    is left out (measured again)."""
    if not isinstance(value, dict):
        return None
    return {k: float(v) for k, v in list(value.items())[:MAX_ENTRIES]
            if _text(k, MAX_NAME) and _number(v) and 0 <= v <= MAX_STEP_SECONDS}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: The fields that hold one of a few names, and those names.
_CHOICES: dict[str, Collection[str]] = {
    "quality": QUALITY_PRESETS, "init": INITS, "weights": WEIGHT_SOURCES, "zoom": ("fit", "100"),
    "preserve_colors": PRESERVE_COLORS, "layer_weights": LAYER_WEIGHTS,
}


def _check(name: str, value: Any) -> Any:
    """``value`` if it is valid for field ``name``, else ``None`` (use the default)."""
    if name in ("window_geometry", "last_open_dir", "last_save_dir"):
        return value if _text(value) else None
    if name in ("seamless", "keep_input_paths", "leave_out_objects"):
        return value if isinstance(value, bool) else None
    if name in _CHOICES:
        return value if isinstance(value, str) and value in _CHOICES[name] else None
    if name == "size":
        ok = isinstance(value, int) and not isinstance(value, bool) and MIN_SIZE <= value <= MAX_SIZE
        return value if ok else None
    if name == "style_strength":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if ok and MIN_STYLE_STRENGTH <= value <= MAX_STYLE_STRENGTH else None
    if name == "seed":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED
        return value if ok else None
    if name == "device":
        ok = _text(value, MAX_NAME) and (value in ("auto", "cpu", "mps") or value.startswith("cuda"))
        return value if ok else None
    if name in ("recent_content", "recent_style"):
        return _valid_str_list(value)
    if name == "splitters":
        return _valid_splitters(value)
    if name == "seconds_per_pixel_step":
        return _valid_rates(value)
    if name == "seconds_per_step":
        return _valid_step_seconds(value)
    if name == "style_scale":
        ok = _number(value)
        return float(value) if ok and MIN_STYLE_SCALE <= value <= MAX_STYLE_SCALE else None
    if name == "styles":
        return _valid_styles(value)
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _valid_styles(value: Any) -> list[StyleEntry] | None:
    """The Style list from JSON: a list of at most MAX_STYLES ``{"path": str, "weight": 0..1}``."""
    if not isinstance(value, list) or len(value) > MAX_STYLES:
        return None
    entries = []
    for item in value:
        if not isinstance(item, dict):
            return None
        path, weight = item.get("path", ""), item.get("weight", 1.0)
        if not _text(path) or not _number(weight) or not 0.0 <= weight <= 1.0:
            return None
        entries.append(StyleEntry(path, float(weight)))
    return entries


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Parsed JSON of any known version -> the keys of the current version (a new dict).

    Version 1 -> 2: ``blend`` (share of the second style, 0.0-1.0) becomes the weights of
    the first two rows, ``[1 - blend, blend]`` scaled so that the larger is 1.0 (the
    weights are relative); version 1 stored no style files, so both rows have none. A
    bad ``blend`` is dropped (the list starts empty).

    Version 2 -> 3: ``init`` "content" (version 2's default) becomes the current default
    start, "palette"; other starts are kept.
    """
    out = dict(data)
    if out.get("version") == 1:
        blend = out.pop("blend", None)
        if "styles" not in out and _number(blend) and 0.0 <= blend <= 1.0:
            first, second = 1.0 - float(blend), float(blend)
            top = max(first, second)
            out["styles"] = [{"path": "", "weight": first / top}, {"path": "", "weight": second / top}]
        out["version"] = 2
    if out.get("version") == 2:
        if out.get("init") == "content":
            out["init"] = StyleParams.init
        out["version"] = SETTINGS_VERSION
    return out


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Build :class:`Settings` from parsed JSON, field by field (bad or unknown values ignored)."""
    s = Settings()
    for f in fields(Settings):
        if f.name == "version" or f.name not in data:
            continue
        value = _check(f.name, data[f.name])
        if value is not None:
            setattr(s, f.name, value)
    return s


def load_settings(path: Path | None = None) -> LoadResult:
    """Read the settings file; never raises for a missing or bad file (see module docstring)."""
    p = settings_path() if path is None else path
    if not p.exists():
        return LoadResult(Settings())
    problem: str
    too_large = False
    try:
        size = p.stat().st_size
        too_large = size > MAX_FILE_BYTES
        text = "" if too_large else p.read_text(encoding="utf-8")
        if too_large:
            problem = f"is too large to be a settings file ({size} bytes)"
        elif not text.strip():
            problem = "is empty"
        else:
            data = json.loads(text)
            if not isinstance(data, dict):
                problem = "does not hold a settings object"
            else:
                version = data.get("version")
                if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                    problem = "has no valid version number"
                elif version > SETTINGS_VERSION:
                    problem = f"was written by a newer version of the app (format {version})"
                else:
                    return LoadResult(settings_from_dict(migrate(data)))
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be read ({exc})"
    except json.JSONDecodeError as exc:
        problem = f"is corrupt ({exc.msg} at line {exc.lineno})"
    except (ValueError, RecursionError) as exc:
        # json raises these for a number of over 4300 digits and for nesting too deep to parse.
        problem = f"is corrupt ({type(exc).__name__}: {str(exc)[:120]})"
    backup = paths.copy_aside(p, move=too_large)
    kept = f"; a copy was kept as '{backup.name}'" if backup else ""
    return LoadResult(Settings(), f"The settings file '{p}' {problem}, so defaults are used{kept}.", backup)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` atomically; raises ``OSError`` if the folder cannot be written."""
    p = settings_path() if path is None else path
    settings.version = SETTINGS_VERSION
    paths.write_text_atomic(p, settings.to_json())
    return p


def remember_recent(items: list[str], path: str) -> list[str]:
    """``items`` with ``path`` moved to the front, without duplicates, at most MAX_RECENT long."""
    return [path, *[i for i in items if i != path]][:MAX_RECENT]

"""A batch: many photos x many paintings, and sweeps of one or two settings (no Qt, no torch).

- :func:`expand_inputs`: files and folders (their images, not their sub-folders) -> image files.
- :func:`parse_sweep`: ``"style-strength=0.5,1,2"`` -> a :class:`Sweep` (values checked by StyleParams).
- :func:`plan_items`: every photo x painting (or the given pairs) x every combination of the
  sweeps' values -> :class:`BatchItem` s, each with its complete StyleParams.
- :func:`assign_outputs`: each item's output file in the output folder,
  ``<photo>-in-style-of-<painting>[-<setting>-<value>...].png``; a file of that name made by
  other settings or inputs is never overwritten (``-2``, ``-3``, ... is added), and a file made
  by exactly this item's inputs and settings marks the item as done (a rerun skips it). A name
  longer than the folder's file system allows is shortened (:func:`fit_name`).

Order is deterministic: photos in the order given, then paintings, then sweep values (the first
sweep varies slowest), so a rerun plans the same items with the same names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nst_desktop.app_info import IMAGE_EXTENSIONS
from nst_desktop.engine import params as P
from nst_desktop.engine.provenance import stored_path
from nst_desktop.services.jobs import suggested_output_name

#: Files a folder contributes (by extension, case-insensitive): the formats the app opens (app_info); a file
#: named directly may have any name, its content is checked when it is read (engine.image.images.load_image).
IMAGE_SUFFIXES = IMAGE_EXTENSIONS
#: Most items one batch may plan (guards against a typo that multiplies folders).
MAX_ITEMS = 10_000
#: Most sweeps at once (rows and columns of a grid).
MAX_SWEEPS = 2
#: StyleParams fields a stored result is not compared on: they do not change the picture
#: (``preview_every``) or are resolved on the machine that ran it (``device``).
UNCOMPARED = ("preview_every", "device")
#: Longest file name, in bytes, where the file system does not say (255 on Linux, macOS and Windows).
DEFAULT_NAME_MAX = 255
#: Bytes a fitted name leaves free: the ``-N`` that :func:`assign_outputs` adds to a taken name (up
#: to 6) and what the atomic save adds to it for its temporary file (``.NAME.xxxxxxxx.part``: 15).
NAME_ROOM_BYTES = 24
#: Hex digits of the full name's SHA-256 that end a shortened name (two long names that differ only
#: after the cut stay different).
NAME_HASH_DIGITS = 10


def _float(text: str) -> float:
    return float(text)


def _int(text: str) -> int:
    return int(text)


@dataclass(frozen=True)
class SweepSetting:
    """A setting a sweep may vary: ``field`` of StyleParams ("quality" is the preset, which sets
    ``steps``) and how one value is read from text."""

    name: str
    field: str
    parse: Callable[[str], Any]


#: The settings a sweep may vary, by their command-line names (aliases in :data:`SWEEP_ALIASES`).
SWEEP_SETTINGS: dict[str, SweepSetting] = {
    s.name: s
    for s in (
        SweepSetting("style-strength", "style_strength", _float),
        SweepSetting("style-scale", "style_scale", _float),
        SweepSetting("quality", "quality", str),
        SweepSetting("seed", "seed", _int),
        SweepSetting("preserve-colors", "preserve_colors", str),
        SweepSetting("size", "size", _int),
    )
}
SWEEP_ALIASES = {"brush-scale": "style-scale", "colors": "preserve-colors", "colours": "preserve-colors",
                 "strength": "style-strength"}


@dataclass(frozen=True)
class Sweep:
    """One setting over given values, in the order given (duplicates removed)."""

    name: str
    values: tuple[Any, ...]

    @property
    def setting(self) -> SweepSetting:
        return SWEEP_SETTINGS[self.name]


def format_value(value: object) -> str:
    """A setting's value in labels and file names: numbers as ``%g`` (1.0 -> "1"), text as is."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_sweep(text: str) -> Sweep:
    """``"NAME=V1,V2,..."`` -> Sweep. Raises ValueError with a one-line message naming the problem
    (unknown setting, a value that is not a number, out of range or not a choice)."""
    name, sep, values_text = text.partition("=")
    name = SWEEP_ALIASES.get(name.strip(), name.strip())
    known = ", ".join(SWEEP_SETTINGS)
    if not sep or not values_text.strip():
        raise ValueError(f"--sweep must be NAME=V1,V2,... (NAME one of {known}), not {text!r}")
    if name not in SWEEP_SETTINGS:
        raise ValueError(f"--sweep: unknown setting {name!r}; use one of {known}")
    setting = SWEEP_SETTINGS[name]
    values: list[Any] = []
    for part in values_text.split(","):
        part = part.strip()
        try:
            value = setting.parse(part)
        except ValueError:
            raise ValueError(f"--sweep {name}: {part!r} is not a valid value") from None
        _check_value(setting, value)
        if value not in values:
            values.append(value)
    return Sweep(name, tuple(values))


def _check_value(setting: SweepSetting, value: Any) -> None:
    """Raise ValueError if ``value`` is not allowed for ``setting`` (StyleParams' own limits and choices)."""
    if setting.field == "quality":
        if value not in P.QUALITY_PRESETS:
            raise ValueError(f"--sweep quality: {value!r} is not one of {', '.join(sorted(P.QUALITY_PRESETS))}")
        return
    try:
        dataclasses.replace(P.StyleParams(), **{setting.field: value}).validate()
    except ValueError as exc:
        raise ValueError(f"--sweep {setting.name}: {exc}") from None


def expand_inputs(paths: Iterable[str | os.PathLike[str]], what: str) -> tuple[list[Path], list[str]]:
    """``(image files, problems)``: each path as given if it is a file, the images of a folder
    (by :data:`IMAGE_SUFFIXES`, sorted by name, hidden files left out); duplicates once.
    ``problems`` holds one line per path that is neither (``what`` names the kind, e.g. "photo")."""
    files: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_file():
            add(p)
        elif p.is_dir():
            found = sorted(f for f in p.iterdir()
                           if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".") and f.is_file())
            if not found:
                problems.append(f"{what} folder '{p}': no images in it ({', '.join(IMAGE_SUFFIXES)})")
            for f in found:
                add(f)
        else:
            problems.append(f"{what} '{p}': no such file or folder")
    return files, problems


@dataclass(frozen=True)
class BatchItem:
    """One picture of a batch: ``photo`` in the style of ``style`` with ``params`` (steps resolved).

    ``sweep``: the swept settings' (name, value) pairs, in the sweeps' order (empty without sweeps).
    ``keep_paths``: its result's metadata names the inputs by absolute path (else by file name only,
    see :func:`nst_desktop.engine.provenance.stored_path`).
    """

    photo: Path
    style: Path
    params: P.StyleParams
    sweep: tuple[tuple[str, Any], ...] = ()
    keep_paths: bool = False

    def output_name(self, extension: str = ".png") -> str:
        """``<photo>-in-style-of-<painting>[-<setting>-<value>...]<extension>`` (unsafe characters -> '-')."""
        base = suggested_output_name(self.photo.name, self.style.name, "")
        tail = "".join(f"-{name}-{format_value(value)}" for name, value in self.sweep)
        return base + re.sub(r"[^\w.-]+", "-", tail) + extension

    def inputs(self, keep_paths: bool | None = None) -> dict[str, Any]:
        """The ``metadata["inputs"]`` record of its result (file names, or absolute paths with
        ``keep_paths``; None: the item's own :attr:`keep_paths`)."""
        keep = self.keep_paths if keep_paths is None else keep_paths
        return {"content": stored_path(self.photo, keep), "styles": [stored_path(self.style, keep)]}

    def label(self) -> str:
        """'photo.jpg x painting.jpg, style-strength=2' (for messages)."""
        sweep = ", ".join(f"{n}={format_value(v)}" for n, v in self.sweep)
        return f"{self.photo} x {self.style}" + (f", {sweep}" if sweep else "")


def plan_items(
    photos: Sequence[Path],
    styles: Sequence[Path],
    params: P.StyleParams,
    steps_for: Callable[[str], int],
    quality: str = P.DEFAULT_QUALITY,
    sweeps: Sequence[Sweep] = (),
    pairs: bool = False,
    keep_paths: bool = False,
) -> list[BatchItem]:
    """The items of a batch, in order (see the module docstring).

    ``params.steps`` 0 means the ``quality`` preset (or the swept one), whose budget
    ``steps_for(quality)`` gives for the device that runs it. ``pairs``: the i-th photo with
    the i-th painting (the counts must be equal) instead of every combination. Raises
    ValueError for unequal pairs, a repeated sweep, more than :data:`MAX_SWEEPS`, a quality
    sweep with fixed steps, or more than :data:`MAX_ITEMS` items. ``keep_paths``: see :class:`BatchItem`.
    """
    if pairs and len(photos) != len(styles):
        raise ValueError(f"--pairs needs as many photos as paintings, not {len(photos)} and {len(styles)}")
    if len(sweeps) > MAX_SWEEPS:
        raise ValueError(f"at most {MAX_SWEEPS} --sweep settings, not {len(sweeps)}")
    names = [s.name for s in sweeps]
    if len(set(names)) != len(names):
        raise ValueError(f"--sweep {names[0] if names.count(names[0]) > 1 else names[1]} is given twice")
    if params.steps and "quality" in names:
        raise ValueError("--sweep quality cannot be combined with --steps")
    combos = list(zip(photos, styles)) if pairs else list(itertools.product(photos, styles))
    values = list(itertools.product(*(s.values for s in sweeps)))
    if len(combos) * len(values) > MAX_ITEMS:
        raise ValueError(f"the batch would have {len(combos) * len(values)} items, more than {MAX_ITEMS}")
    items = []
    for photo, style in combos:
        for combo in values:
            changes: dict[str, Any] = {}
            item_quality = quality
            for sweep, value in zip(sweeps, combo):
                if sweep.setting.field == "quality":
                    item_quality = value
                else:
                    changes[sweep.setting.field] = value
            item_params = dataclasses.replace(params, **changes)
            if not params.steps:
                item_params = dataclasses.replace(item_params, steps=steps_for(item_quality))
            items.append(BatchItem(photo, style, item_params, tuple(zip(names, combo)), keep_paths))
    return items


def matches(meta: Mapping[str, Any] | None, item: BatchItem) -> bool:
    """True if ``meta`` (a result's stored metadata) records exactly ``item``: the same photo and
    painting (by absolute path, or by file name: results store either), every setting equal (but
    :data:`UNCOMPARED`; a seed, start size or step count the item leaves to the run matches any), and
    a run that was not cancelled."""
    if not isinstance(meta, Mapping) or meta.get("cancelled") is not False:
        return False
    if meta.get("inputs") not in (item.inputs(keep_paths=True), item.inputs(keep_paths=False)):
        return False
    stored = meta.get("params")
    if not isinstance(stored, Mapping):
        return False
    wanted = item.params.to_dict()
    if "requested_size" in meta:  # made smaller after running out of memory: it was asked for this size
        stored = {**stored, "size": meta["requested_size"]}
    for key, value in wanted.items():
        if key in UNCOMPARED or (key in ("seed", "start_size", "steps") and not value):
            continue
        if key not in stored or stored[key] != value:
            return False
    return True


def name_max(folder: Path) -> int:
    """The longest file name the file system of ``folder`` (or of its nearest existing parent)
    allows, in bytes (``os.pathconf`` PC_NAME_MAX; :data:`DEFAULT_NAME_MAX` where it cannot say)."""
    for place in (folder, *folder.parents):
        try:
            return int(os.pathconf(place, "PC_NAME_MAX"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no such limit
            break
    return DEFAULT_NAME_MAX


def fit_name(stem: str, extension: str, limit: int) -> str:
    """``stem``, shortened where ``stem`` + ``extension`` + :data:`NAME_ROOM_BYTES` would be longer
    than ``limit`` bytes in UTF-8 (the file system's :func:`name_max`): cut at a character boundary and ended with
    ``-`` and :data:`NAME_HASH_DIGITS` hex digits of the whole stem's SHA-256, so that names that
    differ only after the cut stay different and the same stem always gets the same name."""
    budget = limit - len(extension.encode("utf-8")) - NAME_ROOM_BYTES
    encoded = stem.encode("utf-8")
    if len(encoded) <= budget:
        return stem
    tag = "-" + hashlib.sha256(encoded).hexdigest()[:NAME_HASH_DIGITS]
    return encoded[:max(0, budget - len(tag))].decode("utf-8", "ignore") + tag


@dataclass(frozen=True)
class Planned:
    """An item with its output file; ``done``: that file already holds this item's result."""

    item: BatchItem
    output: Path
    done: bool


def assign_outputs(
    items: Sequence[BatchItem],
    out_dir: Path,
    read_meta: Callable[[Path], Mapping[str, Any] | None],
    force: bool = False,
    extension: str = ".png",
) -> list[Planned]:
    """Each item's output file in ``out_dir`` (see the module docstring); ``read_meta(path)``
    reads a file's stored metadata (None if it has none or cannot be read).

    ``force``: an item whose result exists is planned again, to replace that file.
    """
    claimed: set[str] = set()
    planned = []
    limit = name_max(out_dir)
    for item in items:
        stem = fit_name(item.output_name(""), extension, limit)
        n = 1
        while True:
            name = f"{stem}{extension}" if n == 1 else f"{stem}-{n}{extension}"
            n += 1
            if name in claimed:
                continue
            path = out_dir / name
            if path.exists():
                if not matches(read_meta(path), item):
                    continue  # another picture: never overwritten
                claimed.add(name)
                planned.append(Planned(item, path, done=not force))
                break
            claimed.add(name)
            planned.append(Planned(item, path, done=False))
            break
    return planned


def item_record(item: BatchItem, output: Path, seconds: float) -> dict[str, Any]:
    """The JSON record of a finished item (``--json``): input, style, output, settings, seconds."""
    return {
        "input": str(item.photo),
        "style": str(item.style),
        "output": str(output),
        "settings": {**item.params.to_dict(), **{name: value for name, value in item.sweep}},
        "sweep": {name: value for name, value in item.sweep},
        "seconds": round(seconds, 2),
    }

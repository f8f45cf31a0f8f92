"""The window's Queue and the file that keeps it between sessions (no Qt, no torch).

A :class:`Queue` holds :class:`QueueItem` s in the order they run: each is one photo in the style
of one painting with its complete settings (a :class:`~nst_desktop.engine.StyleParams`, steps
resolved), the folder its result goes to, and its state:

- ``waiting``: not painted yet (also an item that was being painted when the app stopped: a
  half-done item restarts, see :meth:`Queue.restart_running`);
- ``running``: being painted now;
- ``done``: its result is written (``output``); a done item is never run again;
- ``failed``: it could not be painted; ``message`` says why in one line naming the file.

Items added together (one *Add to Queue*) form a :class:`QueueGroup`, whose contact sheet (or
sweep grid) is saved beside the results when all of its items have finished.

The file is ``queue.json`` in :func:`nst_desktop.services.paths.data_dir`, versioned JSON written
atomically (a temporary file in the same folder, flushed to disk, then ``os.replace``), so a
crash or a power cut leaves the previous or the new file, never half of one. Reading never
raises: a missing file is an empty queue; an unreadable, corrupt or future-version file is
copied aside as ``queue.json.broken-<timestamp>`` and gives an empty queue with a one-line
``problem``; single items that cannot be read are left out (the copy keeps them) and named in
the problem. Windows share the file through :class:`nst_desktop.services.queue_file.QueueFile`
(a locked read-merge-write), never by writing their whole queue over another's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from nst_desktop.engine.params import StyleParams
from nst_desktop.services import paths
from nst_desktop.services.batch import SWEEP_SETTINGS, BatchItem, format_value

#: Version of the file format this code writes; a higher one came from a newer NST Desktop.
QUEUE_VERSION = 1
QUEUE_FILENAME = "queue.json"
#: Largest queue file read (an item takes about 1 KB); a larger one is moved aside unread.
MAX_FILE_BYTES = 64 << 20
#: The states of an item (see the module docstring).
ItemState = Literal["waiting", "running", "done", "failed"]
ITEM_STATES: tuple[ItemState, ...] = get_args(ItemState)
#: States of an item that will not run again unless retried.
FINISHED_STATES: tuple[ItemState, ...] = ("done", "failed")


@dataclass(frozen=True)
class QueueItem:
    """One picture of the queue (see the module docstring). ``id``: unique in its queue, never
    reused; ``group``: the id of the :class:`QueueGroup` it was added with; ``sweep``: the swept
    settings' (name, value) pairs (empty without a sweep); ``output``: its result file once it
    was planned or written (None before); ``seconds``: wall time of its painting (done items);
    ``owner``: the window that paints (or last painted) it, see :class:`~nst_desktop.services.queue_file.QueueFile`
    (0: none known)."""

    id: int
    photo: Path
    style: Path
    params: StyleParams
    out_dir: Path
    group: int
    sweep: tuple[tuple[str, Any], ...] = ()
    state: ItemState = "waiting"
    output: Path | None = None
    message: str = ""
    seconds: float = 0.0
    owner: int = 0

    def batch_item(self) -> BatchItem:
        """The same picture as a batch item (for output names, matching results and sheets)."""
        return BatchItem(self.photo, self.style, self.params, self.sweep)

    def label(self) -> str:
        """'photo.png × painting.jpg · style-strength 2' (file names only)."""
        sweep = "".join(f" · {name} {format_value(value)}" for name, value in self.sweep)
        return f"{self.photo.name} × {self.style.name}{sweep}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "photo": str(self.photo), "style": str(self.style), "params": self.params.to_dict(),
            "out_dir": str(self.out_dir), "group": self.group, "sweep": [list(pair) for pair in self.sweep],
            "state": self.state, "output": None if self.output is None else str(self.output),
            "message": self.message, "seconds": self.seconds, "owner": self.owner,
        }

    @classmethod
    def from_json(cls, data: object) -> QueueItem:
        """An item from its JSON record; raises ValueError naming what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("not an object")
        for key in ("id", "group"):
            if not _is_int(data.get(key)):
                raise ValueError(f"{key} is not a whole number")
        for key in ("photo", "style", "out_dir"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"{key} is not a file name")
        state = data.get("state", "waiting")
        if state not in ITEM_STATES:
            raise ValueError(f"unknown state {state!r}")
        output = data.get("output")
        if output is not None and not isinstance(output, str):
            raise ValueError("output is not a file name")
        message = data.get("message", "")
        seconds = data.get("seconds", 0.0)
        if not isinstance(message, str) or not _is_number(seconds) or seconds < 0:
            raise ValueError("message or seconds are not valid")
        owner = data.get("owner", 0)
        if not _is_int(owner) or not 0 <= owner <= 1 << 16:
            raise ValueError("owner is not a window number")
        return cls(int(data["id"]), Path(data["photo"]), Path(data["style"]), params_from_json(data.get("params")),
                   Path(data["out_dir"]), int(data["group"]), sweep_from_json(data.get("sweep", [])), state,
                   Path(output) if output else None, message, float(seconds), owner)


@dataclass(frozen=True)
class QueueGroup:
    """Items added together: the folder of their results and their saved sheet (None: not yet,
    or a group of one item, which has none)."""

    id: int
    out_dir: Path
    sheet: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "out_dir": str(self.out_dir), "sheet": None if self.sheet is None else str(self.sheet)}

    @classmethod
    def from_json(cls, data: object) -> QueueGroup:
        if not isinstance(data, Mapping) or not _is_int(data.get("id")) or not isinstance(data.get("out_dir"), str):
            raise ValueError("not a group record")
        sheet = data.get("sheet")
        if sheet is not None and not isinstance(sheet, str):
            raise ValueError("sheet is not a file name")
        return cls(int(data["id"]), Path(data["out_dir"]), Path(sheet) if sheet else None)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_PARAM_FIELDS = {f.name: f for f in dataclasses.fields(StyleParams)}


def params_from_json(data: object) -> StyleParams:
    """StyleParams from ``to_dict()``'s JSON; fields it lacks take their defaults, unknown keys
    are ignored. Raises ValueError when a value has the wrong type or is out of range."""
    if not isinstance(data, Mapping):
        raise ValueError("params is not an object")
    defaults = StyleParams()
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _PARAM_FIELDS:
            continue
        default = getattr(defaults, name)
        if name == "seed":
            ok = value is None or _is_int(value)
        elif isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = _is_int(value)
        elif isinstance(default, float):
            ok = _is_number(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ValueError(f"params.{name} has the wrong type ({value!r})")
        values[name] = float(value) if isinstance(default, float) else value
    params = StyleParams(**values)
    params.validate()
    return params


def sweep_from_json(data: object) -> tuple[tuple[str, Any], ...]:
    """The (name, value) pairs of a stored sweep; raises ValueError for an unknown setting."""
    if not isinstance(data, list):
        raise ValueError("sweep is not a list")
    pairs = []
    for pair in data:
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in SWEEP_SETTINGS
                and (isinstance(pair[1], str) or _is_number(pair[1]))):
            raise ValueError(f"sweep entry {pair!r} is not a known setting and value")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


@dataclass
class Queue:
    """The items in the order they run and their groups. Change it through its methods (each
    returns what it changed); the runner saves it after every change."""

    items: list[QueueItem] = field(default_factory=list)
    groups: list[QueueGroup] = field(default_factory=list)
    next_id: int = 1

    def _new_id(self) -> int:
        used = [i.id for i in self.items] + [g.id for g in self.groups]
        n = max([self.next_id, *(u + 1 for u in used)])
        self.next_id = n + 1
        return n

    def add(self, batch_items: Sequence[BatchItem], out_dir: Path) -> list[QueueItem]:
        """Append ``batch_items`` (in order) as one new group whose results go to ``out_dir``."""
        if not batch_items:
            return []
        group = QueueGroup(self._new_id(), out_dir)
        self.groups.append(group)
        added = [QueueItem(self._new_id(), b.photo, b.style, b.params, out_dir, group.id, b.sweep)
                 for b in batch_items]
        self.items.extend(added)
        return added

    def get(self, item_id: int) -> QueueItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def group(self, group_id: int) -> QueueGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def group_items(self, group_id: int) -> list[QueueItem]:
        return [i for i in self.items if i.group == group_id]

    def update(self, item_id: int, **changes: Any) -> QueueItem | None:
        """Replace fields of an item (e.g. ``state="done", output=path``); None if it is gone."""
        for n, item in enumerate(self.items):
            if item.id == item_id:
                self.items[n] = dataclasses.replace(item, **changes)
                return self.items[n]
        return None

    def set_sheet(self, group_id: int, sheet: Path) -> None:
        for n, g in enumerate(self.groups):
            if g.id == group_id:
                self.groups[n] = dataclasses.replace(g, sheet=sheet)

    def move(self, item_id: int, delta: int) -> bool:
        """Move an item ``delta`` places (negative: earlier); False if it cannot move."""
        ids = [i.id for i in self.items]
        if item_id not in ids:
            return False
        old = ids.index(item_id)
        new = max(0, min(len(ids) - 1, old + delta))
        if new == old:
            return False
        self.items.insert(new, self.items.pop(old))
        return True

    def remove(self, item_id: int) -> QueueItem | None:
        """Take an item out of the queue (its result file, if any, stays)."""
        item = self.get(item_id)
        if item is not None:
            self.items.remove(item)
            self._drop_empty_groups()
        return item

    def clear_finished(self) -> int:
        """Take the done and failed items out; returns how many."""
        before = len(self.items)
        self.items = [i for i in self.items if i.state not in FINISHED_STATES]
        self._drop_empty_groups()
        return before - len(self.items)

    def _drop_empty_groups(self) -> None:
        used = {i.group for i in self.items}
        self.groups = [g for g in self.groups if g.id in used]

    def next_waiting(self) -> QueueItem | None:
        """The first waiting item (done and failed ones are never run again)."""
        return next((i for i in self.items if i.state == "waiting"), None)

    def restart_running(self, painting: Callable[[int], bool] = lambda owner: False) -> int:
        """Items left ``running`` (the app stopped while painting them) wait again: a half-done
        item restarts; not those whose owner another open window is (``painting(owner)`` True).
        Returns how many."""
        n = 0
        for item in list(self.items):
            if item.state == "running" and not painting(item.owner):
                self.update(item.id, state="waiting")
                n += 1
        return n

    def group_finished(self, group_id: int) -> bool:
        items = self.group_items(group_id)
        return bool(items) and all(i.state in FINISHED_STATES for i in items)

    def counts(self) -> dict[str, int]:
        """How many items are in each state (every state a key)."""
        out = {s: 0 for s in ITEM_STATES}
        for i in self.items:
            out[i.state] += 1
        return out

    def to_json(self) -> str:
        return json.dumps({"version": QUEUE_VERSION, "next_id": self.next_id,
                           "groups": [g.to_json() for g in self.groups],
                           "items": [i.to_json() for i in self.items]}, indent=1)


def queue_path() -> Path:
    """The queue file of the current user."""
    return paths.data_dir() / QUEUE_FILENAME


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_queue` found: the queue, a one-line ``problem`` for the status bar (None
    when the file was fine or absent) and where the unusable file was copied."""

    queue: Queue
    problem: str | None = None
    backup: Path | None = None


def _parse(data: dict[str, Any]) -> tuple[Queue, list[str]]:
    """The queue of a parsed file and one note per record left out."""
    notes: list[str] = []
    groups: list[QueueGroup] = []
    for n, record in enumerate(data.get("groups", []) if isinstance(data.get("groups"), list) else []):
        try:
            groups.append(QueueGroup.from_json(record))
        except ValueError as exc:
            notes.append(f"group {n + 1}: {exc}")
    items: list[QueueItem] = []
    seen: set[int] = set()
    records = data.get("items")
    if not isinstance(records, list):
        raise ValueError("has no list of items")
    for n, record in enumerate(records):
        try:
            item = QueueItem.from_json(record)
        except (ValueError, TypeError) as exc:
            notes.append(f"item {n + 1}: {exc}")
            continue
        if item.id in seen:
            notes.append(f"item {n + 1}: its id {item.id} is used twice")
            continue
        seen.add(item.id)
        if not any(g.id == item.group for g in groups):  # its group record was lost: make one
            groups.append(QueueGroup(item.group, item.out_dir))
        items.append(item)
    next_id = data.get("next_id", 1)
    queue = Queue(items, groups, next_id if _is_int(next_id) and next_id > 0 else 1)
    queue._drop_empty_groups()
    return queue, notes


def load_queue(path: Path | None = None) -> LoadResult:
    """Read the queue file; never raises for a missing or bad file (see the module docstring).
    Items left running are not changed here: see :meth:`Queue.restart_running`."""
    p = queue_path() if path is None else path
    if not p.exists():
        return LoadResult(Queue())
    notes: list[str] = []
    too_large = False
    try:
        size = p.stat().st_size
        too_large = size > MAX_FILE_BYTES
        text = "" if too_large else p.read_text(encoding="utf-8")
        data = json.loads(text) if text.strip() else None
        if too_large:
            problem = f"is too large to be a queue file ({size} bytes)"
        elif data is None:
            problem = "is empty"
        elif not isinstance(data, dict):
            problem = "does not hold a queue"
        elif not _is_int(data.get("version")) or data["version"] < 1:
            problem = "has no valid version number"
        elif data["version"] > QUEUE_VERSION:
            problem = f"was written by a newer version of the app (format {data['version']})"
        else:
            queue, notes = _parse(data)
            if not notes:
                return LoadResult(queue)
            backup = paths.copy_aside(p)
            kept = f"; the file was kept as '{backup.name}'" if backup else ""
            return LoadResult(queue, f"The queue file '{p}': {len(notes)} record(s) could not be read and were "
                                     f"left out ({notes[0]}){kept}.", backup)
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be read ({exc})"
    except json.JSONDecodeError as exc:
        problem = f"is corrupt ({exc.msg} at line {exc.lineno})"
    except (ValueError, RecursionError) as exc:
        problem = f"is corrupt ({type(exc).__name__}: {str(exc)[:120]})"
    backup = paths.copy_aside(p, move=too_large)
    kept = f"; it was kept as '{backup.name}'" if backup else ""
    return LoadResult(Queue(), f"The queue file '{p}' {problem}, so the queue starts empty{kept}.", backup)


def save_queue(queue: Queue, path: Path | None = None) -> Path:
    """Write ``queue`` atomically (flushed to disk before it replaces the old file); raises
    OSError if the folder cannot be written (the old file is then unchanged)."""
    p = queue_path() if path is None else path
    paths.write_text_atomic(p, queue.to_json())
    return p


def unique_path(folder: Path, stem: str, extension: str = ".png", taken: Iterable[Path] = ()) -> Path:
    """``folder/stem.ext``, or ``stem-2.ext``, ``-3``, ... : the first that neither exists nor is in
    ``taken`` (a new file never overwrites another)."""
    taken_set = {Path(t) for t in taken}
    n = 1
    while True:
        p = folder / (f"{stem}{extension}" if n == 1 else f"{stem}-{n}{extension}")
        if not p.exists() and p not in taken_set:
            return p
        n += 1

"""An output file before and after a long run (no Qt): may it be written, is it one of the inputs,
and where the result goes when its save fails.

A run paints for minutes or hours before it saves, so the command line checks first
(:func:`output_problem`, :func:`folder_problem`) and, should the save still fail (the disk filled
up, the folder became read-only), keeps the result elsewhere (:func:`save_or_keep`) and says where.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nst_desktop.engine import EngineError
from nst_desktop.services.paths import data_dir

#: Bytes the probe file writes (and flushes to disk): a full disk refuses them.
PROBE_BYTES = 4096
#: The folder in the per-user data folder that keeps results whose save failed.
UNSAVED_FOLDER = "unsaved"
#: What a result kept beside its output adds to the output's name (before ``-2``, ``-3``, ...).
BESIDE_TAG = "-unsaved"


def same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name one file: the same inode where both exist (links, other
    spellings), else the same absolute path once resolved."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def input_problem(output: Path, inputs: Sequence[tuple[str, Path]]) -> str | None:
    """Why ``output`` must not be written (one line): it is one of ``inputs`` (``(what, path)``,
    e.g. ``("the photo", path)``); None when it is none of them."""
    for what, path in inputs:
        if same_file(output, path):
            return f"-o '{output}' is {what}: writing the result there would replace it; choose another file"
    return None


def output_problem(output: Path, inputs: Sequence[tuple[str, Path]]) -> str | None:
    """:func:`input_problem`, or that the output file ``output`` is an existing folder; None: neither."""
    if problem := input_problem(output, inputs):
        return problem
    if output.is_dir():
        return f"-o '{output}' is a folder; give a file name"
    return None


def folder_problem(folder: Path) -> str | None:
    """Why no file can be written into ``folder`` (one line), or None: a probe file of
    :data:`PROBE_BYTES` is created there, flushed to disk and removed."""
    try:
        fd, name = tempfile.mkstemp(prefix=".nst-write-test-", dir=folder)
    except OSError as exc:
        return f"cannot write into the folder '{folder}': {exc.strerror or exc}"
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return f"cannot write into the folder '{folder}': {exc.strerror or exc}"
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
    return None


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or ``stem-2``, ``-3``, ... : the first that does not exist."""
    n = 1
    while True:
        path = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if not path.exists():
            return path
        n += 1


def fallback_places(target: Path) -> list[Path]:
    """Where a result whose save to ``target`` failed is kept instead, in order: beside it
    (``NAME-unsaved.ext``), then the per-user data folder's :data:`UNSAVED_FOLDER`."""
    places = []
    try:
        places.append(_free_name(target.parent, target.stem + BESIDE_TAG, target.suffix))
    except OSError:  # the folder cannot even be looked at
        pass
    spare = data_dir() / UNSAVED_FOLDER
    try:
        spare.mkdir(parents=True, exist_ok=True)
        places.append(_free_name(spare, target.stem, target.suffix))
    except OSError:
        pass
    return places


@dataclass(frozen=True)
class Saved:
    """Where a result went: ``path``; ``problem``: why it is not at the wanted place (None: it is)."""

    path: Path
    problem: str | None = None

    def note(self, target: Path) -> str:
        """One line for a result kept elsewhere: the failed target, why, and where it is."""
        return f"cannot save '{target}' ({self.problem}); the result is kept as '{self.path}' instead"


def save_or_keep(save: Callable[[Path], object], target: Path) -> Saved:
    """``save(target)``; if that raises EngineError or OSError, ``save`` to each of
    :func:`fallback_places` until one works. Raises the first error when none works."""
    try:
        save(target)
        return Saved(target)
    except (EngineError, OSError) as exc:
        first = exc
    for place in fallback_places(target):
        try:
            save(place)
        except (EngineError, OSError):
            continue
        return Saved(place, _reason(first))
    raise first


def _reason(exc: BaseException) -> str:
    """The short cause of a failed save (the OS's words where there are some)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.rsplit(": ", 1)[-1].rstrip(".") if ": " in text else text

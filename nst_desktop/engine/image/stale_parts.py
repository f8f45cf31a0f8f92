"""Temporary files left by an interrupted save, cleaned on the next save into the same folder.

Every atomic save here writes ``.<name>.<8 random characters>.part`` (images) or ``.tmp``
(settings, queue) beside its target, then renames it over the target. A kill between the two
leaves the hidden file forever; :func:`remove_stale_parts` removes such files once they are older
than :data:`STALE_AFTER_S` (a save still being written by another process is younger), and only
names of exactly that pattern, so no file of the user's is touched.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

#: Age, in seconds since last modified, after which a temporary save file is taken as abandoned.
STALE_AFTER_S = 15 * 60
#: ``tempfile.mkstemp(prefix=".<name>.", suffix=...)``: its random part is 8 of [a-z0-9_].
_PATTERN = re.compile(r"\..+\.[a-z0-9_]{8}\.(part|tmp)")


def remove_stale_parts(folder: str | os.PathLike[str], now: float | None = None) -> list[Path]:
    """Remove the abandoned temporary save files in ``folder`` (see the module docstring); returns
    those removed. Never raises: a file that cannot be removed or looked at is left alone."""
    limit = (time.time() if now is None else now) - STALE_AFTER_S
    removed: list[Path] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not (entry.name.startswith(".") and _PATTERN.fullmatch(entry.name)):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < limit:
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:
                    pass
    except OSError:
        pass
    return removed

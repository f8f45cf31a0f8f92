"""Per-user folders (platformdirs). Tests point them elsewhere with XDG_CONFIG_HOME, XDG_CACHE_HOME,
XDG_STATE_HOME and XDG_DATA_HOME."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir, user_data_dir, user_log_dir

from nst_desktop.app_info import APP_NAME
from nst_desktop.engine.image.stale_parts import remove_stale_parts


def config_dir() -> Path:
    """Folder of the settings file (e.g. ``~/.config/NST Desktop``)."""
    return Path(user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Folder of downloaded weights and crash-recovery files (e.g. ``~/.cache/NST Desktop``)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Folder of the error log (e.g. ``~/.local/state/NST Desktop/log``: platformdirs follows
    ``XDG_STATE_HOME`` on Linux; ``~/Library/Logs`` on macOS, ``%LOCALAPPDATA%`` on Windows)."""
    return Path(user_log_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Folder of the user's work kept between sessions, e.g. the Queue (``~/.local/share/NST Desktop``:
    platformdirs follows ``XDG_DATA_HOME`` on Linux; ``~/Library/Application Support`` on macOS,
    ``%LOCALAPPDATA%`` on Windows)."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: into a temporary file beside it, flushed to
    disk, then renamed over it. Raises OSError if the folder cannot be written (the old file is
    then unchanged and no temporary file is left)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path.parent)  # left by a write that was killed before its rename
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def copy_aside(path: Path, move: bool = False) -> Path | None:
    """Copy an unusable file to ``<name>.broken-<timestamp>`` beside it (``-2``, ``-3`` ... if taken),
    for the user to inspect (``move``: rename it there instead, for a file too large to copy); the
    copy's path, or None if it could not be made."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.broken-{stamp}-{n}")
        n += 1
    try:
        if move:
            os.replace(path, backup)
        else:
            shutil.copy2(path, backup)
    except OSError:
        return None
    return backup

"""The error log: unexpected failures, with their tracebacks, in the per-user log folder.

People see a sentence (:func:`friendly_message`); the traceback goes behind a Details button
and into this file, which Help > Open Log Folder shows. No Qt here.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from nst_desktop.app_info import APP_NAME, APP_VERSION
from nst_desktop.services import paths

LOG_FILENAME = "errors.log"
#: Past this size the log starts again (the previous one is kept as errors.log.1).
LOG_MAX_BYTES = 1_000_000


def log_path() -> Path:
    """The error log file in :func:`nst_desktop.services.paths.log_dir`."""
    return paths.log_dir() / LOG_FILENAME


def friendly_message(what: str) -> str:
    """The sentence shown for an unexpected failure while doing ``what`` (e.g. "painting")."""
    return (f"Something went wrong in {APP_NAME} while {what}. This is a bug, not a problem with "
            "your images or settings. Your inputs and earlier results are kept; trying again "
            "usually works. The details below are also in the error log (Help > Open Log Folder).")


def write_error(what: str, summary: str, details: str) -> Path | None:
    """Append one failure (when, what, its one-line summary and traceback) to the log.

    Returns the log file, or None if it could not be written (a full disk must not turn one
    error into two: the details are still shown on screen).
    """
    path = log_path()
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    entry = f"=== {stamp} {APP_NAME} {APP_VERSION}: while {what}\n{summary}\n{details.rstrip()}\n\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file() and path.stat().st_size > LOG_MAX_BYTES:
            path.replace(path.with_name(LOG_FILENAME + ".1"))
        with path.open("a", encoding="utf-8") as f:
            f.write(entry)
    except OSError:
        return None
    return path

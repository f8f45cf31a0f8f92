"""Unexpected errors (bugs), told the way a person understands them.

The message box says what happened in a sentence and keeps the raw Python text (the
exception and its traceback) behind its Details button; the same text goes to the error
log in the per-user log folder (:mod:`nst_desktop.services.error_log`), which
Help > Open Log Folder opens.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Protocol

from PySide6.QtCore import QObject, QThread, QUrl
from PySide6.QtWidgets import QApplication

from nst_desktop.services import paths
from nst_desktop.services.error_log import friendly_message, write_error

ERROR_TITLE = "Something went wrong"


class ShowsErrors(Protocol):
    """The part of :class:`nst_desktop.ui.prompts.Prompts` an error report needs."""

    def show_error(self, title: str, text: str, details: str) -> None: ...

    def open_url(self, url: QUrl) -> bool: ...


class ErrorReporter(QObject):
    """Logs unexpected errors and shows them through ``prompts``; opens the log folder (also
    through ``prompts``, whose ``open_url`` tests record instead of starting a file manager)."""

    def __init__(self, prompts: ShowsErrors, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.prompts = prompts
        #: The log file of the latest report (None before one, or when it could not be written).
        self.last_log: Path | None = None

    def report(self, what: str, summary: str, details: str) -> None:
        """An unexpected failure while doing ``what`` ("painting"): log it and show a sentence,
        with ``summary`` (e.g. "AttributeError: ...") and the traceback ``details`` behind Details."""
        self.last_log = write_error(what, summary, details)
        text = friendly_message(what)
        if self.last_log is None:
            text += f" (The error log in {paths.log_dir()} could not be written.)"
        self.prompts.show_error(ERROR_TITLE, text, f"{summary}\n\n{details}".strip())

    def open_log_folder(self) -> bool:
        """Open the log folder (made if missing) in the desktop's file manager. True if opened."""
        folder = paths.log_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return bool(self.prompts.open_url(QUrl.fromLocalFile(str(folder))))

    def excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """``sys.excepthook`` of the app: an exception escaping a slot of the GUI thread is
        reported; elsewhere (a thread must not show dialogs) it is only logged."""
        details = "".join(traceback.format_exception(kind, value, tb))
        summary = f"{kind.__name__}: {value}"
        if sys.__stderr__ is not None:  # as Python's own hook would, for whoever started the app
            sys.__stderr__.write(details)
        app = QApplication.instance()
        if app is not None and QThread.currentThread() is app.thread():
            self.report("working", summary, details)
        else:
            write_error("working in the background", summary, details)

"""Telling a person away from the window how a long run goes and when it ends.

- The window title starts with the share done ("37 % — cat.jpg + night.jpg — NST Desktop").
- The taskbar entry shows it where the desktop reads Unity's launcher-entry signal over D-Bus
  (KDE Plasma, Ubuntu's dock; Qt 6 has no taskbar progress of its own).
- When a run or the queue ends while the window is not the active one, a desktop notification:
  Qt's tray message where a system tray exists, else the freedesktop notification over D-Bus
  where a session bus has a notification server, else nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QProcess, QTimer, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from nst_desktop.app_info import APP_ID, APP_NAME
from nst_desktop.services.jobs import format_duration

if TYPE_CHECKING:
    from nst_desktop.ui.run_controller import RunController
    from nst_desktop.ui.worker import RunOutcome

#: How long the tray icon that carried a message stays (it goes when the message has).
TRAY_ICON_MS = 15_000
NOTIFICATIONS = ("org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications")


def title_prefix(percent: int | None) -> str:
    """'37 % — ' while a run goes (``percent`` done), '' otherwise."""
    return "" if percent is None else f"{percent} % — "


def _session_bus():  # noqa: ANN202 - QDBusConnection, or None where QtDBus or a session bus is missing
    try:
        from PySide6.QtDBus import QDBusConnection
    except ImportError:
        return None
    bus = QDBusConnection.sessionBus()
    return bus if bus.isConnected() else None


def gvariant_string(text: str) -> str:
    """``text`` as a GVariant text-format string literal (what ``gdbus call`` parses)."""
    return json.dumps(text, ensure_ascii=True)  # JSON's escapes (\\, \", \uXXXX) are GVariant's too


def dbus_notify_command(title: str, text: str) -> list[str] | None:
    """The ``gdbus`` command that sends the freedesktop notification, or None where there is no
    session bus or no ``gdbus`` (Qt's D-Bus module cannot make the call's uint32 and a{sv} types)."""
    gdbus = shutil.which("gdbus")
    if _session_bus() is None or gdbus is None:
        return None
    dest, path, iface = NOTIFICATIONS
    return [gdbus, "call", "--session", "--dest", dest, "--object-path", path, "--method", f"{iface}.Notify",
            gvariant_string(APP_NAME), "uint32 0", '""', gvariant_string(title), gvariant_string(text),
            "@as []", "@a{sv} {}", "int32 -1"]


def _send_taskbar_progress(percent: int | None) -> None:
    """Unity's launcher-entry progress for this app's .desktop file (ignored where nothing listens)."""
    bus = _session_bus()
    if bus is None:
        return
    from PySide6.QtDBus import QDBusMessage

    msg = QDBusMessage.createSignal(f"/com/canonical/unity/launcherentry/{abs(hash(APP_ID))}",
                                    "com.canonical.Unity.LauncherEntry", "Update")
    props = {"progress-visible": percent is not None, "progress": (percent or 0) / 100.0}
    msg.setArguments([f"application://{APP_ID}.desktop", props])
    bus.send(msg)


class RunNotice(QObject):
    """The title, taskbar and notifications of a window's runs (``runs``) and queue.

    ``update_title()``: the window sets its title again (it starts with :meth:`title_prefix`);
    ``active()`` says whether the person is looking at the window (it is the active window);
    ``notify(title, text)`` shows a notification (default: :meth:`desktop_notify`)."""

    def __init__(self, *, runs: RunController, update_title: Callable[[], None], active: Callable[[], bool],
                 notify: Callable[[str, str], object] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.update_title = update_title
        self.notify = notify or self.desktop_notify
        self.active = active
        self._tray: QSystemTrayIcon | None = None
        runs.percent_changed.connect(self._on_percent)
        runs.result_ready.connect(self._on_result)
        runs.run_failed.connect(self._on_failed)

    def watch_queue(self, runner: QObject) -> None:
        """Also tell when ``runner`` (the :class:`QueueRunner`) has painted its last item."""
        self._runner = runner
        runner.running_changed.connect(self._on_queue_running)

    def title_prefix(self) -> str:
        return title_prefix(self.runs.percent)

    @Slot(int)
    def _on_percent(self, percent: int) -> None:
        self.update_title()  # the title is the window's; it asks title_prefix()
        _send_taskbar_progress(None if percent < 0 else percent)

    def _tell(self, title: str, text: str) -> None:
        if not self.active():
            self.notify(title, text)

    @Slot(object, bool)
    def _on_result(self, outcome: RunOutcome, stopped: bool) -> None:
        res = outcome.result
        w, h = res.image.size
        what = "Painting stopped" if stopped else "Painting finished"
        self._tell(what, f"{w} × {h} px, {res.steps_done} steps in {format_duration(res.elapsed_s)}")

    @Slot(str, object, str)
    def _on_failed(self, message: str, _fits: object, _details: str) -> None:
        self._tell("Painting failed", message.splitlines()[0] if message else "")

    @Slot(bool)
    def _on_queue_running(self, running: bool) -> None:
        runner = self._runner
        if running or runner.paused or runner.queue.next_waiting() is not None:
            return
        counts = runner.queue.counts()
        failed = f", {counts['failed']} failed" if counts["failed"] else ""
        self._tell("Queue finished", f"{counts['done']} of {len(runner.queue.items)} painted{failed}")

    def desktop_notify(self, title: str, text: str) -> str:
        """Show a desktop notification; returns how: "tray", "dbus" or "" (nowhere to show it)."""
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            if self._tray is None:
                self._tray = QSystemTrayIcon(QApplication.windowIcon(), self)
                self._tray.setToolTip(APP_NAME)
            self._tray.show()
            self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information)
            QTimer.singleShot(TRAY_ICON_MS, self._tray.hide)
            return "tray"
        command = dbus_notify_command(title, text)
        if command is None or not QProcess.startDetached(command[0], command[1:]):
            return ""
        return "dbus"

"""Helpers shared by the UI tests (not a test module): events, a window with recorded prompts, tiny runs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from nst_desktop.engine import StyleResult
from nst_desktop.engine.device.devices import DeviceInfo
from nst_desktop.services.settings import Settings, load_settings
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.region_canvas import RegionCanvas
from nst_desktop.ui.worker import RunOutcome


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def drag_and_drop(widget: QWidget, mime: QMimeData) -> bool:
    """Send a drag-enter then (if accepted) a drop to ``widget``, as Qt does. True if the enter was accepted.

    ``mime`` must stay alive while the events are used (the caller holds it).
    """
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return True


CPU_ONLY = [DeviceInfo("cpu", "CPU (2 cores)", 8_000_000_000)]


class Prompts:
    """Stands in for :class:`nst_desktop.ui.prompts.Prompts`: records the window's questions and
    messages and never shows a dialog.

    ``answer`` answers Yes/No questions; ``save_choice`` the Save All / Discard / Cancel one
    (None: "discard" when ``answer`` else "cancel"). The file dialogs return ``open_answer``,
    ``open_answers``, ``folder_answer`` and ``save_answer`` (tests may also replace the methods
    of this object, never the window's).
    """

    def __init__(self) -> None:
        self.answer = True
        self.save_choice: str | None = None
        self.asked: list[tuple[str, str]] = []
        self.informed: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str, str]] = []
        self.abouts: list[str] = []
        self.dialogs: list[str] = []
        self.video_dialogs: list[str] = []  # the titles of open_video_path's dialogs
        self.open_answer = ""
        self.open_answers: list[str] = []
        self.folder_answer = ""
        self.save_answer = ""
        self.opened: list[str] = []
        #: The answers of ask_text (None: cancelled) and choose (None: the first item).
        self.text_answer: str | None = "My preset"
        self.choose_answer: str | None = None

    def ask(self, title: str, text: str) -> bool:
        self.asked.append((title, text))
        return self.answer

    def inform(self, title: str, text: str) -> None:
        self.informed.append((title, text))

    def ask_save_discard_cancel(self, title: str, text: str, save_text: str = "Save All…") -> str:
        self.asked.append((title, text))
        if self.save_choice is not None:
            return self.save_choice
        return "discard" if self.answer else "cancel"

    def show_error(self, title: str, text: str, details: str) -> None:
        self.errors.append((title, text, details))

    def about(self, title: str, rich_text: str) -> None:
        self.abouts.append(title)

    def about_qt(self) -> None:
        self.abouts.append("Qt")

    def open_url(self, url) -> bool:
        self.opened.append(url.toLocalFile() or url.toString())
        return True

    def open_path(self, title: str, folder: str = "") -> str:
        self.dialogs.append(title)
        return self.open_answer

    def open_video_path(self, title: str, folder: str = "") -> str:
        self.dialogs.append(title)
        self.video_dialogs.append(title)
        return self.open_answer

    def open_paths(self, title: str, folder: str = "") -> list[str]:
        self.dialogs.append(title)
        return list(self.open_answers)

    def folder_path(self, title: str, folder: str = "") -> str:
        self.dialogs.append(title)
        return self.folder_answer

    def save_path(self, suggested: str) -> str:
        self.dialogs.append(suggested)
        return self.save_answer

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        self.dialogs.append(title)
        return self.text_answer

    def choose(self, title: str, label: str, items: list[str]) -> str | None:
        self.dialogs.append(title)
        return self.choose_answer if self.choose_answer is not None else (items[0] if items else None)

    def open_file(self, title: str, name_filter: str) -> str:
        self.dialogs.append(title)
        return self.open_answer

    def save_file(self, title: str, suggested: str, name_filter: str) -> str:
        self.dialogs.append(title)
        return self.save_answer


def make_window(qtbot, prompts: Prompts | None = None, speed_test: bool = False) -> MainWindow:
    """A shown window on the CPU whose dialogs go to a recording :class:`Prompts` (``w.prompts``)."""
    w = MainWindow(devices=CPU_ONLY, prompts=prompts or Prompts(), speed_test=speed_test)
    qtbot.addWidget(w)
    w.show()
    return w


def untick_and_reopen(qtbot, check: str) -> tuple[Settings, MainWindow]:
    """Untick the controls' checkbox named ``check`` (e.g. "objects_check") in a window that then
    writes its settings: the settings stored, and a second window opened after it."""
    first = make_window(qtbot)
    getattr(first.controls, check).setChecked(False)
    first.write_settings()
    return load_settings().settings, make_window(qtbot)


def few_steps(window: MainWindow, steps: int, size: int = 48) -> None:
    """Make the window's runs tiny (the quality presets start at 150 steps)."""
    window.steps_override = steps
    window.controls.size_spin.setValue(size)
    window.preview_every = 3


def load_both(window: MainWindow, image_files: tuple[Path, Path]) -> None:
    content, style = image_files
    assert window.content_pane.load_path(content)
    assert window.style_pane.load_path(style)


def inject_result(window: MainWindow, img: Image.Image) -> StyleResult:
    res = StyleResult(img, False, 10, 0.0, 0.0, 1.5, {"program": "NST Desktop", "params": {"seed": 7}})
    window.show_result(RunOutcome(res, pil_to_qimage(img), "test weights"))
    return res


def stroke(canvas: RegionCanvas, points: list[tuple[float, float]]) -> None:
    """Drag over ``points`` given as fractions (x, y) of the photo's width and height."""
    r = canvas.image_rect()
    pts = [QPoint(round(r.x() + fx * r.width()), round(r.y() + fy * r.height())) for fx, fy in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(canvas, p)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])

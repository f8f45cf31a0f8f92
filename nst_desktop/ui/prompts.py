"""Everything that waits for the user: message boxes and file dialogs, behind one object.

The window takes a :class:`Prompts` in its constructor (``MainWindow(prompts=...)``) and
asks all its questions through it, so tests pass a recording stand-in with the same
methods instead of letting a real modal dialog block them.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from nst_desktop.app_info import IMAGE_EXTENSIONS
from nst_desktop.ui.video_open import video_filter

#: Name filters of the save dialog and the extension each one gives a name without one.
SAVE_FILTERS = {
    "PNG image (*.png)": "png",
    "JPEG image (*.jpg *.jpeg)": "jpg",
    "WebP image (*.webp)": "webp",
    "TIFF image, 16 bits per channel (*.tif *.tiff)": "tif",
}

#: The answer of :meth:`Prompts.ask_save_discard_cancel`.
SaveChoice = Literal["save", "discard", "cancel"]


def plain_message_box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str,
                      buttons: QMessageBox.StandardButton) -> QMessageBox:
    """A message box that shows ``text`` literally (messages carry file names: never rich text)."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def _image_filter() -> str:
    patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
    return f"Images ({patterns});;All files (*)"


class Prompts(QObject):
    """The real dialogs, parented to ``parent`` (the window, set by it when it is built)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self._save_dialog: QFileDialog | None = None

    def ask(self, title: str, text: str) -> bool:
        """Yes/No question; True for Yes."""
        SB = QMessageBox.StandardButton
        box = plain_message_box(self.parent_widget, QMessageBox.Icon.Question, title, text, SB.Yes | SB.No)
        return box.exec() == SB.Yes

    def inform(self, title: str, text: str) -> None:
        """Show a problem the user must see."""
        plain_message_box(self.parent_widget, QMessageBox.Icon.Warning, title, text,
                          QMessageBox.StandardButton.Ok).exec()

    def ask_save_discard_cancel(self, title: str, text: str, save_text: str = "Save All…") -> SaveChoice:
        """The Qt examples' maybe-save question: Save (named ``save_text``) / Discard / Cancel."""
        SB = QMessageBox.StandardButton
        box = plain_message_box(self.parent_widget, QMessageBox.Icon.Warning, title, text,
                                SB.Save | SB.Discard | SB.Cancel)
        box.button(SB.Save).setText(save_text)
        box.setDefaultButton(SB.Save)
        answer = box.exec()
        return "save" if answer == SB.Save else "discard" if answer == SB.Discard else "cancel"

    def show_error(self, title: str, text: str, details: str) -> None:
        """A problem in words for people, with ``details`` (a traceback) behind a Details button."""
        box = plain_message_box(self.parent_widget, QMessageBox.Icon.Critical, title, text,
                                QMessageBox.StandardButton.Ok)
        if details:
            box.setDetailedText(details)
        box.exec()

    def about(self, title: str, rich_text: str) -> None:
        """The About box (``rich_text`` is HTML built from escaped parts)."""
        QMessageBox.about(self.parent_widget, title, rich_text)

    def about_qt(self) -> None:
        """Qt's own About box."""
        QMessageBox.aboutQt(self.parent_widget)

    def open_url(self, url: QUrl) -> bool:
        """Open ``url`` (a folder: the file manager) with the desktop's handler."""
        return QDesktopServices.openUrl(url)

    def open_path(self, title: str, folder: str = "") -> str:
        """File dialog for an input image; "" if cancelled."""
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, title, folder, _image_filter())
        return path

    def open_video_path(self, title: str, folder: str = "") -> str:
        """File dialog for a clip (video files first); "" if cancelled."""
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, title, folder, video_filter())
        return path

    def open_paths(self, title: str, folder: str = "") -> list[str]:
        """File dialog for one or more input images; [] if cancelled."""
        chosen, _ = QFileDialog.getOpenFileNames(self.parent_widget, title, folder, _image_filter())
        return list(chosen)

    def folder_path(self, title: str, folder: str = "") -> str:
        """Folder dialog; "" if cancelled."""
        return QFileDialog.getExistingDirectory(self.parent_widget, title, folder)

    def save_path(self, suggested: str) -> str:
        """Save dialog (it confirms overwriting itself); "" if cancelled."""
        dialog = QFileDialog(self.parent_widget, "Save Result", suggested)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(list(SAVE_FILTERS))
        dialog.setDefaultSuffix("png")
        dialog.filterSelected.connect(self._on_save_filter)
        self._save_dialog = dialog
        try:
            if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
                return ""
            return dialog.selectedFiles()[0]
        finally:
            self._save_dialog = None

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        """A line of text (a preset's name); None if cancelled."""
        answer, ok = QInputDialog.getText(self.parent_widget, title, label, QLineEdit.EchoMode.Normal, text)
        return answer if ok else None

    def choose(self, title: str, label: str, items: list[str]) -> str | None:
        """One of ``items`` (a preset); None if cancelled."""
        answer, ok = QInputDialog.getItem(self.parent_widget, title, label, items, 0, False)
        return answer if ok else None

    def open_file(self, title: str, name_filter: str) -> str:
        """File dialog for a file that is not an image (``name_filter`` e.g. "Presets (*.json)"); "" if cancelled."""
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, title, "", f"{name_filter};;All files (*)")
        return path

    def save_file(self, title: str, suggested: str, name_filter: str) -> str:
        """Save dialog for a file that is not an image (it confirms overwriting); "" if cancelled."""
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, title, suggested, name_filter)
        return path

    @Slot(str)
    def _on_save_filter(self, name_filter: str) -> None:
        # Choosing "JPEG" in the dialog makes a name without extension end in .jpg.
        if self._save_dialog is not None and name_filter in SAVE_FILTERS:
            self._save_dialog.setDefaultSuffix(SAVE_FILTERS[name_filter])

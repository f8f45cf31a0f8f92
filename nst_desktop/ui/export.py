"""Getting results out of the window: Save, Save All, Copy, drag out, and the crash-recovery file.

Nothing is lost: a failed save names the file and the reason and keeps the result; Save All
never replaces an existing file (it numbers the new names instead).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QMimeData, QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDrag, QGuiApplication, QImage, QPixmap

from nst_desktop.engine import ImageError, StyleResult, load_image, read_metadata, save_image
from nst_desktop.engine.image import save_tiff16
from nst_desktop.services import paths
from nst_desktop.services.jobs import suggested_output_name
from nst_desktop.services.recovery import RecoverySlot, slot_path
from nst_desktop.services.settings import Settings
from nst_desktop.ui.history_strip import HistoryEntry, HistoryStrip
from nst_desktop.ui.image_pane import ImagePane
from nst_desktop.ui.prompts import Prompts
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.style_list import StyleList
from nst_desktop.ui.worker import RunOutcome


def recovery_path() -> Path:
    """The first window's crash-recovery file (each window's is ``window.export.recovery.path``)."""
    return slot_path(paths.cache_dir(), 1)


def free_name(folder: Path, name: str, taken: set[str]) -> Path:
    """``folder/name``, or ``stem-2.ext``, ``stem-3.ext`` ... if that exists or is ``taken``."""
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = folder / name, 1
    while candidate.exists() or candidate.name in taken:
        n += 1
        candidate = folder / f"{stem}-{n}{suffix}"
    return candidate


def save_problem(exc: Exception, path: Path) -> str:
    """The sentence for a failed save (the engine's own message names the file already)."""
    return str(exc) if isinstance(exc, ImageError) else f"Cannot save '{path}': {exc}"


class ShownResult(Protocol):
    """The result a window shows (the one Save, Copy and drag-out take) and what saving one changes."""

    @property
    def result(self) -> StyleResult | None: ...

    @property
    def result_qimage(self) -> QImage | None: ...

    def has_unsaved_result(self) -> bool: ...

    def note_saved(self, res: StyleResult, path: Path) -> None: ...

    def show_result(self, outcome: RunOutcome, stopped: bool = False) -> None: ...


class Exporter(QObject):
    """Save, Save All, Copy, drag-out and recovery for the results of a window (``parent``, also the
    source of a drag out).

    ``shown``: the result shown; ``history``: the History's results; ``content_pane`` and
    ``style_list``: the inputs, which name a saved file; ``settings``: the last folders (kept there,
    written by the window); ``prompts``: the dialogs; ``show_status(text, ms)``: a line in the status
    bar for ``ms`` milliseconds."""

    def __init__(self, *, shown: ShownResult, history: HistoryStrip, content_pane: ImagePane, style_list: StyleList,
                 settings: Settings, prompts: Prompts, show_status: Callable[[str, int], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shown = shown
        self.history = history
        self.content_pane = content_pane
        self.style_list = style_list
        self.settings = settings
        self.prompts = prompts
        self.show_status = show_status
        self._drag_dir: Path | None = None
        self._drag_file: Path | None = None
        #: This window's crash-recovery file (no other window writes or deletes it).
        self.recovery = RecoverySlot(paths.cache_dir())
        self._recovery_warned = False

    def suggested_name(self, extension: str = ".png") -> str:
        """``<photo>-in-style-of-<painting>.png`` from the current inputs."""
        included = self.style_list.included()
        content = self.content_pane.loaded
        style = included[0].loaded if included else self.style_list.rows[0].loaded
        return suggested_output_name(content.name if content else "result", style.name if style else "style",
                                     extension)

    def result_changed(self) -> None:
        """A new current result: the drag-out file must be written again."""
        self._drag_file = None

    # ------------------------------------------------------------------ save
    @Slot()
    def save_result(self) -> bool:
        """Ask where, then save the full-resolution result. True if saved."""
        if self.shown.result is None:
            return False
        folder = self.settings.last_save_dir or self.settings.last_open_dir or str(Path.home())
        path = self.prompts.save_path(str(Path(folder) / self.suggested_name()))
        if not path:
            return False
        # The dialog has already confirmed replacing an existing file.
        return self.save_result_to(path, confirm_overwrite=False)

    def save_result_to(self, path: str | Path, confirm_overwrite: bool = True) -> bool:
        """Save the full-resolution result with its settings embedded; format from the extension.

        Asks before replacing an existing file when ``confirm_overwrite``. A failure is
        shown (status bar and a message) and the result is kept. True if saved.
        """
        res = self.shown.result
        if res is None:
            return False
        p = Path(path)
        if confirm_overwrite and p.exists():
            if not self.prompts.ask("Replace file?", f"'{p.name}' already exists in '{p.parent}'. Replace it?"):
                return False
        message = self._write(res, p)
        if message is not None:
            self.prompts.inform("Could not save the result",
                             f"{message}\n\nThe result is kept; choose another folder or name.")
            return False
        self.show_status(f"Saved {p}", 10000)
        return True

    def _write(self, res: StyleResult, path: Path) -> str | None:
        """Save ``res`` (with its metadata) to ``path`` and mark it saved; on failure show why in
        the status bar and return that sentence (the caller says what is kept)."""
        try:
            if path.suffix.lower() in (".tif", ".tiff") and res.pixels16 is not None:
                save_tiff16(res.pixels16, path, res.metadata)  # 16 bits per channel, sRGB profile
            else:
                save_image(res.image, path, res.metadata)
        except (ImageError, OSError, ValueError) as exc:
            message = save_problem(exc, path)
            self.show_status(f"Not saved. {message}", 20000)
            return message
        self.shown.note_saved(res, path)
        return None

    def unsaved(self) -> list[tuple[StyleResult, HistoryEntry | None]]:
        """The results not saved yet: the History's, then the shown one if it is not in the History."""
        shown = self.shown.result
        found: list[tuple[StyleResult, HistoryEntry | None]] = [
            (e.result, e) for e in self.history.entries() if not e.saved]
        if self.shown.has_unsaved_result() and self.history.entry_for(shown) is None:
            assert shown is not None
            found.append((shown, None))
        return found

    @Slot()
    def save_all(self) -> bool:
        """Ask for a folder and save every unsaved result into it as PNG (new names, never over a
        file). True if all were saved; on the first failure the rest are kept and it says why."""
        todo = self.unsaved()
        if not todo:
            return True
        start = self.settings.last_save_dir or self.settings.last_open_dir or str(Path.home())
        chosen = self.prompts.folder_path("Save All Results", start)
        if not chosen:
            return False
        folder = Path(chosen)
        stem = Path(self.suggested_name()).stem
        taken: set[str] = set()
        saved = 0
        for res, entry in todo:
            name = f"{stem}-{entry.number}.png" if entry is not None else f"{stem}.png"
            target = free_name(folder, name, taken)
            message = self._write(res, target)
            if message is not None:
                self.prompts.inform("Could not save all results",
                                 f"{message}\n\n{saved} of {len(todo)} saved; the others are kept. "
                                 "Choose another folder.")
                return False
            taken.add(target.name)
            saved += 1
        self.settings.last_save_dir = str(folder.resolve())
        self.show_status(f"Saved {saved} result{'s' if saved != 1 else ''} in {folder}", 10000)
        return True

    # ------------------------------------------------------------------ copy and drag out
    @Slot()
    def copy_result(self) -> None:
        """Put the full-resolution result on the clipboard."""
        if self.shown.result_qimage is not None:
            QGuiApplication.clipboard().setImage(self.shown.result_qimage)
            self.show_status("Result copied to the clipboard.", 5000)

    @Slot(object)
    def copy_history_entry(self, entry: HistoryEntry) -> None:
        """Put ``entry``'s full-resolution image on the clipboard."""
        QGuiApplication.clipboard().setImage(entry.outcome.qimage)
        self.show_status(f"Result #{entry.number} copied to the clipboard.", 5000)

    def drag_mime_data(self) -> QMimeData | None:
        """Mime data for dragging the result out: a temporary PNG file URL plus the image."""
        res, qimage = self.shown.result, self.shown.result_qimage
        if res is None or qimage is None:
            return None
        if self._drag_file is None or not self._drag_file.is_file():
            if self._drag_dir is None:
                self._drag_dir = Path(tempfile.mkdtemp(prefix="nst-desktop-drag-"))
            target = self._drag_dir / self.suggested_name()
            try:
                save_image(res.image, target, res.metadata)
            except ImageError as exc:
                self.show_status(str(exc), 10000)
                return None
            self._drag_file = target
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(self._drag_file))])
        mime.setImageData(qimage)
        return mime

    @Slot()
    def start_drag_out(self) -> None:
        mime = self.drag_mime_data()
        qimage = self.shown.result_qimage
        if mime is None or qimage is None:
            return
        drag = QDrag(self.parent())
        drag.setMimeData(mime)
        thumb = qimage.scaled(160, 160, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        drag.setPixmap(QPixmap.fromImage(thumb))
        drag.exec(Qt.DropAction.CopyAction)

    def closing(self) -> None:
        """The window closes: remove the drag-out files and give up the recovery slot."""
        self.remove_drag_files()
        self.recovery.release()

    def remove_drag_files(self) -> None:
        """Remove the temporary drag-out folder (when the window closes)."""
        if self._drag_dir is not None:
            shutil.rmtree(self._drag_dir, ignore_errors=True)
            self._drag_dir = None

    # ------------------------------------------------------------------ recovery
    def check_recovery(self, outcome: RunOutcome) -> None:
        """Tell the user, once until a later write works again, that the crash-recovery copy of a
        result could not be written (a full disk): the result is then only in memory."""
        if not outcome.recovery_problem:
            self._recovery_warned = False
            return
        if not self._recovery_warned:
            self._recovery_warned = True
            self.show_status(
                f"The crash-recovery copy could not be written ({outcome.recovery_problem.rstrip('.')}): "
                "save the result now to keep it.", 30000)
    @Slot()
    def recover_last_result(self) -> bool:
        """Show the result saved for crash recovery as an unsaved result."""
        path = self.recovery.path
        try:
            image = load_image(path)
            meta = read_metadata(path) or {}
        except ImageError as exc:
            self.show_status(str(exc), 10000)
            return False
        steps = int(meta.get("steps_done", 0)) if isinstance(meta.get("steps_done", 0), int) else 0
        elapsed = float(meta.get("elapsed_s", 0.0)) if isinstance(meta.get("elapsed_s", 0.0), (int, float)) else 0.0
        res = StyleResult(image, False, steps, math.nan, math.nan, elapsed, meta)
        self.shown.show_result(RunOutcome(res, pil_to_qimage(image), str(meta.get("weights_name", ""))))
        return True

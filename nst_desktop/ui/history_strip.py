"""The History strip: thumbnails of the results painted since the app started.

Each entry keeps the run's :class:`RunOutcome` (the full-resolution image, its metadata
and its QImage), whether the run was stopped, the content photo it was painted from
(for the before/after comparison) and where it was saved, if it was. The newest entry
is on the left, so it is always in view; older ones scroll off to the right.

The strip only holds and shows entries; the window decides what choosing, saving,
copying, using the settings of and removing an entry do (signals below). Memory is
bounded: at most :attr:`HistoryStrip.limit` entries and about
:attr:`HistoryStrip.byte_budget` bytes of images; beyond that the oldest *saved* entry
goes first, and an unsaved one only when none is saved (:meth:`HistoryStrip.add`
returns what was dropped so the window can say so).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QContextMenuEvent, QIcon, QImage, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QMenu, QWidget

from nst_desktop.engine import StyleResult, preset_for_steps
from nst_desktop.services.jobs import format_duration
from nst_desktop.ui.control_choices import EVEN_LAYERS, OBJECTS_KEPT
from nst_desktop.ui.worker import RunOutcome

#: Longest side of a thumbnail, logical px.
THUMB_SIZE = 96
#: Most entries kept.
HISTORY_LIMIT = 30
#: About how many bytes of images (results, their QImages, distinct content photos) are kept.
HISTORY_BYTE_BUDGET = 1_500_000_000
RUNNING_TIP = "The history can be browsed when painting stops"
IDLE_TIP = "Results painted since the app started (newest on the left). Click one to show it; right-click for more"


@dataclass(eq=False)
class HistoryEntry:
    """One result in the History: the run's outcome and what the window needs to show it again.

    number: 1 for the first result of the session, counting up. before: the content photo
    it was painted from, at the result's size (for the before/after comparison; None if
    unknown). saved_as: the file it was last saved to.
    """

    outcome: RunOutcome
    stopped: bool
    number: int
    before: Image.Image | None = None
    saved_as: Path | None = None

    @property
    def result(self) -> StyleResult:
        return self.outcome.result

    @property
    def saved(self) -> bool:
        return self.saved_as is not None

    def nbytes(self) -> int:
        """About how many bytes its images hold (result, its QImage and the content photo)."""
        images = [self.result.image] + ([self.before] if self.before is not None else [])
        return sum(i.size[0] * i.size[1] * len(i.getbands()) for i in images) + self.outcome.qimage.sizeInBytes()


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def settings_summary(metadata: Mapping[str, object]) -> str:
    """A one-line summary of the settings in a result's metadata, e.g.
    "seed 1234 · strength 1 · Balanced · 512 px" ("" when there are none)."""
    p = metadata.get("params")
    if not isinstance(p, Mapping):
        return ""
    parts: list[str] = []
    seed = p.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        parts.append(f"seed {seed}")
    if (strength := _number(p.get("style_strength"))) is not None:
        parts.append(f"strength {strength:g}")
    steps = p.get("steps")
    preset = preset_for_steps(steps)
    if preset is not None:
        parts.append(preset.capitalize())
    elif (n := _number(steps)) is not None:
        parts.append(f"{n:g} steps")
    if (size := _number(p.get("size"))) is not None:
        parts.append(f"{size:g} px")
    if (scale := _number(p.get("style_scale"))) is not None and scale != 1:
        parts.append(f"brush {scale:g}×")
    colours = {"luminance": "photo's colours", "match": "colours matched"}.get(str(p.get("preserve_colors")))
    if colours:
        parts.append(colours)
    if p.get("init") == "noise":
        parts.append("from noise")
    if p.get("leave_out_objects") is False:  # the default leaves them out; older results have no field
        parts.append(OBJECTS_KEPT)
    if p.get("layer_weights") == "even":  # the default weighs the fine layers first
        parts.append(EVEN_LAYERS)
    weights = metadata.get("style_weights")
    if isinstance(weights, list) and len(weights) == 2 and all(_number(w) is not None for w in weights):
        total = sum(weights)
        if total > 0:
            parts.append(f"blend {round(100 * weights[0] / total)}/{round(100 * weights[1] / total)}")
    if isinstance(metadata.get("regions"), Mapping):
        parts.append("regions")
    if metadata.get("continued") is True:
        parts.append("continued")
    return " · ".join(parts)


def _run_text(entry: HistoryEntry) -> str:
    res = entry.result
    what = f"Stopped after {res.steps_done} steps" if entry.stopped else f"{res.steps_done} steps"
    return f"{what} in {format_duration(res.elapsed_s)}"


def entry_caption(entry: HistoryEntry) -> str:
    """The result view's caption for an entry: size, run, saved or not, settings (plain text)."""
    w, h = entry.result.image.size
    saved = f"saved as {entry.saved_as.name}" if entry.saved_as is not None else "not saved"
    summary = settings_summary(entry.result.metadata)
    return f"Result #{entry.number} · {w} × {h} px · {_run_text(entry)} · {saved}" + (
        f" · {summary}" if summary else "")


def entry_tooltip_text(entry: HistoryEntry) -> str:
    """Plain-text lines describing an entry (the tooltip shows them literally)."""
    w, h = entry.result.image.size
    lines = [f"Result #{entry.number} · {w} × {h} px", ("" if entry.stopped else "Finished: ") + _run_text(entry)]
    summary = settings_summary(entry.result.metadata)
    if summary:
        lines.append(summary)
    lines.append(f"Saved as {entry.saved_as}" if entry.saved_as is not None else "Not saved")
    return "\n".join(lines)


def entry_label(entry: HistoryEntry) -> str:
    """The short text under a thumbnail (stopped and saved show as tags on the thumbnail)."""
    return f"#{entry.number}"


def _draw_tag(p: QPainter, text: str, rect: QRectF, left: bool, colour: QColor) -> None:
    """A small tag in a bottom corner of ``rect``."""
    fm = p.fontMetrics()
    w, h = fm.horizontalAdvance(text) + 8, fm.height() + 2
    x = rect.left() + 2 if left else rect.right() - 2 - w
    box = QRectF(x, rect.bottom() - 2 - h, w, h)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawRoundedRect(box, 3, 3)
    p.setPen(QColor(255, 255, 255))
    p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def thumbnail_pixmap(image: QImage, size: int = THUMB_SIZE, dpr: float = 1.0, stopped: bool = False,
                     saved: bool = False) -> QPixmap:
    """A ``size`` x ``size`` logical px thumbnail, sharp at ``dpr`` (``size * dpr`` device px,
    devicePixelRatio set): ``image`` scaled smoothly to fit, centred on transparency, with
    "stopped" and "saved" tags in its bottom corners when they apply. GUI thread only."""
    side = max(1, round(size * dpr))
    thumb = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    pm = QPixmap(side, side)
    pm.fill(Qt.GlobalColor.transparent)
    pm.setDevicePixelRatio(dpr)
    rect = QRectF((side - thumb.width()) / 2 / dpr, (side - thumb.height()) / 2 / dpr,
                  thumb.width() / dpr, thumb.height() / dpr)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.drawImage(rect, thumb)
    font = p.font()
    font.setPixelSize(10)
    p.setFont(font)
    if stopped:
        _draw_tag(p, "stopped", rect, left=True, colour=QColor(0, 0, 0, 170))
    if saved:
        _draw_tag(p, "saved", rect, left=False, colour=QColor(20, 120, 50, 220))
    p.end()
    return pm


def unsaved_question(unsaved: int, shown_is_unsaved: bool) -> str:
    """The quit question for ``unsaved`` unsaved results (``shown_is_unsaved``: one is the shown one)."""
    if unsaved == 1 and shown_is_unsaved:
        return "The result has not been saved. Save it before quitting?"
    if unsaved == 1:
        return "A result in the History has not been saved. Save it before quitting?"
    return f"{unsaved} results have not been saved. Save them before quitting?"


def dropped_message(dropped: list[HistoryEntry], limit: int) -> str:
    """Status-bar text saying which entries a full History let go (oldest saved ones go first)."""
    names = ", ".join(f"#{e.number}" for e in dropped)
    unsaved = [f"#{e.number}" for e in dropped if not e.saved]
    if not unsaved:
        return f"The History is full (it keeps up to {limit} results): removed the oldest saved result {names}."
    return (f"The History is full (it keeps up to {limit} results) and has no saved result left to drop: "
            f"removed the oldest, {names}; not saved: {', '.join(unsaved)}.")


class HistoryStrip(QListWidget):
    """One row of thumbnails, newest first.

    Signals (each carries the :class:`HistoryEntry`):
    entryChosen: the user clicked an entry or moved to it with the arrow keys (or chose
        Show); the window shows it.
    saveRequested / copyRequested / useSettingsRequested / removeRequested: the entry's
        context-menu commands (Delete asks to remove the current entry too).
    entriesChanged(): an entry was added, removed or marked saved.
    """

    entryChosen = Signal(object)
    saveRequested = Signal(object)
    copyRequested = Signal(object)
    useSettingsRequested = Signal(object)
    removeRequested = Signal(object)
    entriesChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Most entries kept, and about how many bytes of images.
        self.limit = HISTORY_LIMIT
        self.byte_budget = HISTORY_BYTE_BUDGET
        self._entries: list[HistoryEntry] = []  # newest first, like the items
        self._next_number = 1
        self._quiet = False
        self._menu_entry: HistoryEntry | None = None
        self._running = False
        self.setObjectName("historyStrip")
        self.setAccessibleName("History")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(False)
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        grid = QSize(THUMB_SIZE + 16, THUMB_SIZE + self.fontMetrics().height() + 12)
        self.setGridSize(grid)
        frame = 2 * self.frameWidth()
        self.setFixedHeight(grid.height() + self.horizontalScrollBar().sizeHint().height() + frame + 4)
        self.setMinimumWidth(grid.width() + frame)
        self.setToolTip(IDLE_TIP)
        self.currentItemChanged.connect(self._on_current_changed)
        self.itemClicked.connect(self._on_item_clicked)

    # --- entries ---------------------------------------------------------------
    def entries(self) -> list[HistoryEntry]:
        """The entries, newest first."""
        return list(self._entries)

    def newest(self) -> HistoryEntry | None:
        return self._entries[0] if self._entries else None

    def entry_for(self, result: StyleResult | None) -> HistoryEntry | None:
        """The entry holding ``result`` (the same object), if any."""
        return next((e for e in self._entries if e.result is result), None) if result is not None else None

    def current_entry(self) -> HistoryEntry | None:
        return self.entry_at(self.currentItem())

    def entry_at(self, item: QListWidgetItem | None) -> HistoryEntry | None:
        if item is None:
            return None
        row = self.row(item)
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def item_for(self, entry: HistoryEntry) -> QListWidgetItem | None:
        try:
            return self.item(self._entries.index(entry))
        except ValueError:
            return None

    def unsaved_count(self) -> int:
        return sum(not e.saved for e in self._entries)

    def images_bytes(self) -> int:
        """About how many bytes of images the History holds."""
        return sum(e.nbytes() for e in self._entries)

    def add(self, outcome: RunOutcome, stopped: bool, before: Image.Image | None = None
            ) -> tuple[HistoryEntry, list[HistoryEntry]]:
        """Add a result as the newest (and current) entry, without emitting ``entryChosen``.

        Returns the new entry and those dropped to stay within :attr:`limit` and
        :attr:`byte_budget` (oldest saved first; the new entry is never dropped).
        """
        entry = HistoryEntry(outcome, stopped, self._next_number, before)
        self._next_number += 1
        self._entries.insert(0, entry)
        item = QListWidgetItem()
        self.insertItem(0, item)
        self._refresh_item(entry)
        dropped: list[HistoryEntry] = []
        while len(self._entries) > 1 and (len(self._entries) > self.limit or self.images_bytes() > self.byte_budget):
            older = self._entries[:0:-1]  # oldest first, the new entry left out
            victim = next((e for e in older if e.saved), older[0])
            self._take(victim)
            dropped.append(victim)
        self.select(entry)
        self.scrollToItem(item)
        self.entriesChanged.emit()
        return entry, dropped

    def remove(self, entry: HistoryEntry) -> None:
        """Remove ``entry`` (nothing if it is not here); its images are released."""
        if entry in self._entries:
            self._take(entry)
            self.entriesChanged.emit()

    def _take(self, entry: HistoryEntry) -> None:
        row = self._entries.index(entry)
        self._quiet = True  # the current item moving on is not the user's choice
        try:
            item = self.takeItem(row)
        finally:
            self._quiet = False
        del self._entries[row]
        del item

    def mark_saved(self, entry: HistoryEntry, path: str | Path) -> None:
        """Record that ``entry`` was saved to ``path``."""
        entry.saved_as = Path(path)
        self._refresh_item(entry)
        self.entriesChanged.emit()

    def select(self, entry: HistoryEntry | None) -> None:
        """Make ``entry`` current (None: no entry) without emitting ``entryChosen``."""
        item = self.item_for(entry) if entry is not None else None
        self._quiet = True
        try:
            if item is None:
                self.setCurrentItem(None)
                self.clearSelection()
            else:
                self.setCurrentItem(item)
        finally:
            self._quiet = False

    def set_running(self, running: bool) -> None:
        """While painting, the strip cannot be used (the view shows the run's previews)."""
        self._running = running
        self.setEnabled(not running)
        self.setToolTip(RUNNING_TIP if running else IDLE_TIP)

    def _refresh_item(self, entry: HistoryEntry) -> None:
        item = self.item_for(entry)
        if item is None:
            return
        item.setIcon(QIcon(thumbnail_pixmap(entry.outcome.qimage, THUMB_SIZE, self.devicePixelRatioF(),
                                            stopped=entry.stopped, saved=entry.saved)))
        item.setText(entry_label(entry))
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        item.setToolTip(f"<p style='white-space:pre'>{html.escape(entry_tooltip_text(entry))}</p>")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, entry_tooltip_text(entry).replace("\n", ", "))

    def refresh_thumbnails(self) -> None:
        """Rebuild the thumbnails (the screen's pixel ratio changed)."""
        for entry in self._entries:
            self._refresh_item(entry)

    def event(self, e: QEvent) -> bool:  # noqa: D102 - Qt API
        if e.type() == QEvent.Type.DevicePixelRatioChange:
            self.refresh_thumbnails()
        return super().event(e)

    # --- user input ---------------------------------------------------------------
    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        entry = self.entry_at(current)
        if entry is not None and not self._quiet:
            self.entryChosen.emit(entry)

    @Slot(QListWidgetItem)
    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        entry = self.entry_at(item)
        if entry is not None:
            self.entryChosen.emit(entry)  # again: the window ignores an entry it already shows

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        entry = self.current_entry()
        if entry is not None and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.removeRequested.emit(entry)
            event.accept()
            return
        if entry is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.entryChosen.emit(entry)
            event.accept()
            return
        super().keyPressEvent(event)

    def context_menu(self, entry: HistoryEntry) -> QMenu:
        """The context menu of ``entry``: Show, Save As…, Copy, Use These Settings, Remove from History."""
        self._menu_entry = entry
        menu = QMenu(self)
        menu.setObjectName("historyMenu")
        menu.addAction("&Show", self._menu_show)
        menu.addAction("Save &As…", self._menu_save)
        menu.addAction("&Copy", self._menu_copy)
        use = menu.addAction("&Use These Settings", self._menu_use)
        use.setToolTip("Set the controls to the settings that made this result")
        use.setEnabled(isinstance(entry.result.metadata.get("params"), Mapping))
        menu.addSeparator()
        menu.addAction("&Remove from History", self._menu_remove)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt API
        item = self.itemAt(event.pos())
        if item is None and event.reason() == QContextMenuEvent.Reason.Keyboard:
            item = self.currentItem()
        entry = self.entry_at(item)
        if entry is None:
            return
        menu = self.context_menu(entry)
        pos = event.globalPos()
        if event.reason() == QContextMenuEvent.Reason.Keyboard and item is not None:
            pos = self.viewport().mapToGlobal(self.visualItemRect(item).center())
        menu.exec(pos)
        menu.deleteLater()

    def _take_menu_entry(self) -> HistoryEntry | None:
        entry = self._menu_entry
        return entry if entry in self._entries else None

    @Slot()
    def _menu_show(self) -> None:
        if (entry := self._take_menu_entry()) is not None:
            self.select(entry)
            self.entryChosen.emit(entry)

    @Slot()
    def _menu_save(self) -> None:
        if (entry := self._take_menu_entry()) is not None:
            self.saveRequested.emit(entry)

    @Slot()
    def _menu_copy(self) -> None:
        if (entry := self._take_menu_entry()) is not None:
            self.copyRequested.emit(entry)

    @Slot()
    def _menu_use(self) -> None:
        if (entry := self._take_menu_entry()) is not None:
            self.useSettingsRequested.emit(entry)

    @Slot()
    def _menu_remove(self) -> None:
        if (entry := self._take_menu_entry()) is not None:
            self.removeRequested.emit(entry)


__all__ = [
    "HISTORY_LIMIT",
    "THUMB_SIZE",
    "HistoryEntry",
    "HistoryStrip",
    "dropped_message",
    "entry_caption",
    "entry_tooltip_text",
    "settings_summary",
    "thumbnail_pixmap",
    "unsaved_question",
]

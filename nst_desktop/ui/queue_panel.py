"""The Queue panel (View > Queue): many photos x many paintings, painted one after another.

Drop (or choose) photos and paintings, files or folders; choose every combination or the given
pairs, optionally one or two sweeps (style strength, brush scale, quality, seed, colours, size
over given values) and the output folder; **Add to Queue** plans the items with the window's
current settings (:func:`~nst_desktop.services.batch.plan_items`). **Start** paints them in turn
(:class:`~nst_desktop.ui.queue_runner.QueueRunner`, in the window's worker; never while the window
paints): each result is written into the folder as ``<photo>-in-style-of-<painting>.png`` (never
overwriting) with its settings, and added to the History as saved. Rows can be moved, removed and
retried; Pause stops the item being painted (it restarts on Resume). Each row shows its state
and step; the bar and the line under it the whole queue's and an estimate of the time left.
When a group of items has finished, its contact sheet (or sweep grid) is saved beside the results
and shown below; clicking a cell shows that result and its settings.

The queue is kept in the per-user data folder: it survives closing the window, a crash or a
power cut (a finished item is never painted again, a half-done one restarts).

The rows' and status line's words are :mod:`~nst_desktop.ui.queue_text`'s, the waiting items' time
:mod:`~nst_desktop.ui.queue_waiting_time`'s, the results in the window :mod:`~nst_desktop.ui.queue_results`'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.engine import preset_steps
from nst_desktop.services import paths
from nst_desktop.services.batch import plan_items
from nst_desktop.services.jobs import device_type, runs_half
from nst_desktop.services.queue_store import QueueItem
from nst_desktop.services.settings import Settings
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.elided import ElidedComboBox, ElidedPushButton
from nst_desktop.ui.history_strip import HistoryStrip
from nst_desktop.ui.prompts import Prompts
from nst_desktop.ui.queue_inputs import PathList, SweepRow, path_list_box
from nst_desktop.ui.queue_results import QueueResults, ShownEntry
from nst_desktop.ui.queue_runner import QueueRunner
from nst_desktop.ui.queue_text import row_text, row_tooltip, status_text
from nst_desktop.ui.queue_waiting_time import PhotoAspects, waiting_seconds
from nst_desktop.ui.run_controller import RunController
from nst_desktop.ui.sheet_view import SheetView
from nst_desktop.ui.window_layout import show_dock_beside

#: Why the window's Stylize waits while the queue paints.
QUEUE_BUSY = "The queue is painting: pause it (View > Queue) to paint here"
MODES = (("Every combination", False), ("Pairs (1st photo with 1st painting, …)", True))


class QueuePanel(QWidget):
    """The panel, in a dock (``dock``) on the right of the window ``host``. ``runner``: the queue.

    It paints with ``runs`` (the window's runs: never while one goes) and the ``controls``' settings
    (``steps_override()``: the steps instead of the quality's, None: the quality's); ``settings``:
    keep input paths?, the last folder; ``prompts``: the file dialogs; ``status_bar``: the window's
    (problems, what was found at start); ``history`` and ``shown``: the results go into the History
    and are shown when asked for; ``main_splitter``: the window's columns, which the dock takes
    room from when it opens.

    Signals: ``stateChanged()``: the queue started or stopped painting, or added to the History
    (the window updates its buttons: Stylize waits while the queue paints).
    """

    stateChanged = Signal()

    def __init__(self, *, runs: RunController, controls: ControlsPanel, steps_override: Callable[[], int | None],
                 settings: Settings, prompts: Prompts, status_bar: QStatusBar, history: HistoryStrip,
                 shown: ShownEntry, host: QMainWindow, main_splitter: QSplitter) -> None:
        super().__init__()
        self.runs = runs
        self.controls = controls
        self.steps_override = steps_override
        self.settings = settings
        self.prompts = prompts
        self.status_bar = status_bar
        self._host = host
        self._main_splitter = main_splitter
        self._action: QAction | None = None
        self._aspects = PhotoAspects()
        self.runner = QueueRunner(runs.is_running, paths.cache_dir(), parent=self,
                                  keep_paths=lambda: settings.keep_input_paths)
        self.runner.changed.connect(self.refresh)
        self.runner.item_progress.connect(self._on_item_progress)
        self.runner.running_changed.connect(self._on_running_changed)
        self.runner.problem.connect(self._on_problem)
        runs.running_changed.connect(self._on_window_running)

        self.photos = PathList("photo")
        self.paintings = PathList("painting")
        for lst in (self.photos, self.paintings):
            lst.problems.connect(self._on_input_problems)
        self.mode = ElidedComboBox()
        for text, pairs in MODES:
            self.mode.addItem(text, pairs)
        self.sweeps = (SweepRow(), SweepRow())
        self.out_edit = QLineEdit(str(Path.home() / "NST Desktop results"))
        self.out_edit.setToolTip("The folder the results are written into (made if missing)")
        self.add_button = ElidedPushButton("Add to Queue")
        self.add_button.setToolTip("Plan every item with the window's current settings and add them to the queue")
        self.add_button.clicked.connect(self.add_to_queue)
        self.message = QLabel(" ")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)

        self.items = QListWidget()
        self.items.setToolTip("Double-click a finished item to show its result")
        self.items.itemDoubleClicked.connect(self._on_item_double_clicked)
        self.items.currentRowChanged.connect(self._update_buttons)
        self.run_button = ElidedPushButton("Start")
        self.run_button.clicked.connect(self.start_or_pause)
        self.up_button, self.down_button = ElidedPushButton("Up"), ElidedPushButton("Down")
        self.remove_button, self.retry_button = ElidedPushButton("Remove"), ElidedPushButton("Retry")
        self.clear_button = ElidedPushButton("Clear Finished")
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_button.clicked.connect(self.remove_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.clear_button.clicked.connect(self.runner.clear_finished)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m finished")
        self.status = QLabel(" ")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.sheet = SheetView()
        self.cell_label = QLabel(" ")
        self.cell_label.setWordWrap(True)
        self.cell_label.setTextFormat(Qt.TextFormat.PlainText)
        self.results = QueueResults(shown=shown, history=history, show_status=status_bar.showMessage,
                                    sheet=self.sheet, cell_label=self.cell_label, added=self.stateChanged.emit)
        self.sheet.cellClicked.connect(self.results.show_cell)
        self.runner.result_written.connect(self.results.result_written)
        self.runner.sheet_saved.connect(self.results.sheet_saved)
        self._lay_out()
        self.refresh()
        self._startup_note()
        sheets = [g.sheet for g in self.runner.queue.groups if g.sheet is not None and g.sheet.is_file()]
        if sheets:  # the latest sheet of the queue kept from last time
            self.results.sheet_saved(sheets[-1])
        self.dock = self._dock_in(host)

    # ------------------------------------------------------------------ layout
    def _lay_out(self) -> None:
        add_box = QGroupBox("Add")
        add_lay = QVBoxLayout(add_box)
        sides = QHBoxLayout()
        sides.addWidget(path_list_box("Photos", self.photos, lambda: self.choose_files(self.photos),
                                      lambda: self.choose_folder(self.photos)))
        sides.addWidget(path_list_box("Paintings", self.paintings, lambda: self.choose_files(self.paintings),
                                      lambda: self.choose_folder(self.paintings)))
        add_lay.addLayout(sides, 1)
        form = QFormLayout()
        form.addRow("Combine", self.mode)
        form.addRow("Sweep", self.sweeps[0])
        form.addRow("and", self.sweeps[1])
        out = QHBoxLayout()
        out.addWidget(self.out_edit, 1)
        choose = ElidedPushButton("Choose…")
        choose.clicked.connect(self.choose_output)
        out.addWidget(choose)
        form.addRow("Results in", out)
        add_lay.addLayout(form)
        add_lay.addWidget(self.add_button)
        add_lay.addWidget(self.message)

        queue_box = QGroupBox("Items")
        q_lay = QVBoxLayout(queue_box)
        q_lay.addWidget(self.items, 1)
        row = QHBoxLayout()
        for b in (self.run_button, self.up_button, self.down_button, self.remove_button, self.retry_button,
                  self.clear_button):
            row.addWidget(b)
        q_lay.addLayout(row)
        q_lay.addWidget(self.progress)
        q_lay.addWidget(self.status)

        sheet_box = QGroupBox("Contact sheet")
        s_lay = QVBoxLayout(sheet_box)
        s_lay.addWidget(self.sheet, 1)
        s_lay.addWidget(self.cell_label)

        split = QSplitter(Qt.Orientation.Vertical)
        for w in (add_box, queue_box, sheet_box):
            split.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

    def _dock_in(self, host: QMainWindow) -> QDockWidget:
        """Put the panel in a dock on ``host``'s right (hidden until View > Queue, or shown when the
        queue has items left from last time)."""
        dock = QDockWidget("Queue", host)
        dock.setObjectName("queueDock")
        scroll = QScrollArea()  # on a small screen the panel scrolls instead of making the window taller
        scroll.setWidget(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        dock.setWidget(scroll)
        host.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.setVisible(bool(self.runner.queue.items))
        return dock

    def _startup_note(self) -> None:
        """Say what was found in the queue file (after the window's own first message)."""
        waiting = self.runner.queue.counts()["waiting"]
        notes = [self.runner.load_problem] if self.runner.load_problem else []
        if waiting:
            notes.append(f"The queue has {waiting} item{'s' * (waiting != 1)} left from last time"
                         + (" (the one being painted restarts)" if self.runner.restarted else "")
                         + ": press Resume in the Queue panel.")
        if notes:
            self.status.setText(" ".join(notes))
            QTimer.singleShot(0, lambda: self._status_bar(" ".join(notes)))

    def _status_bar(self, text: str) -> None:
        bar = self.status_bar
        current = bar.currentMessage()
        bar.showMessage(f"{current} {text}" if current and text not in current else text, 20000)

    # ------------------------------------------------------------------ adding
    def choose_files(self, lst: PathList) -> None:
        picked = self.prompts.open_paths(f"Add {lst.what}s to the queue", self.settings.last_open_dir)
        if picked:
            lst.add_paths(picked)

    def choose_folder(self, lst: PathList) -> None:
        folder = self.prompts.folder_path(f"Add a folder of {lst.what}s", self.settings.last_open_dir)
        if folder:
            lst.add_paths([folder])

    def choose_output(self) -> None:
        folder = self.prompts.folder_path("Write the queue's results into", self.out_edit.text())
        if folder:
            self.out_edit.setText(folder)

    @Slot(list)
    def _on_input_problems(self, problems: list[str]) -> None:
        self.message.setText("\n".join(problems))

    def _steps_for(self, quality: str) -> int:
        device = self.controls.device_id()
        return preset_steps(quality, device_type(device), runs_half(device))

    def add_to_queue(self) -> int:
        """Plan the items of the lists with the window's settings and append them; returns how
        many (0: the message line says why)."""
        photos, paintings = self.photos.paths(), self.paintings.paths()
        if not photos or not paintings:
            self.message.setText("Add at least one photo and one painting first.")
            return 0
        out = self.out_edit.text().strip()
        if not out:
            self.message.setText("Choose the folder the results go into.")
            return 0
        out_dir = Path(out).expanduser()
        if out_dir.exists() and not out_dir.is_dir():
            self.message.setText(f"'{out_dir}' is a file, not a folder.")
            return 0
        params = self.controls.params(preview_every=0)
        if (steps := self.steps_override()) is not None:
            params = dataclasses.replace(params, steps=steps)
        try:
            params.validate()
            sweeps = [s for s in (row.sweep() for row in self.sweeps) if s is not None]
            items = plan_items(photos, paintings, params, self._steps_for, self.controls.quality_combo.currentData(),
                               sweeps, pairs=bool(self.mode.currentData()))
        except ValueError as exc:
            self.message.setText(str(exc).replace("--sweep quality cannot be combined with --steps",
                                                  "a quality sweep needs the quality's own steps")
                                 .replace("--pairs", "Pairs").replace("--sweep", "sweep"))
            return 0
        self.runner.add(items, out_dir)
        self.message.setText(f"Added {len(items)} item{'s' * (len(items) != 1)} (results in {out_dir}).")
        return len(items)

    # ------------------------------------------------------------------ the queue
    def selected(self) -> QueueItem | None:
        row = self.items.currentItem()
        return self.runner.queue.get(row.data(Qt.ItemDataRole.UserRole)) if row is not None else None

    def select(self, item_id: int) -> None:
        for n in range(self.items.count()):
            if self.items.item(n).data(Qt.ItemDataRole.UserRole) == item_id:
                self.items.setCurrentRow(n)

    def move_selected(self, delta: int) -> None:
        item = self.selected()
        if item is not None and self.runner.move(item.id, delta):
            self.select(item.id)

    def remove_selected(self) -> None:
        item = self.selected()
        if item is not None:
            self.runner.remove(item.id)

    def retry_selected(self) -> None:
        item = self.selected()
        if item is not None:
            self.runner.retry(item.id)

    @Slot()
    def start_or_pause(self) -> None:
        if self.runner.is_active():
            self.runner.pause()
        else:
            self.runner.start()

    @Slot()
    def tie_action(self, action: QAction) -> None:
        """Make View > Queue's ``action`` a checkable toggle that follows the dock (closed by its
        own button too)."""
        self._action = action
        action.setCheckable(True)
        action.setChecked(self.dock.isVisible())
        self.dock.toggleViewAction().toggled.connect(action.setChecked)

    @Slot()
    def toggle_dock(self) -> None:
        """View > Queue: show the panel (and bring it to the front) when checked, else close it."""
        if self._action is None or self._action.isChecked():
            self.show_dock()
        else:
            self.dock.hide()

    def show_dock(self) -> None:
        """View > Queue: show the panel's dock and bring it to the front."""
        dock = self.dock
        show_dock_beside(self._host, self._main_splitter, dock)
        dock.raise_()
        self.photos.setFocus()

    def is_running(self) -> bool:
        """True while the queue paints an item."""
        return self.runner.is_running()

    def shutdown(self) -> None:
        """Closing the window: stop the item being painted (it restarts next time) and save."""
        self.runner.shutdown()

    @Slot()
    def refresh(self) -> None:
        """Rows, buttons, the bar and the status line from the queue."""
        q = self.runner.queue
        keep = self.selected()
        self.items.clear()
        for n, item in enumerate(q.items, start=1):
            row = QListWidgetItem(row_text(n, item, self.runner.progress if item.state == "running" else None))
            row.setData(Qt.ItemDataRole.UserRole, item.id)
            row.setToolTip(row_tooltip(item))
            self.items.addItem(row)
        if keep is not None:
            self.select(keep.id)
        counts = q.counts()
        finished = counts["done"] + counts["failed"]
        self.progress.setRange(0, max(1, len(q.items)))
        self.progress.setValue(finished)
        self.progress.setFormat("%v of %m finished" if q.items else "Nothing queued")  # not "0 of 1"
        self._update_status()
        self._update_buttons()

    def _update_status(self) -> None:
        r = self.runner
        self.status.setText(status_text(
            r.queue.counts(), len(r.queue.items), r.is_active(),
            r.is_active() and not r.is_running() and self.runs.is_running(),
            r.seconds_left, self.run_button.text(), self.waiting_seconds))

    def waiting_seconds(self) -> float | None:
        """The estimated seconds of the waiting items, on the window's device with the speed measured
        on this computer; None where it is not measured yet."""
        return waiting_seconds(self.runner.queue.items, self.controls.estimate_for, self._aspects)

    def _update_buttons(self) -> None:
        active = self.runner.is_active()
        waiting = self.runner.queue.counts()["waiting"]
        self.run_button.setText("Pause" if active else "Resume" if self.runner.paused and waiting else "Start")
        self.run_button.setEnabled(active or waiting > 0)
        self.run_button.setToolTip("Stop now; the item being painted restarts on Resume" if active
                                   else "Paint the waiting items in turn")
        item = self.selected()
        self.up_button.setEnabled(item is not None and self.items.currentRow() > 0)
        self.down_button.setEnabled(item is not None and self.items.currentRow() < self.items.count() - 1)
        self.remove_button.setEnabled(item is not None)
        self.retry_button.setEnabled(item is not None and item.state == "failed")
        self.clear_button.setEnabled(any(i.state in ("done", "failed") for i in self.runner.queue.items))

    @Slot(int, int, int)
    def _on_item_progress(self, item_id: int, step: int, total: int) -> None:
        q = self.runner.queue
        for n, item in enumerate(q.items):
            if item.id == item_id and n < self.items.count():
                self.items.item(n).setText(row_text(n + 1, item, (step, total)))
        self._update_status()

    @Slot(bool)
    def _on_running_changed(self, _running: bool) -> None:
        self.stateChanged.emit()
        self.refresh()

    @Slot(bool)
    def _on_window_running(self, running: bool) -> None:
        if not running:
            self.runner.poke()
        self._update_status()

    @Slot(str)
    def _on_problem(self, line: str) -> None:
        self.status_bar.showMessage(line, 20000)

    # ------------------------------------------------------------------ results
    def show_result_file(self, path: Path) -> bool:
        """Show the result saved at ``path`` in the window and its settings under the sheet (see
        :meth:`QueueResults.show_result_file`). False (the line says why) if it cannot be read."""
        return self.results.show_result_file(path)

    @Slot(QListWidgetItem)
    def _on_item_double_clicked(self, row: QListWidgetItem) -> None:
        item = self.runner.queue.get(row.data(Qt.ItemDataRole.UserRole))
        if item is not None and item.state == "done" and item.output is not None:
            self.show_result_file(item.output)


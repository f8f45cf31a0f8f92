"""The main window: it makes the parts, wires them, and owns the current result.

Layout (:mod:`nst_desktop.ui.window_layout`): the Content pane and the Style list on the
left, the Result large in the middle with the History below it, the controls on the right.
The parts: :class:`~nst_desktop.ui.run_controller.RunController` (``runs``: the worker
thread, Stylize button, progress), :class:`~nst_desktop.ui.inputs.InputsController`
(``inputs``), :class:`~nst_desktop.ui.export.Exporter` (``export``: save, Save All, copy,
drag out, recovery), :class:`~nst_desktop.ui.settings_restore.SettingsRestorer`
(``restorer``), :class:`~nst_desktop.ui.error_report.ErrorReporter` (``errors``) and the
menus (:mod:`nst_desktop.ui.menus`).

Everything that would block a test (message boxes, file dialogs, opening a folder) goes
through the :class:`~nst_desktop.ui.prompts.Prompts` object given to the constructor.
"""

from __future__ import annotations

import dataclasses

from PIL import Image
from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QImage, QShowEvent
from PySide6.QtWidgets import QMainWindow, QPushButton, QWidget

from nst_desktop.app_info import APP_NAME
from nst_desktop.engine import StyleResult
from nst_desktop.engine.device import DeviceInfo, available_devices, cpu_device, physical_cores
from nst_desktop.engine.image import scaled_size
from nst_desktop.engine.net import torchvision_available
from nst_desktop.services import paths
from nst_desktop.services.jobs import format_duration
from nst_desktop.services.settings import Settings, load_settings, save_settings
from nst_desktop.ui.continue_check import PaintedFrom
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.download_dialog import TORCHVISION_DOWNLOAD_BYTES, DownloadDialog, Fetch, torchvision_fetch
from nst_desktop.ui.engine_loader import EngineLoader
from nst_desktop.ui.error_report import ErrorReporter
from nst_desktop.ui.export import Exporter
from nst_desktop.ui.help_pages import HelpPages
from nst_desktop.ui.history_strip import HistoryStrip, unsaved_question
from nst_desktop.ui.image_pane import ImagePane
from nst_desktop.ui.inputs import InputsController
from nst_desktop.ui.mask_editor import RegionEditor
from nst_desktop.ui.menus import MenuSlots, build_actions, build_menus
from nst_desktop.ui.presets_menu import PresetsMenu
from nst_desktop.ui.prompts import Prompts
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.queue_panel import QueuePanel
from nst_desktop.ui.result_view import ResultView
from nst_desktop.ui.run_controller import RunController
from nst_desktop.ui.run_notice import RunNotice
from nst_desktop.ui.settings_restore import SettingsRestorer
from nst_desktop.ui.speed import SpeedKeeper
from nst_desktop.ui.style_list import StyleList, StyleRow
from nst_desktop.ui.video_window import VideoWindows
from nst_desktop.ui.window_help import WindowHelp
from nst_desktop.ui.window_history import WindowHistory
from nst_desktop.ui.window_layout import Columns, fit_to_screen, lay_out, restore_window_state, store_window_state
from nst_desktop.ui.window_state import NEED_BOTH, WindowState
from nst_desktop.ui.worker import RunOutcome, StyleRequest

#: How long after the window's first paint the engine starts loading (see showEvent).
ENGINE_LOAD_DELAY_MS = 150
#: Weight of a new measurement in the stored seconds-per-pixel-step rate (moving average).


class MainWindow(WindowState, WindowHistory, WindowHelp, QMainWindow):
    """The application window. ``devices`` defaults to what the engine finds."""

    def __init__(self, devices: list[DeviceInfo] | None = None, parent: QWidget | None = None,
                 prompts: Prompts | None = None, speed_test: bool = False, engine_later: bool = False) -> None:
        """``speed_test``: soon after opening, time a few steps on the chosen device where no
        finished run has measured its speed yet (see :mod:`ui.speed`); the app turns it
        on, scripts and most tests leave it off (it takes the CPU for a second or two).
        ``engine_later``: the window is built without torch and the engine is loaded in a
        thread once it is shown (:mod:`ui.engine_loader`); until then it lists the CPU only and
        the estimate waits. The app turns it on (the window appears a few seconds sooner)."""
        super().__init__(parent)
        #: Every question and dialog goes through this (tests pass a recording stand-in).
        self.prompts = prompts if prompts is not None else Prompts(self)
        self.errors = ErrorReporter(self.prompts, self)
        loaded = load_settings()
        self.settings: Settings = loaded.settings
        self.settings_problem = loaded.problem
        if devices is None:
            devices = [cpu_device()] if engine_later else available_devices()
        self.devices = devices
        self.engine = EngineLoader(self)
        self.engine.loaded.connect(self._on_engine_loaded)
        self.engine.failed.connect(self._on_engine_failed)
        self._speed_test = speed_test
        #: A preview image is sent every this many steps.
        self.preview_every = 5
        #: Steps of a run instead of the quality preset's (None: use the preset). For the
        #: screenshot script and tests, which need short real runs.
        self.steps_override: int | None = None
        self.torchvision_fetch: Fetch = torchvision_fetch(paths.cache_dir())
        self._result: StyleResult | None = None
        self._result_qimage: QImage | None = None
        self._result_saved = True
        self._weights_in_use = ""
        self._download_dialog: DownloadDialog | None = None
        self._launch_files: tuple[str | None, str | None] | None = None  # handed over mid-run
        self._fitted = False
        #: The photo each result was painted from: Continue is off for a result of another photo.
        self.painted_from = PaintedFrom()

        self.setWindowTitle(APP_NAME)
        self.content_pane = ImagePane("Content", "Drop a photo here,\nclick to open one, or paste")
        self.style_list = StyleList()
        self.result_view = ResultView()
        self.history = HistoryStrip()
        self.export = Exporter(shown=self, history=self.history, content_pane=self.content_pane,
                               style_list=self.style_list, settings=self.settings, prompts=self.prompts,
                               show_status=self.show_status, parent=self)
        self.history.entryChosen.connect(self.show_history_entry)
        self.history.saveRequested.connect(self.save_history_entry)
        self.history.copyRequested.connect(self.export.copy_history_entry)
        self.history.removeRequested.connect(self.remove_history_entry)
        self.history.entriesChanged.connect(self.update_history_visibility)
        self.controls = ControlsPanel(self.devices, physical_cores(), engine_ready=not engine_later)

        self.runs = RunController(self)
        self.runs.running_changed.connect(self._on_running_changed)
        self.runs.preview_ready.connect(self._on_preview)
        self.runs.result_ready.connect(self._on_result_ready)
        self.runs.stopped_empty.connect(self._on_stopped_empty)
        self.runs.run_failed.connect(self._on_run_failed)
        self.runs.stylize_requested.connect(self.stylize)
        # progress in the title and taskbar, a notification at the end
        self.notice = RunNotice(runs=self.runs, update_title=self._update_title, active=self.isActiveWindow,
                                parent=self)
        self.stylize_button = self.runs.stylize_button
        self.progress_bar = self.runs.progress_bar
        self.progress_label = self.runs.progress_label
        self.save_button = QPushButton("Save…")
        self.save_button.clicked.connect(self.export.save_result)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("Paint more steps starting from the current result (at the current size)")
        self.continue_button.clicked.connect(self.continue_run)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.export.copy_result)
        self.region_editor = RegionEditor(self)
        self.inputs = InputsController(
            content_pane=self.content_pane, style_list=self.style_list, region_editor=self.region_editor,
            controls=self.controls, settings=self.settings, prompts=self.prompts, show_status=self.show_status,
            parent=self)
        self.inputs.changed.connect(self._update_state)
        self.restorer = SettingsRestorer(
            inputs=self.inputs, content_pane=self.content_pane, style_list=self.style_list,
            region_editor=self.region_editor, controls=self.controls, history=self.history,
            show_entry=self.show_history_entry, prompts=self.prompts, show_status=self.show_status,
            is_running=self.is_running, parent=self)
        self.restorer.restored.connect(self._update_state)
        self.history.useSettingsRequested.connect(self.restorer.use_history_settings)
        self.videos = VideoWindows(self._video_inputs, self.prompts.open_url,
                                   lambda text: self.statusBar().showMessage(text, 15000), paths.cache_dir(), self)
        self.content_pane.takes_video = True
        self.content_pane.videoDropped.connect(self.videos.open)
        self.regions_button, self.regions_label = self.inputs.regions_button, self.inputs.regions_label

        self.placed = lay_out(self, Columns(
            content_pane=self.content_pane, style_list=self.style_list, result_view=self.result_view,
            history=self.history, controls=self.controls, regions_button=self.regions_button,
            regions_label=self.regions_label, stylize_button=self.stylize_button,
            continue_button=self.continue_button, progress_bar=self.progress_bar, progress_label=self.progress_label,
            save_button=self.save_button, copy_button=self.copy_button))
        self.main_splitter, self.inputs_splitter = self.placed.main_splitter, self.placed.inputs_splitter
        self.status_device = self.placed.status_device
        self.queue_panel = QueuePanel(
            runs=self.runs, controls=self.controls, steps_override=lambda: self.steps_override,
            settings=self.settings, prompts=self.prompts, status_bar=self.statusBar(), history=self.history,
            shown=self, host=self, main_splitter=self.main_splitter)
        self.queue_dock = self.queue_panel.dock
        self.queue_panel.stateChanged.connect(self._update_state)
        self.notice.watch_queue(self.queue_panel.runner)

        self.presets = PresetsMenu(controls=self.controls, style_list=self.style_list, prompts=self.prompts,
                                   show_status=self.show_status, is_running=self.is_running, parent=self)
        self.help_pages = HelpPages(self, self.menuBar(), {"Paint Regions": self.region_editor.actions()})
        self.menu_actions = build_actions(self, MenuSlots(
            window=self, inputs=self.inputs, export=self.export, restorer=self.restorer, controls=self.controls,
            result_view=self.result_view, queue_panel=self.queue_panel, help_pages=self.help_pages))
        for field in dataclasses.fields(self.menu_actions):  # window.save_action ...: read by window_state, tests
            setattr(self, field.name, getattr(self.menu_actions, field.name))
        self.recent = build_menus(self, self.menu_actions, self.presets, self.settings, self.content_pane.load_path,
                                  self.inputs.open_style_path)
        self.recent_content_menu, self.recent_style_menu = self.recent.content_menu, self.recent.style_menu
        self.update_history_visibility()

        self.result_view.dragOutRequested.connect(self.export.start_drag_out)
        self.controls.changed.connect(self._update_state)
        self.controls.weightsChosen.connect(self._on_weights_chosen)

        restore_window_state(self, self.placed, self.settings)
        self.keep_paths_action.setChecked(self.settings.keep_input_paths)
        self.inputs.update_regions_label()
        self._update_state()
        self.speeds = SpeedKeeper(runs=self.runs, controls=self.controls, settings=self.settings,
                                  test_on_open=speed_test and self.engine_ready, parent=self)
        if self.settings_problem:
            self.statusBar().showMessage(self.settings_problem, 15000)
        elif self.export.recovery.path.is_file():
            self.statusBar().showMessage(
                "An unsaved result from last time can be recovered: File > Recover Last Result.", 15000
            )

    def show_status(self, text: str, timeout_ms: int) -> None:
        """A line in the status bar for ``timeout_ms`` milliseconds (the window's parts are given this)."""
        self.statusBar().showMessage(text, timeout_ms)

    # ------------------------------------------------------------------ settings
    def store_settings(self) -> None:
        """Copy the window's state into :attr:`settings` (not yet written)."""
        store_window_state(self, self.placed, self.settings)

    def write_settings(self) -> None:
        """Store and write the settings file; a failure is reported in the status bar only."""
        self.store_settings()
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.statusBar().showMessage(f"Settings could not be saved: {exc}", 10000)

    # ------------------------------------------------------------------ inputs
    @property
    def style_pane(self) -> StyleRow:
        """The first painting of the Style list (its row: load_path, paste, loaded ...)."""
        return self.style_list.rows[0]

    def load_inputs(self, content: str | None, style: str | None) -> None:
        """Load images given on the command line (see :meth:`InputsController.load_inputs`)."""
        self.inputs.load_inputs(content, style)

    @Slot(object, object)
    def open_from_launch(self, content: str | None, style: str | None) -> None:
        """Images a later ``nst-desktop`` launch handed over (:mod:`ui.single_instance`): the window comes
        to the front and loads them, now or when the painting in progress ends; the settings are written
        so that File > Open Recent has them even if the app is killed."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()
        if self.is_running():
            self._launch_files = (content, style)
            self.statusBar().showMessage("Painting: the images from the new launch open when it ends.", 15000)
            return
        self.load_inputs(content, style)
        self.write_settings()

    # ------------------------------------------------------------------ weights download
    @Slot(str)
    def _on_weights_chosen(self, source: str) -> None:
        if source == "torchvision" and not torchvision_available(paths.cache_dir()):
            self.download_torchvision()

    def download_torchvision(self) -> bool:
        """Download torchvision's VGG19 with a progress dialog; on failure or cancel go back to bundled."""
        dialog = DownloadDialog(
            self.torchvision_fetch,
            "Download VGG19 Weights",
            f"Downloading torchvision's VGG19 weights ({TORCHVISION_DOWNLOAD_BYTES // 1_000_000} MB) "
            f"into {paths.cache_dir()}. They are kept for later runs.",
            self,
        )
        self._download_dialog = dialog
        try:
            dialog.exec()
            outcome = dialog.outcome
        finally:
            self._download_dialog = None
        ok = outcome == "succeeded"
        self.controls.set_weights_ready("torchvision", ok or torchvision_available(paths.cache_dir()))
        if not ok:
            self.controls.select_weights("bundled")
            reason = dialog.error or "Download cancelled."
            self.statusBar().showMessage(f"{reason} Using the bundled weights.", 15000)
        self._update_state()
        return ok

    # ------------------------------------------------------------------ running
    @Slot()
    def stylize(self) -> None:
        """Edit > Stylize, Ctrl+Return: a new run. A slot without arguments, because
        ``QAction.triggered(bool)`` would pass ``checked`` into any optional parameter
        (``start_run(continue_from=False)`` failed every run)."""
        self.start_run()

    @Slot()
    def continue_run(self) -> bool:
        """Go on from the current result at the current size setting, without coarse-to-fine.

        At the result's own size, optimisation goes on with the run's L-BFGS state (its
        unrounded image and curvature history) when the run kept one (the latest run, up
        to ``engine.resume.KEEP_STATE_MAX_BYTES``); at another size, or for an older result from
        the history, a fresh L-BFGS starts from the result's image (upsampled if larger).
        """
        if self._result is None:
            return False
        if (why_not := self.why_not_continue()) is not None:
            self.statusBar().showMessage(f"{why_not}.", 10000)
            return False
        return self.start_run(continue_from=self._result.image, resume=self.runs.resume_for(self._result))

    def start_run(self, continue_from: Image.Image | None = None, resume: object | None = None) -> bool:
        """Start painting with the current inputs and settings; False if it could not start.

        ``continue_from``: start from this image (Continue) instead of the chosen start;
        ``resume``: with it, the optimiser state of the run that made it. Not a slot: connect
        signals to :meth:`stylize` or :meth:`continue_run`, which take no arguments.
        """
        if continue_from is not None and not isinstance(continue_from, Image.Image):
            raise TypeError(f"continue_from must be a PIL image or None, not {type(continue_from).__name__}")
        content = self.content_pane.loaded
        if self.is_running():
            return False
        why_not = self.why_not_ready()
        if content is None or why_not is not None:
            self.statusBar().showMessage(f"{why_not or NEED_BOTH}.", 5000)
            return False
        if self.controls.weights_combo.currentData() == "torchvision" and not torchvision_available(
            paths.cache_dir()
        ):
            if not self.download_torchvision():
                return False
        params = self.controls.params(preview_every=self.preview_every)
        if self.steps_override is not None:
            params = dataclasses.replace(params, steps=self.steps_override)
        if continue_from is not None:
            params = dataclasses.replace(params, coarse_to_fine=False)
        styles, weights = self.inputs.style_inputs()
        rows = [r.index for r in self.style_list.included()]
        # With regions each style paints its own region; the weights scale the regions' shares.
        masks, keep_mask = self.region_editor.canvas.engine_masks(len(styles), rows=rows)
        self.speeds.run_starting()
        continued = None
        if continue_from is not None:  # a result exists, so the engine (and torch) is loaded
            from nst_desktop.engine import Resume

            continued = Resume(continue_from, resume)  # type: ignore[arg-type]
        request = StyleRequest(content.image, styles[0] if len(styles) == 1 else styles, params, paths.cache_dir(),
                               self.export.recovery.path, style_weights=weights, continued=continued,
                               inputs=self.inputs.input_paths(), masks=masks, keep_mask=keep_mask, keep_state=True)
        self.result_view.set_before(pil_to_qimage(content.image))
        run_size = scaled_size((content.image.height, content.image.width), params.size)
        est = self.controls.estimate() if continue_from is None and self.steps_override is None else None
        return self.runs.start(request, self.controls.device_id(), run_size,
                               est.seconds if est is not None and est.measured else None)

    @Slot()
    def cancel_run(self) -> None:
        """Stop painting, keeping the best so far (Esc)."""
        self.runs.cancel()

    def stop_run(self) -> None:
        """Cancel a run and wait for its thread to end (used when closing)."""
        self.runs.stop()

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self._update_state()
        if not running and self._launch_files is not None:
            files, self._launch_files = self._launch_files, None
            self.open_from_launch(*files)

    @Slot(QImage, object)
    def _on_preview(self, image: QImage, size: QSize | None) -> None:
        self.result_view.show_image(image, size)
        self.result_view.set_caption(f"Preview · {image.width()} × {image.height()} px")

    def show_result(self, outcome: RunOutcome, stopped: bool = False) -> None:
        """Make ``outcome`` the current, not yet saved result (``stopped``: a cancelled run's best)."""
        res = outcome.result
        if self._result is not None and self._result is not res:
            self._result.pixels16 = None  # only the newest result keeps its 16-bit pixels (memory)
        self._result = res
        self._result_qimage = outcome.qimage
        self._result_saved = False
        self.export.result_changed()
        self._weights_in_use = outcome.weights_name
        self.result_view.show_image(outcome.qimage)
        w, h = res.image.size
        what = f"Stopped after {res.steps_done} steps" if stopped else f"{res.steps_done} steps"
        self.result_view.set_caption(f"Result · {w} × {h} px · {what} in {format_duration(res.elapsed_s)} · not saved")
        self._update_state()

    @Slot(object, bool)
    def _on_result_ready(self, outcome: RunOutcome, stopped: bool) -> None:
        if self.last_request is not None:
            self.painted_from.note(outcome.result, self.last_request.content)
        self.show_result(outcome, stopped=stopped)
        if stopped:
            self.statusBar().showMessage("Painting stopped.", 5000)
        else:
            self.statusBar().showMessage("Finished. Save the result with Ctrl+S or drag it out.", 10000)
            if self.runs.run_size is not None:
                self.speeds.run_finished(outcome.result, self.runs.run_device, self.runs.run_size)
            self.write_settings()
        self.export.check_recovery(outcome)
        self._add_to_history(outcome, stopped=stopped)

    @Slot()
    def _on_stopped_empty(self) -> None:
        self._show_current_result()
        self.statusBar().showMessage("Painting stopped.", 5000)

    @Slot(str, object, str)
    def _on_run_failed(self, message: str, fits: int | None, details: str) -> None:
        self._show_current_result()
        if details:  # a bug: a sentence for people, the Python text behind Details
            self.statusBar().showMessage("Painting failed because of an unexpected error; the details are in "
                                         "the error log (Help > Open Log Folder).", 20000)
            self.errors.report("painting", message.removeprefix("Unexpected error: "), details)
            return
        self.statusBar().showMessage(message, 20000)
        if fits is not None and fits < self.controls.size_spin.value():
            if self.prompts.ask("Out of memory", f"{message}\n\nSet the output size to {fits} px?"):
                self.controls.size_spin.setValue(max(self.controls.size_spin.minimum(), fits))
        else:
            self.prompts.inform("Painting failed", message)

    def _show_current_result(self) -> None:
        if self._result_qimage is not None:
            self.result_view.show_image(self._result_qimage)
        else:
            self.result_view.clear()

    # ------------------------------------------------------------------ the engine, after the window
    @property
    def engine_ready(self) -> bool:
        """True once the engine is loaded (at once, unless the window was made with ``engine_later``)."""
        return self.controls.engine_ready

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._fitted:  # on its screen now: fit it (once; later the user places it)
            self._fitted = True
            fit_to_screen(self)
        if not self.engine_ready:
            QTimer.singleShot(0, self._paint_then_load)

    @Slot()
    def _paint_then_load(self) -> None:
        # The import holds Python's lock most of the time: paint the window first, and give the
        # window system a moment to show it, before the import starts.
        self.repaint()
        QTimer.singleShot(ENGINE_LOAD_DELAY_MS, self.engine.start)

    @Slot(list)
    def _on_engine_loaded(self, devices: list[DeviceInfo]) -> None:
        self.devices = devices
        self.controls.engine_loaded(devices)  # its changed signal updates the window's state
        if self._speed_test:
            self.speeds.start_timer()

    @Slot(str)
    def _on_engine_failed(self, details: str) -> None:
        summary = details.strip().splitlines()[-1] if details.strip() else "the engine could not be loaded"
        self.errors.report("loading the painting engine", summary, details)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Mid-run: ask to stop. Unsaved results: Save All… / Discard / Cancel (the Qt examples'
        maybe-save); a failed or cancelled Save All keeps the window open, so nothing is lost."""
        if self.is_running() and not self.prompts.ask("Stop painting?", "A painting is in progress. Stop it and quit?"):
            event.ignore()
            return
        if unsaved := self.unsaved_results():  # asked before stopping: Cancel lets the run go on
            choice = self.prompts.ask_save_discard_cancel(
                "Save results before quitting?", unsaved_question(unsaved, self.has_unsaved_result()))
            if choice == "cancel" or (choice == "save" and not self.export.save_all()):
                event.ignore()
                return
            if choice == "discard":
                self.export.recovery.discard()
        self.stop_run()
        self.engine.close()  # a start-up import still going, or about to start (closed within its first seconds)
        self.queue_panel.shutdown()  # the item being painted restarts next time
        self.videos.close_all()
        self.speeds.stop()
        self.write_settings()
        self.export.closing()
        event.accept()

"""The window's Help menu and the video window it opens: About, the log folder, Open Video. A part of
:class:`~nst_desktop.ui.main_window.MainWindow` (a mixin: it reads the parts the window made)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Slot

from nst_desktop.app_info import APP_NAME
from nst_desktop.engine import StyleParams
from nst_desktop.services import paths
from nst_desktop.ui.about import about_html
from nst_desktop.ui.video_open import VIDEO_EXTRA_TITLE, video_extra_help, video_extra_missing


class WindowHelp:
    """About, the log folder, and clips in video windows."""

    @Slot()
    def show_about(self) -> None:
        self.prompts.about(f"About {APP_NAME}", self.about_text())

    def _video_inputs(self) -> tuple[list[Image.Image], list[float] | None, StyleParams]:
        """The paintings, their weights and the settings a video window paints with."""
        styles, weights = self.inputs.style_inputs()
        params = self.controls.params(preview_every=self.preview_every)
        if self.steps_override is not None:
            params = dataclasses.replace(params, steps=self.steps_override)
        return styles, weights, params

    @Slot()
    def open_video(self) -> None:
        """File > Open Video…: a clip in a video window (a clip dropped on the Content pane opens one too)."""
        if video_extra_missing():  # said before the dialog, with how to add it
            self.prompts.inform(VIDEO_EXTRA_TITLE, video_extra_help())
            return
        path = self.prompts.open_video_path("Open a video to paint")
        if path:
            self.videos.open(Path(path))

    @Slot()
    def open_log_folder(self) -> None:
        """Help > Open Log Folder: the error log's folder in the file manager."""
        if not self.errors.open_log_folder():
            self.statusBar().showMessage(f"Could not open the log folder {paths.log_dir()}.", 10000)

    @Slot()
    def show_about_qt(self) -> None:
        self.prompts.about_qt()

    def about_text(self) -> str:
        weights = self.controls.weights_combo.currentText()
        if self._weights_in_use:
            weights += f" (last run: {self._weights_in_use})"
        return about_html(self._device_text(), weights)

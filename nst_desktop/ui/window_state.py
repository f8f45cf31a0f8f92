"""The window's state, derived from its parts: whether it paints, the current result, which actions and buttons
are enabled and why not, the title and the device line. A part of :class:`~nst_desktop.ui.main_window.MainWindow`
(a mixin: it reads the parts the window made)."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QImage

from nst_desktop.app_info import APP_NAME
from nst_desktop.engine import StyleResult
from nst_desktop.services.jobs import network_format
from nst_desktop.ui.controls import SEED_UNUSED
from nst_desktop.ui.queue_panel import QUEUE_BUSY
from nst_desktop.ui.result_view import next_step_hint
from nst_desktop.ui.style_list import ALL_ZERO
from nst_desktop.ui.worker import StyleRequest

NEED_BOTH = "Load a content photo and a style image first"
NO_RESULT = "Nothing to save yet: paint a result first"


class WindowState:
    """Is it running, what is shown, what may be done now (``_update_state``)."""

    def is_running(self) -> bool:
        return self.runs.is_running()

    @property
    def last_request(self) -> StyleRequest | None:
        """The request of the latest run (for tests and the screenshot script)."""
        return self.runs.last_request

    def has_unsaved_result(self) -> bool:
        return self._result is not None and not self._result_saved

    @property
    def result(self) -> StyleResult | None:
        """The current full-resolution result (None before the first run)."""
        return self._result

    @property
    def result_qimage(self) -> QImage | None:
        """The current result as a full-resolution QImage (made in the worker)."""
        return self._result_qimage

    @Slot()
    def _update_state(self) -> None:
        running = self.is_running()
        why_not = self.why_not_ready()
        both = why_not is None
        self.runs.update_button(why_not)
        self.stylize_action.setEnabled(both and not running)
        self.cancel_action.setEnabled(running)
        has_result = self._result is not None
        for w in (self.save_button, self.copy_button):
            w.setEnabled(has_result)
        self.save_button.setToolTip("Save the full-resolution result (Ctrl+S)" if has_result else NO_RESULT)
        self.copy_button.setToolTip("Copy the full-resolution result to the clipboard" if has_result else NO_RESULT)
        self.save_action.setEnabled(has_result)
        self.copy_action.setEnabled(has_result)
        self.save_all_action.setEnabled(not running and self.unsaved_results() > 0)
        self.recover_action.setEnabled(not running and self.export.recovery.path.is_file())
        self.open_settings_action.setEnabled(not running)
        self.new_seed_action.setEnabled(not running and self.controls.seed_used())
        seed_tip = "Pick a new random seed" if self.controls.seed_used() else SEED_UNUSED
        self.new_seed_action.setStatusTip(seed_tip)
        self.new_seed_action.setToolTip(seed_tip)
        why_not_continue = self.why_not_continue()
        self.continue_button.setEnabled(both and why_not_continue is None and not running)
        self.continue_button.setToolTip(
            why_not_continue or "Paint more steps starting from the current result (at the current size)")
        self.content_pane.setEnabled(not running)
        self.content_pane.setToolTip("Inputs cannot change while painting" if running else "")
        self.style_list.set_running(running)
        self.paste_action.setEnabled(not running)
        self.paste_style_action.setEnabled(not running)
        self.open_content_action.setEnabled(not running)
        self.open_style_action.setEnabled(not running)
        self.result_view.set_drag_enabled(has_result and not running)
        self.result_view.set_live(running)  # the live preview shows whole while painting
        self.controls.set_running(running)
        self.history.set_running(running)
        self.result_view.set_placeholder(self.next_step_hint())
        self._update_title()
        self._update_device_label()

    def why_not_ready(self) -> str | None:
        """Why a run cannot start with the current inputs (None: it can)."""
        if self.queue_panel.is_running():
            return QUEUE_BUSY
        if self.content_pane.loaded is None or not self.style_list.has_painting():
            return NEED_BOTH
        if self.style_list.all_weights_zero():
            return ALL_ZERO
        return None

    def why_not_continue(self) -> str | None:
        """Why Continue cannot go on from the shown result with the photo loaded (None: it can)."""
        if self._result is None:
            return "Paint a result first; Continue then refines it further"
        self.painted_from.keep_only([self._result, *(e.result for e in self.history.entries())])
        if self.content_pane.loaded is None:
            return None
        return self.painted_from.continue_problem(self._result, self.content_pane.loaded.image)

    def next_step_hint(self) -> str:
        """What the result pane says while it has no image: the next thing to do."""
        return next_step_hint(self.is_running(), self.content_pane.loaded is not None,
                              self.style_list.has_painting(), self.style_list.all_weights_zero(), f"{ALL_ZERO}.")

    def _update_title(self) -> None:
        names = [self.content_pane.loaded.name] if self.content_pane.loaded is not None else []
        styles = [n for n in self.style_list.names() if n is not None]
        names += styles if len(styles) <= 3 else [*styles[:2], f"{len(styles) - 2} more"]
        title = " + ".join(names) + "[*] — " + APP_NAME if names else APP_NAME + "[*]"
        self.setWindowTitle(self.notice.title_prefix() + title)
        self.setWindowModified(self.unsaved_results() > 0)

    def _device_text(self) -> str:
        chosen = self.controls.device_id()
        info = next((d for d in self.devices if d.id == chosen), None)
        return info.label if info else chosen

    def _update_device_label(self) -> None:
        """"CPU (2 cores) · bfloat16 (the CPU has AMX) · Bundled …": where the next run paints and how."""
        network = network_format(self.controls.device_id()) if self.engine_ready else "loading the engine…"
        self.status_device.setText(
            f"{self._device_text()} · {network} · {self.controls.weights_combo.currentText()}")

"""The window's menu bar: its actions (with their shortcuts) and the recent-files menus.

Every action is connected to a slot that takes no arguments: ``QAction.triggered(bool)``
passes ``checked`` into any optional parameter of the slot (Edit > Stylize once started
every run with ``continue_from=False``). ``tests/ui/test_actions.py`` triggers each one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from nst_desktop.app_info import APP_NAME

if TYPE_CHECKING:
    from nst_desktop.ui.main_window import MainWindow

Shortcut = QKeySequence | QKeySequence.StandardKey | str | None

#: Keys of standard shortcuts that some platforms leave unbound: Qt's generic X11 theme
#: (no desktop environment's platform theme) binds no key to Quit.
FALLBACK_KEYS: dict[QKeySequence.StandardKey, str] = {QKeySequence.StandardKey.Quit: "Ctrl+Q"}


def _keys(shortcut: Shortcut) -> list[QKeySequence]:
    """The key sequences of ``shortcut``: a standard key's platform bindings (or its fallback)."""
    if isinstance(shortcut, QKeySequence.StandardKey):
        keys = QKeySequence.keyBindings(shortcut)
        if not keys and shortcut in FALLBACK_KEYS:
            keys = [QKeySequence(FALLBACK_KEYS[shortcut])]
        return keys
    return [] if shortcut is None else [QKeySequence(shortcut)]


def _action(w: MainWindow, text: str, slot: Callable[[], object] | None, shortcut: Shortcut = None,
            tip: str = "", act: QAction | None = None) -> QAction:
    """An action of ``w`` (its shortcut works in the whole window) calling ``slot()``; ``act``: an
    action a part of the window made (and connected) itself, to name and put in the window."""
    act = act if act is not None else QAction(w)
    act.setText(text)
    keys = _keys(shortcut)
    if keys:
        act.setShortcuts(keys)
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(tip)
    if slot is not None:
        act.triggered.connect(slot)
    w.addAction(act)
    return act


def build_actions(w: MainWindow) -> None:
    """Make the window's actions (``w.save_action`` ...)."""
    SK = QKeySequence.StandardKey
    w.open_content_action = _action(w, "Open &Content Image…", w.inputs.open_content, SK.Open,
                                    "Choose the photo to paint")
    w.open_style_action = _action(w, "Open &Style Image…", w.inputs.open_style, "Ctrl+Shift+O",
                                  "Choose the painting whose style is used")
    w.open_video_action = _action(w, "Open &Video…", w.open_video, None,
                                  "Paint a clip without flicker (a clip dropped on the Content pane opens too)")
    w.save_action = _action(w, "&Save Result…", w.export.save_result, SK.Save,
                            "Save the full-resolution result (PNG, JPEG, WebP or TIFF)")
    w.open_settings_action = _action(w, "Open Settings from &Image…", w.restorer.open_settings_from_image, None,
                                     "Restore the settings (and inputs, where found) that made a saved result")
    w.save_all_action = _action(w, "Save A&ll Results…", w.export.save_all, "Ctrl+Shift+S",
                                "Save every unsaved result (the History's too) into a folder")
    w.keep_paths_action = _action(w, "Keep Full Input &Paths in Results", w.toggle_keep_input_paths, None,
                                  "Saved results name their photo and paintings by full path (shows folder and "
                                  "user names to whoever gets the file); off: by file name only")
    w.keep_paths_action.setCheckable(True)
    w.recover_action = _action(w, "&Recover Last Result", w.export.recover_last_result, None,
                               "Open the last finished result that was not saved")
    w.quit_action = _action(w, "&Quit", w.close, SK.Quit)
    w.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    w.paste_action = _action(w, "&Paste Image", w.inputs.paste, SK.Paste,
                             "Paste into the selected pane (Content if none is selected)")
    w.paste_style_action = _action(w, "Paste as St&yle", w.inputs.paste_style, "Ctrl+Shift+V",
                                   "Paste the clipboard image as the style image")
    w.copy_action = _action(w, "&Copy Result", w.export.copy_result, SK.Copy,
                            "Copy the full-resolution result to the clipboard")
    w.stylize_action = _action(w, "S&tylize", w.stylize, "Ctrl+Return", "Paint the content in the style")
    w.cancel_action = _action(w, "Stop &Painting", w.cancel_run, "Esc", "Stop the run, keeping the best so far")
    w.new_seed_action = _action(w, "&New Seed", w.controls.new_seed, None, "Pick a new random seed")
    w.fit_action = _action(w, "Zoom to &Fit", w.result_view.zoom_fit, "Ctrl+0")
    w.actual_action = _action(w, "&Actual Size (100%)", w.result_view.zoom_actual, "Ctrl+1")
    w.zoom_in_action = _action(w, "Zoom &In", w.result_view.zoom_in, SK.ZoomIn)
    w.zoom_out_action = _action(w, "Zoom &Out", w.result_view.zoom_out, SK.ZoomOut)
    w.compare_action = _action(w, "&Compare with Photo", None, "\\",
                               "Show the photo left of a line you drag on the image, the result right of it",
                               act=w.result_view.compare_action)
    w.history_action = _action(w, "&History Strip", w.update_history_visibility, None,
                               "Show the results painted since the app started below the result")
    w.history_action.setCheckable(True)
    w.history_action.setChecked(True)
    w.queue_action = _action(w, "&Queue", w.queue_panel.toggle_dock, "Ctrl+Shift+B",
                             "Paint many photos x many paintings (and sweeps of settings) one after another")
    w.queue_panel.tie_action(w.queue_action)  # checkable: checked while the Queue panel is open
    w.how_to_action = _action(w, "&How To", w.help_pages.show_how_to, "F1",
                              "A short guide: first painting, blends, regions, print sizes, queue, presets")
    w.shortcuts_action = _action(w, "&Keyboard Shortcuts", w.help_pages.show_shortcuts, "Ctrl+/",
                                 "Every key of the menus and windows, read from the actions themselves")
    w.log_folder_action = _action(w, "Open &Log Folder", w.open_log_folder, None,
                                  "Show the folder of the error log (for a bug report)")
    w.about_action = _action(w, f"&About {APP_NAME}", w.show_about)
    w.about_action.setMenuRole(QAction.MenuRole.AboutRole)
    w.about_qt_action = _action(w, "About &Qt", w.show_about_qt)
    w.about_qt_action.setMenuRole(QAction.MenuRole.AboutQtRole)


def build_menus(w: MainWindow) -> RecentMenus:
    """Fill the menu bar with the actions of :func:`build_actions`; returns the recent menus."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(w.open_content_action)
    file_menu.addAction(w.open_style_action)
    file_menu.addAction(w.open_video_action)
    recent = RecentMenus(w, file_menu.addMenu("Recent Content Images"), file_menu.addMenu("Recent Style Images"))
    file_menu.addSeparator()
    for act in (w.save_action, w.save_all_action, w.recover_action, w.open_settings_action):
        file_menu.addAction(act)
    file_menu.addSeparator()
    file_menu.addAction(w.keep_paths_action)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    edit_menu = bar.addMenu("&Edit")
    for act in (w.paste_action, w.paste_style_action, w.copy_action):
        edit_menu.addAction(act)
    edit_menu.addSeparator()
    for act in (w.stylize_action, w.cancel_action, w.new_seed_action):
        edit_menu.addAction(act)
    view_menu = bar.addMenu("&View")
    for act in (w.fit_action, w.actual_action, w.zoom_in_action, w.zoom_out_action):
        view_menu.addAction(act)
    view_menu.addSeparator()
    view_menu.addAction(w.compare_action)
    view_menu.addAction(w.history_action)
    view_menu.addAction(w.queue_action)
    w.presets.build(bar.addMenu("&Presets"))
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(w.how_to_action)
    help_menu.addAction(w.shortcuts_action)
    help_menu.addSeparator()
    help_menu.addAction(w.log_folder_action)
    help_menu.addSeparator()
    help_menu.addAction(w.about_action)
    help_menu.addAction(w.about_qt_action)
    return recent


class RecentMenus(QObject):
    """File > Recent Content Images / Recent Style Images, filled from the settings when shown."""

    def __init__(self, window: MainWindow, content_menu: QMenu, style_menu: QMenu) -> None:
        super().__init__(window)
        self.window = window
        self.content_menu = content_menu
        self.style_menu = style_menu
        content_menu.aboutToShow.connect(self.fill_content)
        style_menu.aboutToShow.connect(self.fill_style)

    def fill(self, menu: QMenu, items: list[str]) -> None:
        """One entry per file of ``items`` that still exists ("(none)" if none does)."""
        menu.clear()
        existing = [p for p in items if Path(p).is_file()]
        if not existing:
            act = menu.addAction("(none)")
            act.setEnabled(False)
            return
        for path in existing:
            act = menu.addAction(Path(path).name)
            act.setToolTip(f"<p style='white-space:pre'>{html.escape(path)}</p>")  # literal, never markup
            act.setData(path)
            act.triggered.connect(self._on_triggered)

    @Slot()
    def fill_content(self) -> None:
        self.fill(self.content_menu, self.window.settings.recent_content)

    @Slot()
    def fill_style(self) -> None:
        self.fill(self.style_menu, self.window.settings.recent_style)

    @Slot()
    def _on_triggered(self) -> None:
        act = self.sender()
        if isinstance(act, QAction):
            if act.parent() is self.style_menu:
                self.window.inputs.open_style_path(act.data())
            else:
                self.window.content_pane.load_path(act.data())

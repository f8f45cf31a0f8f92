"""The window's menu bar: its actions (with their shortcuts) and the recent-files menus.

The actions are made from a table (:data:`ACTIONS`): each names its slot as ``"owner.method"``
of :class:`MenuSlots`, the parts of the window that answer the menus, and :func:`build_actions`
returns them as :class:`MenuActions`. Every action is connected to a slot that takes no
arguments: ``QAction.triggered(bool)`` passes ``checked`` into any optional parameter of the
slot (Edit > Stylize once started every run with ``continue_from=False``).
``tests/ui/test_actions.py`` triggers each one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

from nst_desktop.app_info import APP_NAME
from nst_desktop.services.settings import Settings
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.export import Exporter
from nst_desktop.ui.help_pages import HelpPages
from nst_desktop.ui.inputs import InputsController
from nst_desktop.ui.presets_menu import PresetsMenu
from nst_desktop.ui.queue_panel import QueuePanel
from nst_desktop.ui.result_view import ResultView
from nst_desktop.ui.settings_restore import SettingsRestorer

Shortcut = QKeySequence | QKeySequence.StandardKey | str | None
SK = QKeySequence.StandardKey

#: Keys of standard shortcuts that some platforms leave unbound: Qt's generic X11 theme
#: (no desktop environment's platform theme) binds no key to Quit.
FALLBACK_KEYS: dict[QKeySequence.StandardKey, str] = {SK.Quit: "Ctrl+Q"}


class WindowSlots(Protocol):
    """The slots the window itself answers the menus with."""

    def stylize(self) -> None: ...
    def cancel_run(self) -> None: ...
    def open_video(self) -> None: ...
    def toggle_keep_input_paths(self) -> None: ...
    def update_history_visibility(self) -> None: ...
    def open_log_folder(self) -> None: ...
    def show_about(self) -> None: ...
    def show_about_qt(self) -> None: ...
    def close(self) -> bool: ...


@dataclass(frozen=True)
class MenuSlots:
    """The parts whose slots the menus call (the owners named in :data:`ACTIONS`)."""

    window: WindowSlots
    inputs: InputsController
    export: Exporter
    restorer: SettingsRestorer
    controls: ControlsPanel
    result_view: ResultView
    queue_panel: QueuePanel
    help_pages: HelpPages


@dataclass(frozen=True)
class MenuActions:
    """The window's actions, one per row of :data:`ACTIONS` (the window keeps them as ``window.save_action`` ...)."""

    open_content_action: QAction
    open_style_action: QAction
    open_video_action: QAction
    save_action: QAction
    open_settings_action: QAction
    save_all_action: QAction
    keep_paths_action: QAction
    recover_action: QAction
    quit_action: QAction
    paste_action: QAction
    paste_style_action: QAction
    copy_action: QAction
    stylize_action: QAction
    cancel_action: QAction
    new_seed_action: QAction
    fit_action: QAction
    actual_action: QAction
    zoom_in_action: QAction
    zoom_out_action: QAction
    compare_action: QAction
    history_action: QAction
    queue_action: QAction
    how_to_action: QAction
    shortcuts_action: QAction
    log_folder_action: QAction
    about_action: QAction
    about_qt_action: QAction


@dataclass(frozen=True)
class ActionRow:
    """One action: ``slot`` is ``"owner.method"`` of :class:`MenuSlots`; ``made``: instead, an
    ``"owner.attribute"`` action a part made (and connected) itself, named and put in the window here."""

    name: str
    text: str
    slot: str | None
    keys: Shortcut = None
    tip: str = ""
    checkable: bool = False
    role: QAction.MenuRole | None = None
    made: str | None = None


_Role = QAction.MenuRole
#: Every action of the window, in the order they are made.
ACTIONS: tuple[ActionRow, ...] = (
    ActionRow("open_content_action", "Open &Content Image…", "inputs.open_content", SK.Open,
              "Choose the photo to paint"),
    ActionRow("open_style_action", "Open &Style Image…", "inputs.open_style", "Ctrl+Shift+O",
              "Choose the painting whose style is used"),
    ActionRow("open_video_action", "Open &Video…", "window.open_video", None,
              "Paint a clip without flicker (a clip dropped on the Content pane opens too)"),
    ActionRow("save_action", "&Save Result…", "export.save_result", SK.Save,
              "Save the full-resolution result (PNG, JPEG, WebP or TIFF)"),
    ActionRow("open_settings_action", "Open Settings from &Image…", "restorer.open_settings_from_image", None,
              "Restore the settings (and inputs, where found) that made a saved result"),
    ActionRow("save_all_action", "Save A&ll Results…", "export.save_all", "Ctrl+Shift+S",
              "Save every unsaved result (the History's too) into a folder"),
    ActionRow("keep_paths_action", "Keep Full Input &Paths in Results", "window.toggle_keep_input_paths", None,
              "Saved results name their photo and paintings by full path (shows folder and "
              "user names to whoever gets the file); off: by file name only", checkable=True),
    ActionRow("recover_action", "&Recover Last Result", "export.recover_last_result", None,
              "Open the last finished result that was not saved"),
    ActionRow("quit_action", "&Quit", "window.close", SK.Quit, role=_Role.QuitRole),
    ActionRow("paste_action", "&Paste Image", "inputs.paste", SK.Paste,
              "Paste into the selected pane (Content if none is selected)"),
    ActionRow("paste_style_action", "Paste as St&yle", "inputs.paste_style", "Ctrl+Shift+V",
              "Paste the clipboard image as the style image"),
    ActionRow("copy_action", "&Copy Result", "export.copy_result", SK.Copy,
              "Copy the full-resolution result to the clipboard"),
    ActionRow("stylize_action", "S&tylize", "window.stylize", "Ctrl+Return", "Paint the content in the style"),
    ActionRow("cancel_action", "Stop &Painting", "window.cancel_run", "Esc", "Stop the run, keeping the best so far"),
    ActionRow("new_seed_action", "&New Seed", "controls.new_seed", None, "Pick a new random seed"),
    ActionRow("fit_action", "Zoom to &Fit", "result_view.zoom_fit", "Ctrl+0"),
    ActionRow("actual_action", "&Actual Size (100%)", "result_view.zoom_actual", "Ctrl+1"),
    ActionRow("zoom_in_action", "Zoom &In", "result_view.zoom_in", SK.ZoomIn),
    ActionRow("zoom_out_action", "Zoom &Out", "result_view.zoom_out", SK.ZoomOut),
    ActionRow("compare_action", "&Compare with Photo", None, "\\",
              "Show the photo left of a line you drag on the image, the result right of it",
              made="result_view.compare_action"),
    ActionRow("history_action", "&History Strip", "window.update_history_visibility", None,
              "Show the results painted since the app started below the result", checkable=True),
    ActionRow("queue_action", "&Queue", "queue_panel.toggle_dock", "Ctrl+Shift+B",
              "Paint many photos x many paintings (and sweeps of settings) one after another"),
    ActionRow("how_to_action", "&How To", "help_pages.show_how_to", "F1",
              "A short guide: first painting, blends, regions, print sizes, queue, presets"),
    ActionRow("shortcuts_action", "&Keyboard Shortcuts", "help_pages.show_shortcuts", "Ctrl+/",
              "Every key of the menus and windows, read from the actions themselves"),
    ActionRow("log_folder_action", "Open &Log Folder", "window.open_log_folder", None,
              "Show the folder of the error log (for a bug report)"),
    ActionRow("about_action", f"&About {APP_NAME}", "window.show_about", role=_Role.AboutRole),
    ActionRow("about_qt_action", "About &Qt", "window.show_about_qt", role=_Role.AboutQtRole),
)


def _keys(shortcut: Shortcut) -> list[QKeySequence]:
    """The key sequences of ``shortcut``: a standard key's platform bindings (or its fallback)."""
    if isinstance(shortcut, QKeySequence.StandardKey):
        keys = QKeySequence.keyBindings(shortcut)
        if not keys and shortcut in FALLBACK_KEYS:
            keys = [QKeySequence(FALLBACK_KEYS[shortcut])]
        return keys
    return [] if shortcut is None else [QKeySequence(shortcut)]


def _action(parent: QWidget, row: ActionRow, slots: MenuSlots) -> QAction:
    """The action of ``row``, added to ``parent`` (its shortcut works in the whole window)."""
    act = attrgetter(row.made)(slots) if row.made is not None else QAction(parent)
    act.setText(row.text)
    keys = _keys(row.keys)
    if keys:
        act.setShortcuts(keys)
    if row.tip:
        act.setStatusTip(row.tip)
        act.setToolTip(row.tip)
    if row.slot is not None:
        act.triggered.connect(attrgetter(row.slot)(slots))
    parent.addAction(act)
    if row.checkable:
        act.setCheckable(True)
    if row.role is not None:
        act.setMenuRole(row.role)
    return act


def build_actions(parent: QWidget, slots: MenuSlots) -> MenuActions:
    """Make the actions of :data:`ACTIONS` in ``parent`` (the window), connected to ``slots``."""
    actions = MenuActions(**{row.name: _action(parent, row, slots) for row in ACTIONS})
    actions.history_action.setChecked(True)
    slots.queue_panel.tie_action(actions.queue_action)  # checkable: checked while the Queue panel is open
    return actions


def build_menus(window: QMainWindow, a: MenuActions, presets: PresetsMenu, settings: Settings,
                open_content: Callable[[str], object], open_style: Callable[[str], object]) -> RecentMenus:
    """Fill ``window``'s menu bar with the actions ``a`` and ``presets``' menu; returns the recent
    menus (filled from ``settings``; an entry chosen goes to ``open_content`` or ``open_style``)."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a.open_content_action)
    file_menu.addAction(a.open_style_action)
    file_menu.addAction(a.open_video_action)
    recent = RecentMenus(settings, open_content, open_style, file_menu.addMenu("Recent Content Images"),
                         file_menu.addMenu("Recent Style Images"), window)
    file_menu.addSeparator()
    for act in (a.save_action, a.save_all_action, a.recover_action, a.open_settings_action):
        file_menu.addAction(act)
    file_menu.addSeparator()
    file_menu.addAction(a.keep_paths_action)
    file_menu.addSeparator()
    file_menu.addAction(a.quit_action)
    edit_menu = bar.addMenu("&Edit")
    for act in (a.paste_action, a.paste_style_action, a.copy_action):
        edit_menu.addAction(act)
    edit_menu.addSeparator()
    for act in (a.stylize_action, a.cancel_action, a.new_seed_action):
        edit_menu.addAction(act)
    view_menu = bar.addMenu("&View")
    for act in (a.fit_action, a.actual_action, a.zoom_in_action, a.zoom_out_action):
        view_menu.addAction(act)
    view_menu.addSeparator()
    view_menu.addAction(a.compare_action)
    view_menu.addAction(a.history_action)
    view_menu.addAction(a.queue_action)
    presets.build(bar.addMenu("&Presets"))
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a.how_to_action)
    help_menu.addAction(a.shortcuts_action)
    help_menu.addSeparator()
    help_menu.addAction(a.log_folder_action)
    help_menu.addSeparator()
    help_menu.addAction(a.about_action)
    help_menu.addAction(a.about_qt_action)
    return recent


class RecentMenus(QObject):
    """File > Recent Content Images / Recent Style Images, filled from ``settings`` when shown; an
    entry chosen is opened with ``open_content(path)`` or ``open_style(path)``."""

    def __init__(self, settings: Settings, open_content: Callable[[str], object], open_style: Callable[[str], object],
                 content_menu: QMenu, style_menu: QMenu, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.open_content = open_content
        self.open_style = open_style
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
        self.fill(self.content_menu, self.settings.recent_content)

    @Slot()
    def fill_style(self) -> None:
        self.fill(self.style_menu, self.settings.recent_style)

    @Slot()
    def _on_triggered(self) -> None:
        act = self.sender()
        if isinstance(act, QAction):
            if act.parent() is self.style_menu:
                self.open_style(act.data())
            else:
                self.open_content(act.data())

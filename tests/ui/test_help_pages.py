"""Help > Keyboard Shortcuts (made from the actions themselves) and Help > How To."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from nst_desktop.ui.help_pages import key_text


def _plain(text: str) -> str:
    return text.replace("&", "").rstrip(".…")


def test_the_shortcuts_page_lists_every_key_of_every_action(qtbot, window) -> None:
    window.shortcuts_action.trigger()
    page = window.help_pages.shortcuts_window
    qtbot.waitExposed(page)
    text = page.browser.toPlainText()
    with_keys = [a for a in window.actions() if a.shortcuts()]
    assert len(with_keys) >= 15
    for act in with_keys + window.region_editor.actions():
        keys = key_text(act)
        assert keys and keys in text, act.text()
        assert f"{_plain(act.text())}" in text, act.text()
    assert "View > Compare with Photo" in text and "Paint Regions window" in text
    assert "Ctrl+Shift+Z" in text  # Redo in Paint Regions


def test_the_shortcuts_page_follows_the_actions(qtbot, window) -> None:
    window.new_seed_action.setShortcut(QKeySequence("Ctrl+Alt+N"))
    window.help_pages.show_shortcuts()
    assert "Edit > New Seed" in window.help_pages.shortcuts_window.browser.toPlainText()
    assert "Ctrl+Alt+N" in window.help_pages.shortcuts_window.browser.toPlainText()


def test_how_to_covers_the_first_painting_blends_regions_print_sizes_and_the_queue(qtbot, window) -> None:
    window.how_to_action.trigger()
    page = window.help_pages.how_to_window
    qtbot.waitExposed(page)
    text = page.browser.toPlainText()
    for topic in ("Paint your first picture", "Blend several paintings", "Paint regions", "Paint for a print",
                  "the queue", "presets"):
        assert topic in text
    assert [k.toString() for k in window.how_to_action.shortcuts()] == ["F1"]
    page.resize(page.width() + 200, page.height() + 100)  # resizable
    assert page.isSizeGripEnabled()

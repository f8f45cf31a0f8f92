"""Help > Keyboard Shortcuts and Help > How To: two pages in a resizable, non-modal window.

The shortcuts page is made from the actions themselves when it is opened (the menu bar's,
walked menu by menu, and those of other windows such as Paint Regions), so it always lists
the keys that work. The How To page is a short guide to the first painting, blends, regions,
print sizes and the queue.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QMenuBar, QTextBrowser, QVBoxLayout, QWidget

#: Mouse gestures: no action stands for them, so the page says them in words.
MOUSE_ROWS = (
    ("Result: move the comparison line", "drag its handle (View > Compare with Photo)"),
    ("Result: move around a zoomed image", "drag with the middle button, or scroll"),
    ("Result: save or use the result elsewhere", "drag it out of the window"),
    ("Paint Regions: brush size", "the Brush box; its circle follows the pointer"),
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".…")


#: Keys without a modifier that a person presses (the rest, such as the Open, Copy or F18 keys
#: of some keyboards that standard shortcuts also bind, are left off the page).
_PLAIN_KEYS = {Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Return, Qt.Key.Key_Enter,
               Qt.Key.Key_Tab, Qt.Key.Key_Space, *(Qt.Key(Qt.Key.Key_F1.value + i) for i in range(12))}


def _typed(key: QKeySequence) -> bool:
    combo = key[0]
    if combo.keyboardModifiers() != Qt.KeyboardModifier.NoModifier:
        return True
    return combo.key().value < Qt.Key.Key_Escape.value or combo.key() in _PLAIN_KEYS


def key_text(action: QAction) -> str:
    """The action's keys as the platform writes them ("Ctrl+S", "Ctrl+Shift+Z or Ctrl+Y"); "" if none."""
    native = QKeySequence.SequenceFormat.NativeText
    return " or ".join(k.toString(native) for k in action.shortcuts() if not k.isEmpty() and _typed(k))


def menu_shortcuts(bar: QMenuBar) -> Iterator[tuple[str, str]]:
    """("File > Save Result", "Ctrl+S") for every action of the menu bar that has a key."""

    def walk(menu: QMenu, prefix: str) -> Iterator[tuple[str, str]]:
        for act in menu.actions():
            if act.isSeparator():
                continue
            sub = act.menu()
            if isinstance(sub, QMenu):
                yield from walk(sub, f"{prefix}{_plain(act.text())} > ")
            elif keys := key_text(act):
                yield prefix + _plain(act.text()), keys

    for top in bar.actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            yield from walk(menu, f"{_plain(top.text())} > ")


def shortcuts_html(bar: QMenuBar, others: Mapping[str, Sequence[QAction]]) -> str:
    """The shortcuts page: the menu bar's keys, then those of each other window (``others``:
    window title -> its actions), then the mouse gestures."""

    def table(rows: Sequence[tuple[str, str]]) -> str:
        cells = "".join(f"<tr><td>{html.escape(what)}</td><td>&nbsp;&nbsp;<b>{html.escape(keys)}</b></td></tr>"
                        for what, keys in rows)
        return f"<table cellspacing='2'>{cells}</table>"

    parts = ["<h2>Keyboard shortcuts</h2>", "<h3>Main window</h3>", table(list(menu_shortcuts(bar)))]
    for title, actions in others.items():
        rows = [(_plain(a.text()), key_text(a)) for a in actions if key_text(a)]
        if rows:
            parts += [f"<h3>{html.escape(title)} window</h3>", table(rows)]
    parts += ["<h3>Mouse</h3>", table(MOUSE_ROWS),
              "<p>Menu entries without a key open with Alt and their underlined letters.</p>"]
    return "".join(parts)


HOW_TO_HTML = """
<h2>How to</h2>
<h3>Paint your first picture</h3>
<ol>
<li>Drop a photo on the <b>Content</b> pane (or click it, or paste one with Ctrl+V).</li>
<li>Drop a painting on the <b>Style</b> list (or paste one with Ctrl+Shift+V).</li>
<li>Press <b>Stylize</b> (Ctrl+Return). The picture appears as it is painted; Esc stops and keeps
the best so far.</li>
<li>Save it with Ctrl+S, copy it with Ctrl+C, or drag it out of the window. Every result of the
session stays in the <b>History</b> below it until you quit.</li>
</ol>
<p>Turn on <b>View &gt; Compare with Photo</b> (\\) to see the photo left of a line you drag across
the result. <b>Continue</b> paints more steps on the result shown.</p>
<h3>Blend several paintings</h3>
<p>Add more paintings to the Style list; each row's slider is its share of the style. A row at
0&nbsp;% is left out. <b>Brush scale</b> sets how large the painting's strokes are on the result;
<b>Style strength</b> how much style against how much of the photo's shapes.</p>
<h3>Paint regions</h3>
<p>Click <b>Paint Regions…</b> to paint where each painting goes, and where the photo stays as it
is (<b>Keep photo</b>). Pick a brush, drag over the photo; <b>Fill</b> fills an area closed by a
stroke with one click. Ctrl+Z undoes, Ctrl+Shift+Z redoes; OK keeps the regions, Cancel puts back
what was there. The regions blend into each other over a soft edge.</p>
<h3>Paint for a print</h3>
<p>Next to the output size, <b>Print Size…</b> turns a print's width, height and dots per inch into
pixels. Large sizes take longer (the estimate says how long on this computer) and are painted in
tiles when they do not fit in memory.</p>
<h3>Paint many pictures: the queue</h3>
<p><b>View &gt; Queue</b> (Ctrl+Shift+B) paints many photos with many paintings, and sweeps of a
setting, one after another. Each result is saved into the chosen folder as it finishes, with a
contact sheet of each group; a queue left unfinished goes on next time.</p>
<h3>Keep your settings: presets</h3>
<p><b>Presets &gt; Save Settings as Preset…</b> keeps every setting with the paintings and their
weights under a name; choose it from the Presets menu to use it again. Export it to a file to
paint the same picture on another computer of the same kind (same seed, same kind of device).</p>
<h3>Settings of a saved picture</h3>
<p><b>File &gt; Open Settings from Image…</b> reads the settings saved inside a result, restores
them (and the photo and paintings, where the files are still there) and shows the picture in
the History.</p>
"""


class HelpWindow(QDialog):
    """A resizable, non-modal window showing one page of help (rich text)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)
        self.setSizeGripEnabled(True)
        self.resize(560, 620)

    def show_page(self, rich_text: str) -> None:
        self.browser.setHtml(rich_text)
        self.show()
        self.raise_()
        self.activateWindow()


class HelpPages(QObject):
    """Opens the help pages of a window: its menu bar, and the actions of its other windows."""

    def __init__(self, parent: QWidget, bar: QMenuBar, others: Mapping[str, Sequence[QAction]]) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.bar = bar
        self.others = others
        self.shortcuts_window = HelpWindow("Keyboard Shortcuts", parent)
        self.how_to_window = HelpWindow("How To", parent)

    @Slot()
    def show_shortcuts(self) -> None:
        """Help > Keyboard Shortcuts (made from the actions now, so it lists the keys that work)."""
        self.shortcuts_window.show_page(shortcuts_html(self.bar, self.others))

    @Slot()
    def show_how_to(self) -> None:
        """Help > How To."""
        self.how_to_window.show_page(HOW_TO_HTML)

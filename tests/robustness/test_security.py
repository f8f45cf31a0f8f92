"""Security: images are pixels and metadata text only; user data is shown as plain text;
no network beyond the hash-checked weights download; crash recovery offered on start."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from nst_desktop.engine import save_image
from nst_desktop.engine.image import images as engine_images
from nst_desktop.engine.net.weights import TORCHVISION_SHA256, TORCHVISION_URL
from nst_desktop.ui.export import recovery_path
from nst_desktop.ui.prompts import Prompts as RealPrompts
from tests.helpers import make_content
from tests.ui.helpers import inject_result, make_window

HTML = '<img src=x><b>bold</b><a href="file:///etc/passwd">link</a>'

# ----------------------------------------------------------------------------- images: pixels and text only
_AUDIT: list[tuple[str, tuple]] | None = None
_WATCHED = ("open", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "socket.", "pickle.find_class",
            "marshal.load", "exec", "compile", "ctypes.dlopen", "import")


def _audit(event: str, args: tuple) -> None:
    if _AUDIT is not None and event.startswith(_WATCHED):
        _AUDIT.append((event, args))


sys.addaudithook(_audit)  # permanent, but records only while a test switches it on


def _hostile_files(folder: Path) -> list[Path]:
    out = []
    img = make_content((24, 16))
    info = PngInfo()
    info.add_itxt(engine_images.METADATA_KEY, json.dumps({"weights_name": HTML, "__class__": "os.system"}))
    info.add_text("Comment", "__import__('os').system('touch PWNED')")
    p = folder / "text-chunks.png"
    img.save(p, pnginfo=info)
    out.append(p)
    exif = Image.Exif()
    exif[0x010E] = "{\"x\": 1}" + HTML
    for ext in (".jpg", ".tif", ".webp"):
        q = folder / f"exif{ext}"
        img.save(q, exif=exif.tobytes())
        out.append(q)
    svg = folder / "external.svg"
    svg.write_text(f'<svg xmlns="http://www.w3.org/2000/svg"><image href="file://{folder}/secret"/></svg>')
    out.append(svg)
    return out


def test_loading_images_opens_nothing_else_and_runs_nothing(tmp_path: Path) -> None:
    global _AUDIT
    files = _hostile_files(tmp_path)
    from nst_desktop.engine import ImageError, load_image, read_metadata

    def load_all() -> None:
        for p in files:
            try:
                load_image(p)
                read_metadata(p)
            except ImageError:
                pass

    load_all()  # first pass: Pillow imports its plugins (opening their .pyc files)
    _AUDIT = []
    try:
        load_all()
    finally:
        events, _AUDIT = _AUDIT, None
    opened = {str(a[0]) for e, a in events if e == "open" and a and isinstance(a[0], (str, Path))}
    assert opened <= {str(p) for p in files}, opened - {str(p) for p in files}
    others = sorted({e for e, _ in events if e not in ("open", "import", "compile", "exec")})
    assert others == [], others
    # compile/exec events come only from Pillow importing its plugins, never from image content.
    assert not [a for e, a in events if e in ("exec", "compile") and "PWNED" in repr(a)]
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


def test_metadata_and_file_names_are_shown_as_plain_text(qtbot, tmp_path: Path, monkeypatch) -> None:
    # The window shows metadata in one place: the weights name of a recovered result, in the
    # About box (escaped HTML). File names appear in the panes, the caption, messages, tooltips.
    rec = recovery_path()
    rec.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_content((40, 30)), rec, {"weights_name": HTML, "steps_done": 3, "elapsed_s": 1.0})
    window = make_window(qtbot)
    assert window.export.recover_last_result()
    about = window.about_text()
    assert "&lt;img src=x&gt;&lt;b&gt;bold&lt;/b&gt;" in about and "<img" not in about

    evil = tmp_path / f"{HTML.replace('/', '_')}.png"
    make_content((30, 20)).save(evil)
    assert window.content_pane.load_path(evil)
    info = window.content_pane.info
    assert info.textFormat() == Qt.TextFormat.PlainText and info.text().startswith(evil.name)
    assert "&lt;img" in info.toolTip() and "<img" not in info.toolTip()
    bad = tmp_path / "<b>not an image<_b>.png"
    bad.write_text("hello")
    assert not window.content_pane.load_path(bad)
    assert window.content_pane.message.textFormat() == Qt.TextFormat.PlainText
    assert "<b>not an image<_b>.png" in window.content_pane.message.text()
    assert window.progress_label.textFormat() == Qt.TextFormat.PlainText

    inject_result(window, make_content((30, 20)))
    assert window.export.save_result_to(tmp_path / "<i>saved<_i>.png")
    assert window.result_view.caption.textFormat() == Qt.TextFormat.PlainText
    assert "<i>saved<_i>.png" in window.result_view.caption.text()

    # The real message boxes (tests usually replace them) show their text literally too.
    boxes: list[QMessageBox] = []

    def fake_exec(self: QMessageBox) -> int:
        boxes.append(self)
        return int(QMessageBox.StandardButton.No)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    real = RealPrompts(window)
    real.inform("Could not save", f"Cannot save '{HTML}.png'")
    assert not real.ask("Replace?", f"'{HTML}' exists")
    assert real.ask_save_discard_cancel("Unsaved results", f"'{HTML}' is not saved") == "cancel"
    real.show_error("Something went wrong", f"'{HTML}' failed", "Traceback ...")
    assert [b.textFormat() for b in boxes] == [Qt.TextFormat.PlainText] * 4
    assert HTML in boxes[0].text()


# ----------------------------------------------------------------------------- network
def test_the_only_url_is_the_https_weights_download() -> None:
    package = Path(__file__).resolve().parents[2] / "nst_desktop"
    urls = set()
    import re

    for path in package.rglob("*.py"):
        urls |= set(re.findall(r"\b(?:https?|ftp)://[^\s'\"<>)]+", path.read_text(encoding="utf-8")))
    network = {u for u in urls if not u.startswith(("https://github.com", "https://pytorch.org/docs"))}
    assert network == {TORCHVISION_URL}, network
    assert TORCHVISION_URL.startswith("https://") and len(TORCHVISION_SHA256) >= 8


def test_tests_cannot_reach_beyond_loopback() -> None:
    with pytest.raises(ConnectionRefusedError, match="127.0.0.1"):
        socket.create_connection(("93.184.215.14", 80), timeout=1)
    with pytest.raises(OSError):
        urllib.request.urlopen("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", timeout=1)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        socket.create_connection(srv.getsockname(), timeout=1).close()  # loopback still works
    finally:
        srv.close()


# ----------------------------------------------------------------------------- crash recovery
KILLED_MID_SESSION = r"""
import os, signal, sys
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QApplication
from nst_desktop.engine.device.devices import DeviceInfo
from nst_desktop.ui.main_window import MainWindow

class Killer(QObject):
    @Slot(object)
    def finished(self, outcome):
        print("finished; killing myself", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no closeEvent: as in a crash

app = QApplication([])
w = MainWindow(devices=[DeviceInfo("cpu", "CPU", None)])
w.steps_override, w.preview_every = 3, 0
w.controls.size_spin.setValue(32)
assert w.content_pane.load_path(sys.argv[1]) and w.style_pane.load_path(sys.argv[2])
assert w.start_run()
killer = Killer()
w.runs.job.finished.connect(killer.finished)
app.exec()
"""


@pytest.mark.slow
def test_result_survives_a_kill_and_is_offered_on_the_next_start(qtbot, image_files) -> None:
    content, style = image_files
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_MID_SESSION, str(content), str(style)],
        capture_output=True, text=True, timeout=240, env=dict(os.environ),
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "finished" in proc.stdout
    rec = recovery_path()
    assert rec.is_file() and not list(rec.parent.glob("*.part"))
    window = make_window(qtbot)
    assert "can be recovered" in window.statusBar().currentMessage()
    assert window.recover_action.isEnabled()
    assert window.export.recover_last_result()
    assert window.result is not None and window.result.image.size == (32, 21)
    assert window.isWindowModified()  # offered as an unsaved result


def test_a_damaged_recovery_file_is_reported_not_fatal(qtbot) -> None:
    rec = recovery_path()
    rec.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.effect_noise((40, 30), 60).convert("RGB").save(buf, "PNG")
    rec.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])  # the machine died mid-write of an older version
    window = make_window(qtbot)
    assert not window.export.recover_last_result()
    assert str(rec) in window.statusBar().currentMessage()
    assert window.result is None


def test_recent_menu_tooltips_show_paths_literally(qtbot, tmp_path) -> None:
    from tests.helpers import make_content
    from tests.ui.helpers import make_window

    folder = tmp_path / "<b>bold<i>"  # markup that needs no '/' (a path separator)
    folder.mkdir()
    path = folder / "photo.png"
    make_content().save(path)
    window = make_window(qtbot)
    window.recent.fill(window.recent_content_menu, [str(path)])
    tip = window.recent_content_menu.actions()[0].toolTip()
    assert "&lt;b&gt;bold&lt;i&gt;" in tip and "<b>" not in tip

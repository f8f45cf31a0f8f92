"""Render the main window offscreen with two inputs and a finished result, save it as PNG.

Usage: ``python -m nst_desktop.ui.screenshot OUT.png [CONTENT STYLE] [--size PX] [--steps N]
[--preserve-colors none|luminance|match] [--weights W1,W2,...] [--blend PERCENT] [--mask]``

``--weights`` fills the Style list with that many paintings (the first is STYLE or the
generated swirls, the others generated ones) and sets their weight sliders (percent).
``--blend P`` is short for ``--weights 100-P,P`` (two paintings).

Without CONTENT and STYLE it paints two generated pictures (a landscape and a
"painting" of strokes), so it needs no files. The run is a real, short stylisation
with the bundled weights on the machine's default device. The window uses a
temporary settings folder, so the user's settings are neither read nor changed.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFilter

from nst_desktop.engine.params import PRESERVE_COLORS, StyleParams

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

WINDOW_SIZE = (1280, 800)
#: How long the finished window is left to settle before it is grabbed, ms.
SETTLE_MS = 300


def demo_content(size: tuple[int, int] = (640, 440)) -> Image.Image:
    """A generated landscape: sky gradient, sun, hills, a lake and a small house."""
    w, h = size
    img = Image.new("RGB", size)
    d = ImageDraw.Draw(img)
    for y in range(h):
        t = y / h
        d.line((0, y, w, y), fill=(int(90 + 120 * t), int(150 + 70 * t), int(230 - 30 * t)))
    d.ellipse((w * 0.68, h * 0.10, w * 0.80, h * 0.10 + w * 0.12), fill=(255, 226, 120))
    for k, (base, colour) in enumerate(((0.55, (86, 140, 80)), (0.65, (60, 115, 60)))):
        pts = [(x, h * base + 28 * math.sin(x / (70 + 25 * k) + k)) for x in range(0, w + 10, 10)]
        d.polygon([(0, h), *pts, (w, h)], fill=colour)
    d.rectangle((0, h * 0.80, w, h), fill=(70, 120, 170))
    hx, hy = w * 0.28, h * 0.52
    d.rectangle((hx, hy, hx + 90, hy + 70), fill=(200, 80, 60))
    d.polygon([(hx - 10, hy), (hx + 45, hy - 45), (hx + 100, hy)], fill=(110, 50, 40))
    d.rectangle((hx + 35, hy + 30, hx + 55, hy + 70), fill=(80, 50, 30))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def demo_style(size: tuple[int, int] = (480, 480), seed: int = 3) -> Image.Image:
    """A generated "painting": swirls of thick coloured strokes on a dark ground."""
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, (24, 32, 80))
    d = ImageDraw.Draw(img)
    palette = [(245, 205, 70), (235, 120, 40), (70, 160, 210), (30, 70, 150), (250, 240, 200)]
    for _ in range(900):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        angle = math.atan2(cy - h / 2, cx - w / 2) + math.pi / 2 + rng.uniform(-0.3, 0.3)
        length = rng.uniform(12, 34)
        dx, dy = math.cos(angle) * length, math.sin(angle) * length
        d.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=rng.choice(palette), width=rng.randint(3, 7))
    return img


def render(out: Path, content: str | None, style: str | None, size: int, steps: int,
           preserve_colors: str = "none", weights: list[int] | None = None, mask: bool = False) -> Path:
    """Open the window, run a real stylisation, wait for it and save ``window.grab()`` to ``out``.

    ``weights``: one weight (percent) per painting of the Style list (None: one painting).
    ``mask``: paint regions first (a band per painting from the left, the photo kept on the
    right) and show the region painter beside the window."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="nst-screenshot-") as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        return _render(out, content, style, size, steps, preserve_colors, weights, mask)


def demo_style2(size: tuple[int, int] = (480, 480)) -> Image.Image:
    """A second generated "painting": a pale checker of soft pastel blocks."""
    w, h = size
    img = Image.new("RGB", size, (240, 235, 220))
    d = ImageDraw.Draw(img)
    palette = [(220, 120, 150), (120, 200, 170), (250, 200, 120)]
    for i, x in enumerate(range(0, w, 40)):
        for j, y in enumerate(range(0, h, 40)):
            if (i + j) % 2:
                d.rectangle((x + 4, y + 4, x + 36, y + 36), fill=palette[(i * 3 + j) % 3])
    return img.filter(ImageFilter.GaussianBlur(1.5))


def demo_style3(size: tuple[int, int] = (480, 480), seed: int = 5) -> Image.Image:
    """A third generated "painting": warm dots of many sizes on a deep red ground."""
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, (110, 20, 30))
    d = ImageDraw.Draw(img)
    palette = [(250, 190, 60), (240, 110, 50), (255, 235, 180), (180, 40, 60)]
    for _ in range(420):
        r = rng.uniform(4, 22)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rng.choice(palette))
    return img.filter(ImageFilter.GaussianBlur(0.8))


#: The generated paintings after the first, in the order they fill the Style list.
EXTRA_DEMO_STYLES = (("pastel.png", demo_style2), ("dots.png", demo_style3))


def _render(out: Path, content: str | None, style: str | None, size: int, steps: int,
            preserve_colors: str = "none", weights: list[int] | None = None, mask: bool = False) -> Path:
    from PySide6.QtCore import QEventLoop, QPointF, QTimer
    from PySide6.QtGui import QImage, QPainter

    from nst_desktop.ui.app import ensure_app
    from nst_desktop.ui.image_pane import LoadedImage
    from nst_desktop.ui.main_window import MainWindow

    app = ensure_app([])
    window = MainWindow()
    window.show()
    # After the first show, where the window fits itself to its screen (the offscreen screen is 800 px):
    # a screenshot is always of the same size.
    window.resize(*WINDOW_SIZE)
    if content and style:
        window.load_inputs(content, style)
    else:
        window.content_pane.set_loaded(LoadedImage(demo_content(), "landscape.png"))
        window.style_pane.set_loaded(LoadedImage(demo_style(), "swirls.png"))
    if window.content_pane.loaded is None or window.style_pane.loaded is None:
        raise SystemExit("could not load the input images")
    window.controls.size_spin.setValue(size)
    combo = window.controls.preserve_combo
    combo.setCurrentIndex(max(0, combo.findData(preserve_colors)))
    weights = weights or [100]
    if len(weights) > 1 + len(EXTRA_DEMO_STYLES):
        raise SystemExit(f"at most {1 + len(EXTRA_DEMO_STYLES)} weights (one per painting)")
    for name, make in EXTRA_DEMO_STYLES[:len(weights) - 1]:
        window.style_list.add_loaded(LoadedImage(make(), name))
    for row, weight in zip(window.style_list.rows, weights, strict=True):
        row.set_weight(weight)
    window.steps_override = steps
    if mask:
        from nst_desktop.ui.region_labels import KEEP, style_label

        editor = window.region_editor
        editor.resize(440, 380)
        window.inputs.edit_regions()
        canvas = editor.canvas
        assert canvas.labels is not None
        w, h = canvas.labels.width(), canvas.labels.height()
        canvas.brush = max(4, h // 5)
        n = len(weights)
        band = 0.75 / n  # the styles share the left three quarters, the photo is kept on the right
        bands = [(style_label(i), band * (i + 0.5), band / 2) for i in range(n)] + [(KEEP, 0.875, 0.125)]
        for tool, fx, half in bands:
            canvas.tool = tool
            for fy in (0.1, 0.3, 0.5, 0.7, 0.9):
                canvas._stroke(QPointF(w * (fx - half), h * fy), QPointF(w * (fx + half), h * fy))
        editor.set_tool(KEEP)
        canvas._changed()
    if not window.start_run() or window.runs.job is None:
        raise SystemExit("the run did not start")
    loop = QEventLoop()
    window.runs.job.ended.connect(loop.quit)
    loop.exec()
    if window.result is None:
        raise SystemExit(f"the run did not finish: {window.progress_label.text()}")
    window.result_view.set_compare(True)
    window.result_view.set_split(0.04 if mask else 0.35)
    window.statusBar().showMessage("Finished. Save the result with Ctrl+S or drag it out.")
    # Let layouts and paints settle: a label whose text changed as the run ended (the estimate's
    # new basis) takes several passes of posted layout requests to get its new height.
    QTimer.singleShot(SETTLE_MS, loop.quit)
    loop.exec()
    out.parent.mkdir(parents=True, exist_ok=True)
    shot = window.grab().toImage()
    if mask:  # the region painter to the right of the window
        side = window.region_editor.grab().toImage()
        both = QImage(shot.width() + side.width(), max(shot.height(), side.height()), QImage.Format.Format_RGB32)
        both.setDevicePixelRatio(shot.devicePixelRatio())
        both.fill(window.palette().window().color())
        p = QPainter(both)
        p.drawImage(0, 0, shot)
        p.drawImage(shot.width() / shot.devicePixelRatio(), 0, side)
        p.end()
        shot = both
    if not shot.save(str(out), "PNG"):
        raise SystemExit(f"could not write {out}")
    window.prompts = _quit_prompts(window)  # quit without the unsaved-result question
    window.close()
    app.processEvents()
    return out


def _quit_prompts(window: QWidget) -> object:
    """Prompts that answer the closing questions, so the script never waits on a dialog."""
    from nst_desktop.ui.prompts import Prompts, SaveChoice

    class QuitPrompts(Prompts):
        def ask(self, title: str, text: str) -> bool:
            return True

        def ask_save_discard_cancel(self, title: str, text: str, save_text: str = "") -> SaveChoice:
            return "discard"

    return QuitPrompts(window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nst_desktop.ui.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("content", nargs="?", help="content image (default: a generated landscape)")
    parser.add_argument("style", nargs="?", help="style image (default: generated strokes)")
    parser.add_argument("--size", type=int, default=320, help="output long side in px (default 320)")
    parser.add_argument("--steps", type=int, default=60, help="loss evaluations (default 60)")
    parser.add_argument("--preserve-colors", choices=PRESERVE_COLORS, default=StyleParams.preserve_colors)
    parser.add_argument("--weights", default=None,
                        help="comma-separated weights in percent, one per painting (up to 3; e.g. 100,60,30)")
    parser.add_argument("--blend", type=int, default=None,
                        help="two paintings: the second's weight in percent, the first's 100 minus that")
    parser.add_argument("--mask", action="store_true",
                        help="paint regions first and show the region painter beside the window")
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if bool(ns.content) != bool(ns.style):
        parser.error("give both CONTENT and STYLE, or neither")
    weights = None
    if ns.weights is not None:
        try:
            weights = [int(w) for w in ns.weights.split(",")]
        except ValueError:
            parser.error(f"--weights: whole numbers separated by commas, not {ns.weights!r}")
    elif ns.blend is not None:
        weights = [100 - ns.blend, ns.blend]
    if weights is not None and not all(0 <= w <= 100 for w in weights):
        parser.error("weights are percentages from 0 to 100")
    path = render(ns.out, ns.content, ns.style, ns.size, ns.steps, ns.preserve_colors, weights, ns.mask)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

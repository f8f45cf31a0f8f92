"""``nst-desktop --self-test``: prove an installation works, offline, in a few seconds.

Loads the bundled weights, stylises a generated 64 px pair on the CPU, writes the
result to a temporary folder, reads it back (pixels and metadata), prints one line.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw


def _pair() -> tuple[Image.Image, Image.Image]:
    content = Image.new("RGB", (64, 48), (200, 220, 240))
    d = ImageDraw.Draw(content)
    d.ellipse((16, 8, 48, 40), fill=(220, 120, 40))
    style = Image.new("RGB", (64, 64), (20, 30, 90))
    d = ImageDraw.Draw(style)
    for i in range(0, 64, 8):
        d.line((0, i, 64, 64 - i), fill=(240, 210, 60), width=3)
    return content, style


def run_self_test() -> int:
    from nst_desktop.app_info import APP_NAME, APP_VERSION
    from nst_desktop.engine import (
        StyleInputs,
        StyleParams,
        load_image,
        load_weights,
        read_metadata,
        save_image,
        stylize,
    )

    t0 = time.perf_counter()
    try:
        weights = load_weights("bundled")
        content, style = _pair()
        params = StyleParams(size=64, steps=20, seed=0, device="cpu", preview_every=0)
        result = stylize(StyleInputs(content, style), params, weights)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "self-test.png"
            save_image(result.image, out, result.metadata)
            back = load_image(out)
            meta = read_metadata(out)
        if back.tobytes() != result.image.tobytes() or not meta or meta["params"]["seed"] != 0:
            raise RuntimeError("the saved result did not read back as written")  # PNG is lossless
    except Exception as exc:  # noqa: BLE001 - the self-test reports any failure in one line
        print(f"{APP_NAME} {APP_VERSION} self-test FAILED: {type(exc).__name__}: {exc}")
        return 1
    print(
        f"{APP_NAME} {APP_VERSION} self-test OK: {weights.name}, {back.size[0]}x{back.size[1]} px, "
        f"{result.steps_done} steps, {time.perf_counter() - t0:.1f} s"
    )
    return 0

"""Attacking the image loader: fuzzed bytes, odd files and odd paths.

Every input must end as either a valid RGB image or an :class:`ImageError` that names
the file, within a second, and never as another exception or a hang.

The fuzz test's size is set by ``NST_FUZZ_EXAMPLES`` (examples per strategy; default 150).
"""

from __future__ import annotations

import io
import os
import signal
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_desktop.engine.errors import ImageError
from nst_desktop.engine.image.images import decode_image, load_image
from tests.helpers import make_content

FUZZ_EXAMPLES = int(os.environ.get("NST_FUZZ_EXAMPLES", "150"))
#: Hard limit per decode (a hang fails the test instead of stalling the suite).
HANG_LIMIT_S = 10
#: What a user may wait for a verdict on one file.
VERDICT_LIMIT_S = 1.0

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=timedelta(seconds=VERDICT_LIMIT_S),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

#: Counts the inputs the fuzz tests fed to the decoder (printed in the summary with -s).
FUZZ_COUNT = {"inputs": 0, "ok": 0, "refused": 0}


@contextmanager
def hang_guard(seconds: int = HANG_LIMIT_S) -> Iterator[None]:
    """Fail with TimeoutError if the block runs longer than ``seconds`` (main thread, POSIX)."""

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"decoding took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def check_verdict(data: bytes, name: str = "fuzz.bin") -> Image.Image | ImageError:
    """Decode ``data``; assert the outcome is an RGB image or an ImageError naming ``name``."""
    FUZZ_COUNT["inputs"] += 1
    t0 = time.perf_counter()
    with hang_guard():
        try:
            img = decode_image(data, name=name)
        except ImageError as exc:
            FUZZ_COUNT["refused"] += 1
            assert name in str(exc), str(exc)
            return exc
    assert time.perf_counter() - t0 < HANG_LIMIT_S
    assert isinstance(img, Image.Image)
    assert img.mode == "RGB" and img.width > 0 and img.height > 0
    img.tobytes()  # the pixels really are there
    FUZZ_COUNT["ok"] += 1
    return img


# ----------------------------------------------------------------------------- seed images
def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _seed_images() -> dict[str, bytes]:
    base = Image.effect_noise((12, 9), 50).convert("RGB")
    rgba = base.convert("RGBA")
    frames = [Image.new("RGB", (10, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    seeds = {
        "png": _encode(base, "PNG"),
        "png-rgba": _encode(rgba, "PNG"),
        "png-palette": _encode(base.convert("P"), "PNG"),
        "jpeg": _encode(base, "JPEG", quality=80),
        "jpeg-progressive": _encode(base, "JPEG", progressive=True),
        "gif": _encode(base.convert("P"), "GIF"),
        "gif-animated": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "tiff": _encode(base, "TIFF"),
        "tiff-deflate": _encode(base, "TIFF", compression="tiff_deflate"),
        "tiff-multipage": _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "webp": _encode(base, "WEBP", quality=80),
        "webp-lossless": _encode(rgba, "WEBP", lossless=True),
        "bmp": _encode(base, "BMP"),
        "ico": _encode(base, "ICO"),
        "ppm": _encode(base, "PPM"),
    }
    return seeds


SEEDS = _seed_images()
SEED_NAMES = sorted(SEEDS)


#: Seeds of formats Pillow reads but the app does not open (app_info.IMAGE_FORMATS): refused, naming the format.
REFUSED_SEEDS = {"ico": "an icon (ICO) file", "ppm": "a Netpbm (PBM/PGM/PPM) image"}


def test_every_seed_image_decodes() -> None:
    for name, data in SEEDS.items():
        img = check_verdict(data, f"{name}.img")
        if name in REFUSED_SEEDS:
            assert isinstance(img, ImageError) and f"is {REFUSED_SEEDS[name]}, not an image" in str(img), (name, img)
        else:
            assert isinstance(img, Image.Image), (name, img)


@st.composite
def mangled(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real image with its bytes truncated, flipped, overwritten, or its header rewritten."""
    name = draw(st.sampled_from(SEED_NAMES))
    data = bytearray(SEEDS[name])
    n = len(data)
    how = draw(st.sampled_from(["truncate", "flip", "overwrite", "header", "insert", "repeat-tail"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, n - 1))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, n - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif how == "overwrite":
        i = draw(st.integers(0, n - 1))
        chunk = draw(st.binary(min_size=1, max_size=16))
        data[i : i + len(chunk)] = chunk
    elif how == "header":
        # The first 64 bytes hold the magic number, dimensions, bit depth, offsets.
        i = draw(st.integers(0, min(63, n - 1)))
        value = draw(st.sampled_from([b"\x00", b"\xff", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"]))
        data[i : i + len(value)] = value
    elif how == "insert":
        i = draw(st.integers(0, n))
        data[i:i] = draw(st.binary(min_size=1, max_size=32))
    else:
        data += data[-draw(st.integers(1, n)) :]
    return f"{name}-{how}", bytes(data)


@FUZZ_SETTINGS
@given(mangled())
def test_fuzz_mangled_real_images(case: tuple[str, bytes]) -> None:
    label, data = case
    check_verdict(data, f"{label}.img")


MAGICS = [
    b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"II*\x00", b"MM\x00*",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"BM", b"\x00\x00\x01\x00", b"P6\n", b"%PDF-1.4", b"<svg",
]


@FUZZ_SETTINGS
@given(st.sampled_from(MAGICS), st.binary(max_size=2048))
def test_fuzz_random_bytes_behind_real_magic_numbers(magic: bytes, tail: bytes) -> None:
    check_verdict(magic + tail, "random.bin")


@pytest.fixture(scope="module", autouse=True)
def _report_fuzz_count() -> Iterator[None]:
    yield
    print(f"\nfuzz inputs decoded: {FUZZ_COUNT}")


# ----------------------------------------------------------------------------- odd files
def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' \
      b'<image href="file:///etc/passwd"/><rect width="10" height="10" fill="red"/></svg>'
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
      b"trailer<</Root 1 0 R>>\n%%EOF\n"


def odd_files(folder: Path) -> dict[str, tuple[Path, str | None]]:
    """name -> (path, expected words in the error, or None if the file must load)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, str | None]] = {}

    def put(name: str, data: bytes, expect: str | None) -> None:
        p = folder / name
        p.write_bytes(data)
        out[name] = (p, expect)

    put("one-pixel.png", _encode(Image.new("RGB", (1, 1), (9, 8, 7)), "PNG"), None)
    put("strip-1x10000.png", _encode(Image.new("RGB", (1, 10000), (200, 0, 0)), "PNG"), None)
    put("declared-100000x100000.png", _png_header_only(100_000, 100_000), "too large")
    put("animated.gif", SEEDS["gif-animated"], None)
    put("multipage.tiff", SEEDS["tiff-multipage"], None)
    put("drawing.svg", SVG, "is an SVG drawing, not an image NST Desktop opens")
    put("document.pdf", PDF, "is a PDF document, not an image NST Desktop opens")
    put("empty.png", b"", "empty")
    (folder / "folder.png").mkdir(exist_ok=True)
    out["folder.png"] = (folder / "folder.png", "folder")
    link = folder / "broken-link.png"
    if not link.is_symlink():
        link.symlink_to(folder / "gone.png")
    out["broken-link.png"] = (link, "does not exist")
    put("Ünïcødé naïve 写真 with spaces.png", _encode(make_content((20, 14)), "PNG"), None)
    return out


ODD_NAMES = [
    "one-pixel.png", "strip-1x10000.png", "declared-100000x100000.png", "animated.gif", "multipage.tiff",
    "drawing.svg", "document.pdf", "empty.png", "folder.png", "broken-link.png",
    "Ünïcødé naïve 写真 with spaces.png",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_file(tmp_path: Path, name: str) -> None:
    path, expect = odd_files(tmp_path)[name]
    t0 = time.perf_counter()
    with hang_guard():
        try:
            img = load_image(path)
        except ImageError as exc:
            elapsed = time.perf_counter() - t0
            assert expect is not None, f"{name} should load: {exc}"
            assert expect in str(exc), str(exc)
            assert str(path) in str(exc)  # the message names the file
            assert elapsed < VERDICT_LIMIT_S, elapsed
            return
    elapsed = time.perf_counter() - t0
    assert expect is None, f"{name} loaded but should be refused ({expect})"
    assert img.mode == "RGB" and img.width >= 1 and img.height >= 1
    assert elapsed < VERDICT_LIMIT_S * 2, elapsed  # 1x10000 is a real decode


def test_first_frame_sizes_of_odd_good_files(tmp_path: Path) -> None:
    files = odd_files(tmp_path)
    assert load_image(files["one-pixel.png"][0]).getpixel((0, 0)) == (9, 8, 7)
    assert load_image(files["strip-1x10000.png"][0]).size == (1, 10000)
    assert load_image(files["animated.gif"][0]).getpixel((0, 0)) == (255, 0, 0)
    assert load_image(files["multipage.tiff"][0]).getpixel((0, 0)) == (255, 0, 0)


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, who can read a chmod 000 file; the permission error is simulated
    # by patching Path.open, which is what load_image reads with.
    p = tmp_path / "secret.png"
    p.write_bytes(SEEDS["png"])

    def denied(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ImageError, match="permission denied") as exc:
        load_image(p)
    assert str(p) in str(exc.value)


def test_io_error_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "on-a-dying-disk.png"
    p.write_bytes(SEEDS["png"])

    def eio(self: Path, *args: object, **kwargs: object) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "open", eio)
    with pytest.raises(ImageError, match="Input/output error") as exc:
        load_image(p)
    assert str(p) in str(exc.value)


# ----------------------------------------------------------------------------- through the GUI
GUI_CASES = ["declared-100000x100000.png", "drawing.svg", "empty.png", "folder.png", "broken-link.png"]


def test_gui_content_pane_keeps_the_previous_image(qtbot, tmp_path: Path) -> None:
    from nst_desktop.ui.main_window import MainWindow
    from tests.ui.helpers import CPU_ONLY

    window = MainWindow(devices=CPU_ONLY)
    qtbot.addWidget(window)
    window.show()
    files = odd_files(tmp_path / "odd")
    good = tmp_path / "good photo.png"
    make_content((40, 30)).save(good)
    assert window.content_pane.load_path(good)
    before = window.content_pane.loaded
    for name in GUI_CASES:
        path, expect = files[name]
        t0 = time.perf_counter()
        assert not window.content_pane.load_path(path)
        assert time.perf_counter() - t0 < VERDICT_LIMIT_S
        shown = window.content_pane.message.text()
        assert window.content_pane.message.isVisible()
        assert str(path) in shown and expect in shown, shown
        assert str(path) in window.statusBar().currentMessage()
        assert window.content_pane.loaded is before  # the previous image stays
        assert window.content_pane.info.text().startswith("good photo.png")
    # A good file afterwards still loads and clears the message: the window is usable.
    assert window.content_pane.load_path(files["Ünïcødé naïve 写真 with spaces.png"][0])
    assert not window.content_pane.message.isVisible()

"""Image input and output on real files: every pixel mode, EXIF rotation, ICC profiles,
broken and hostile files, metadata round trips and safe saving."""

from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from nst_desktop.engine.errors import ImageError
from nst_desktop.engine.image import images
from nst_desktop.engine.image.images import load_image, read_metadata, save_image


def _write(path: Path, img: Image.Image, fmt: str | None = None, **kwargs) -> Path:
    img.save(path, fmt, **kwargs)
    return path


def _close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 3) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


# --- pixel modes -------------------------------------------------------------------------


def test_rgb_png_loads_unchanged(tmp_path: Path) -> None:
    src = Image.new("RGB", (7, 5), (10, 200, 30))
    src.putpixel((3, 2), (250, 1, 128))
    out = load_image(_write(tmp_path / "a.png", src))
    assert out.mode == "RGB" and out.size == (7, 5)
    assert out.tobytes() == src.tobytes()


def test_grayscale_l(tmp_path: Path) -> None:
    src = Image.new("L", (6, 4), 77)
    out = load_image(_write(tmp_path / "l.png", src))
    assert out.mode == "RGB" and out.size == (6, 4)
    assert out.getpixel((0, 0)) == (77, 77, 77)


def test_grayscale_with_alpha_la_composited_on_white(tmp_path: Path) -> None:
    src = Image.new("LA", (4, 4), (0, 255))
    src.putpixel((1, 1), (0, 0))  # fully transparent black
    src.putpixel((2, 2), (0, 128))  # half transparent black
    out = load_image(_write(tmp_path / "la.png", src))
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (0, 0, 0)
    assert out.getpixel((1, 1)) == (255, 255, 255)
    assert _close(out.getpixel((2, 2)), (127, 127, 127), 2)


def test_palette_with_transparency(tmp_path: Path) -> None:
    src = Image.new("P", (4, 4), 0)
    src.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255])
    src.putpixel((1, 1), 1)
    src.putpixel((2, 2), 2)
    for name in ("p.png", "p.gif"):
        out = load_image(_write(tmp_path / name, src, transparency=0))
        assert out.mode == "RGB"
        assert out.getpixel((0, 0)) == (255, 255, 255), name  # the transparent index becomes white
        assert out.getpixel((1, 1)) == (255, 0, 0), name
        assert out.getpixel((2, 2)) == (0, 0, 255), name


def test_palette_without_transparency(tmp_path: Path) -> None:
    src = Image.new("P", (4, 4), 1)
    src.putpalette([0, 0, 0, 12, 34, 56])
    out = load_image(_write(tmp_path / "p.png", src))
    assert out.getpixel((0, 0)) == (12, 34, 56)


def test_rgba_transparent_pixel_becomes_white(tmp_path: Path) -> None:
    src = Image.new("RGBA", (5, 5), (200, 10, 10, 255))
    src.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black: must become white, not black
    src.putpixel((1, 0), (0, 0, 255, 128))  # half-transparent blue over white
    for name in ("rgba.png", "rgba.webp", "rgba.tif"):
        kwargs = {"lossless": True} if name.endswith(".webp") else {}
        out = load_image(_write(tmp_path / name, src, **kwargs))
        assert out.mode == "RGB", name
        assert out.getpixel((0, 0)) == (255, 255, 255), name
        assert out.getpixel((2, 2)) == (200, 10, 10), name
        assert _close(out.getpixel((1, 0)), (127, 127, 255), 2), name


def test_cmyk_jpeg_and_tiff(tmp_path: Path) -> None:
    src = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    for name in ("cmyk.jpg", "cmyk.tif"):
        out = load_image(_write(tmp_path / name, src))
        assert out.mode == "RGB" and out.size == (8, 8)
        assert _close(out.getpixel((4, 4)), (255, 0, 0), 6), (name, out.getpixel((4, 4)))


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_grayscale(tmp_path: Path, mode: str) -> None:
    """16-bit files (PNG, and TIFF in either byte order) are scaled to 8 bits, not clipped."""
    src = Image.new(mode, (8, 4), 0)
    src.putpixel((0, 0), 65535)
    src.putpixel((1, 0), 257 * 100)
    src.putpixel((2, 0), 200)  # dark in 16 bits: must stay almost black, not become 200/255
    paths = [_write(tmp_path / "g16.tif", src)]
    if mode == "I;16":
        paths.append(_write(tmp_path / "g16.png", src))
    for p in paths:
        assert Image.open(p).mode.startswith("I"), "the test file should really be 16-bit"
        out = load_image(p)
        assert out.mode == "RGB", p
        assert out.getpixel((0, 0)) == (255, 255, 255), p
        assert out.getpixel((1, 0)) == (100, 100, 100), p
        assert out.getpixel((2, 0))[0] <= 1, p
        assert out.getpixel((3, 0)) == (0, 0, 0), p


def test_32_bit_integer_grayscale(tmp_path: Path) -> None:
    src = Image.new("I", (4, 4), 0)
    src.putpixel((0, 0), 65535)
    out = load_image(_write(tmp_path / "i32.tif", src))
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 1)) == (0, 0, 0)


def test_one_bit(tmp_path: Path) -> None:
    src = Image.new("1", (8, 8), 0)
    src.putpixel((3, 3), 1)
    for name in ("bw.png", "bw.tif", "bw.bmp"):
        out = load_image(_write(tmp_path / name, src))
        assert out.mode == "RGB"
        assert out.getpixel((0, 0)) == (0, 0, 0), name
        assert out.getpixel((3, 3)) == (255, 255, 255), name


def test_first_frame_of_animated_gif(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 6), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(p), "n_frames", 1) == 3
    out = load_image(p)
    assert out.size == (8, 6)
    assert out.getpixel((4, 3)) == (255, 0, 0)


def test_first_page_of_multipage_tiff(tmp_path: Path) -> None:
    pages = [Image.new("RGB", (6, 6), c) for c in ((1, 2, 3), (200, 200, 200))]
    p = tmp_path / "pages.tif"
    pages[0].save(p, save_all=True, append_images=pages[1:])
    assert load_image(p).getpixel((0, 0)) == (1, 2, 3)


# --- EXIF orientation ----------------------------------------------------------------------


@pytest.mark.parametrize("orientation,expect_swap", [(1, False), (3, False), (6, True), (8, True)])
def test_exif_orientation_applied(tmp_path: Path, orientation: int, expect_swap: bool) -> None:
    src = Image.new("RGB", (40, 20), (0, 0, 255))
    src.paste((255, 0, 0), (0, 0, 10, 10))  # a red mark in the top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = _write(tmp_path / "rot.jpg", src, exif=exif.tobytes(), quality=95)
    out = load_image(p)
    assert out.size == ((20, 40) if expect_swap else (40, 20))
    # Where the red mark ends up proves the direction of the rotation.
    corner = {1: (2, 2), 3: (37, 17), 6: (17, 2), 8: (2, 37)}[orientation]
    r, g, b = out.getpixel(corner)
    assert r > 200 and b < 60, (orientation, out.getpixel(corner))


# --- ICC profiles ------------------------------------------------------------------------


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _tag_xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _tag_curve(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _tag_desc(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + struct.pack(">II", 0, 0) + b"\0\0\0" + b"\0" * 67


def rgb_icc_profile(gamma: float, description: str = "test RGB") -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile: sRGB primaries, a pure-gamma tone curve."""
    d50 = (0.9642, 1.0, 0.8249)
    tags = [
        (b"desc", _tag_desc(description)),
        (b"wtpt", _tag_xyz(*d50)),
        (b"rXYZ", _tag_xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", _tag_xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _tag_xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", _tag_curve(gamma)),
        (b"gTRC", _tag_curve(gamma)),
        (b"bTRC", _tag_curve(gamma)),
        (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr" + b"RGB " + b"XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + b"\0" * 4
        + _s15(d50[0]) + _s15(d50[1]) + _s15(d50[2]) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_handmade_icc_profile_is_valid() -> None:
    prof = ImageCms.ImageCmsProfile(io.BytesIO(rgb_icc_profile(1.0, "linear")))
    assert "linear" in ImageCms.getProfileDescription(prof)


def test_non_srgb_icc_profile_is_converted(tmp_path: Path) -> None:
    """A pixel of 128 in a linear-light (gamma 1.0) RGB file is ~188 in sRGB."""
    src = Image.new("RGB", (4, 4), (128, 128, 128))
    for name in ("lin.png", "lin.jpg", "lin.tif"):
        kwargs = {"quality": 100} if name.endswith(".jpg") else {}
        p = _write(tmp_path / name, src, icc_profile=rgb_icc_profile(1.0), **kwargs)
        assert Image.open(p).info.get("icc_profile")
        out = load_image(p)
        r, g, b = out.getpixel((1, 1))
        assert 180 <= r <= 196 and abs(r - g) <= 2 and abs(r - b) <= 2, (name, out.getpixel((1, 1)))


def test_non_srgb_icc_profile_with_alpha_keeps_alpha(tmp_path: Path) -> None:
    src = Image.new("RGBA", (4, 4), (128, 128, 128, 255))
    src.putpixel((0, 0), (0, 0, 0, 0))
    out = load_image(_write(tmp_path / "lin.png", src, icc_profile=rgb_icc_profile(1.0)))
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert 180 <= out.getpixel((2, 2))[0] <= 196


def test_srgb_icc_profile_keeps_pixels(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = Image.new("RGB", (4, 4), (200, 100, 50))
    for name in ("s.png", "s.jpg"):
        kwargs = {"quality": 100, "subsampling": 0} if name.endswith(".jpg") else {}
        out = load_image(_write(tmp_path / name, src, icc_profile=srgb, **kwargs))
        assert _close(out.getpixel((1, 1)), (200, 100, 50), 3), (name, out.getpixel((1, 1)))


@pytest.mark.parametrize(
    "profile",
    [b"this is not an ICC profile" * 8, b"\0" * 200, ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()],
    ids=["text", "zeros", "lab-profile-on-rgb"],
)
def test_bogus_or_mismatched_icc_profile_is_tolerated(tmp_path: Path, profile: bytes) -> None:
    src = Image.new("RGB", (4, 4), (200, 100, 50))
    out = load_image(_write(tmp_path / "bogus.png", src, icc_profile=profile))
    assert out.getpixel((1, 1)) == (200, 100, 50)


# --- files that are not (good) images ----------------------------------------------------------


def _assert_names(exc: pytest.ExceptionInfo[ImageError], path: Path) -> None:
    assert str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_text_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "notes.png"
    p.write_text("this is a text file, not a picture\n")
    with pytest.raises(ImageError, match="not an image") as exc:
        load_image(p)
    _assert_names(exc, p)


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty") as exc:
        load_image(p)
    _assert_names(exc, p)


def test_directory(tmp_path: Path) -> None:
    d = tmp_path / "folder.png"
    d.mkdir()
    with pytest.raises(ImageError, match="folder") as exc:
        load_image(d)
    _assert_names(exc, d)


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nowhere.png"
    with pytest.raises(ImageError, match="does not exist") as exc:
        load_image(p)
    _assert_names(exc, p)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    p = _write(tmp_path / "secret.png", Image.new("RGB", (4, 4)))
    p.chmod(0)
    try:
        with pytest.raises(ImageError, match="permission") as exc:
            load_image(p)
        _assert_names(exc, p)
    finally:
        p.chmod(0o600)


def test_truncated_jpeg(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jpg", Image.effect_noise((64, 64), 60).convert("RGB"), quality=90)
    data = good.read_bytes()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated") as exc:
        load_image(p)
    _assert_names(exc, p)


def test_truncated_png(tmp_path: Path) -> None:
    data = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(data, "PNG")
    p = tmp_path / "cut.png"
    p.write_bytes(data.getvalue()[:-400])
    with pytest.raises(ImageError) as exc:
        load_image(p)
    _assert_names(exc, p)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(60_000, 60_000))  # 3.6 gigapixels declared in a 100-byte file
    with pytest.raises(ImageError, match="too large") as exc:
        load_image(p)
    _assert_names(exc, p)


def test_max_pixels_limit(tmp_path: Path) -> None:
    p = _write(tmp_path / "big.png", Image.new("RGB", (100, 80)))
    with pytest.raises(ImageError, match="100x80") as exc:
        load_image(p, max_pixels=5000)
    assert "5000 pixels" in str(exc.value)  # the limit is stated, not rounded down to "0 megapixels"
    assert load_image(p, max_pixels=8000).size == (100, 80)


def test_engine_limit_not_pillows_global_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's own (global, ~89 MP) bomb warning must not refuse images under MAX_INPUT_PIXELS."""
    p = _write(tmp_path / "ok.png", Image.new("RGB", (100, 100), (1, 2, 3)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # Pillow now warns of a "bomb" at 10 000 px
    assert load_image(p).getpixel((0, 0)) == (1, 2, 3)


def test_decode_image_names_its_source() -> None:
    with pytest.raises(ImageError, match="pasted image"):
        images.decode_image(b"garbage bytes", name="pasted image")


# --- metadata round trip ------------------------------------------------------------------------

METADATA = {
    "program": "NST Desktop",
    "params": {"size": 64, "style_strength": 1.5, "seed": 12345, "init": "café/über.png", "coarse_to_fine": True},
    "nested": [1, 2.5, None, "x"],
}


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".PNG"])
def test_metadata_round_trip(tmp_path: Path, ext: str) -> None:
    img = Image.new("RGB", (24, 16), (90, 120, 200))
    p = save_image(img, tmp_path / f"out{ext}", METADATA)
    assert p == tmp_path / f"out{ext}"
    known = {k: v for k, v in METADATA.items() if k != "nested"}  # keys the app does not write are left out
    assert read_metadata(p) == known
    back = load_image(p)
    assert back.size == (24, 16)
    assert _close(back.getpixel((5, 5)), (90, 120, 200), 4)
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_no_metadata_reads_as_none(tmp_path: Path, ext: str) -> None:
    p = save_image(Image.new("RGB", (8, 8)), tmp_path / f"plain{ext}")
    assert read_metadata(p) is None


def test_png_is_lossless_and_jpeg_is_high_quality(tmp_path: Path) -> None:
    img = Image.effect_noise((32, 32), 40).convert("RGB")
    assert load_image(save_image(img, tmp_path / "x.png")).tobytes() == img.tobytes()
    jpg = load_image(save_image(img, tmp_path / "x.jpg"))
    diff = sum(abs(a - b) for a, b in zip(jpg.tobytes(), img.tobytes())) / len(img.tobytes())
    assert diff < 6


def test_read_metadata_of_foreign_file(tmp_path: Path) -> None:
    p = tmp_path / "foreign.jpg"
    exif = Image.Exif()
    exif[0x010E] = "a holiday photo"  # ImageDescription that is not our JSON
    Image.new("RGB", (8, 8)).save(p, exif=exif.tobytes())
    assert read_metadata(p) is None


def test_read_metadata_of_non_image(tmp_path: Path) -> None:
    p = tmp_path / "x.png"
    p.write_text("nope")
    with pytest.raises(ImageError) as exc:
        read_metadata(p)
    assert str(p) in str(exc.value)
    with pytest.raises(ImageError):
        read_metadata(tmp_path / "missing.png")


def test_saved_file_gets_normal_permissions(tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    p = save_image(Image.new("RGB", (4, 4)), tmp_path / "perm.png")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    p.chmod(0o640)
    save_image(Image.new("RGB", (4, 4)), p)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640  # an overwritten file keeps its permissions


def test_save_converts_any_mode(tmp_path: Path) -> None:
    p = save_image(Image.new("RGBA", (4, 4), (1, 2, 3, 0)), tmp_path / "x.jpg")
    assert Image.open(p).mode == "RGB"


# --- safe saving -------------------------------------------------------------------------------


def _existing(tmp_path: Path) -> tuple[Path, bytes]:
    p = tmp_path / "keep.png"
    Image.new("RGB", (10, 10), (1, 2, 3)).save(p)
    return p, p.read_bytes()


def test_failed_encode_keeps_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, before = _existing(tmp_path)

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageError, match="No space left") as exc:
        save_image(Image.new("RGB", (10, 10), (200, 0, 0)), p, {"a": 1})
    assert str(p) in str(exc.value)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.png"]  # no .part left behind


def test_failed_rename_keeps_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, before = _existing(tmp_path)

    def broken_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(images.os, "replace", broken_replace)
    with pytest.raises(ImageError, match="Input/output error"):
        save_image(Image.new("RGB", (10, 10), (200, 0, 0)), p)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.png"]


def test_interrupted_save_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, before = _existing(tmp_path)

    def interrupted(self, fp, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_image(Image.new("RGB", (10, 10)), p)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.png"]


def test_save_overwrites_existing_file(tmp_path: Path) -> None:
    p, before = _existing(tmp_path)
    save_image(Image.new("RGB", (10, 10), (200, 0, 0)), p)
    assert p.read_bytes() != before
    assert load_image(p).getpixel((0, 0)) == (200, 0, 0)


def test_save_into_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "out.png"
    with pytest.raises(ImageError) as exc:
        save_image(Image.new("RGB", (4, 4)), target)
    assert str(target) in str(exc.value)
    assert "does not exist" in str(exc.value)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("name", ["out.bmp", "out.gif", "out", "out.png.txt"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(ImageError, match="unknown image type") as exc:
        save_image(Image.new("RGB", (4, 4)), tmp_path / name)
    assert ".png" in str(exc.value) and ".jpg" in str(exc.value)
    assert not list(tmp_path.iterdir())


def test_save_onto_a_folder(tmp_path: Path) -> None:
    d = tmp_path / "taken.png"
    d.mkdir()
    with pytest.raises(ImageError) as exc:
        save_image(Image.new("RGB", (4, 4)), d)
    assert str(d) in str(exc.value)
    assert d.is_dir()
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_save_into_read_only_folder(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        with pytest.raises(ImageError, match="permission denied"):
            save_image(Image.new("RGB", (4, 4)), d / "x.png")
    finally:
        d.chmod(0o700)


# --- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hw,long_side,expected",
    [((64, 96), 90, (60, 90)), ((96, 64), 90, (90, 60)), ((50, 50), 32, (32, 32)), ((1, 1000), 100, (1, 100))],
)
def test_scaled_size(hw: tuple[int, int], long_side: int, expected: tuple[int, int]) -> None:
    assert images.scaled_size(hw, long_side) == expected


def test_resize_long_side_keeps_aspect() -> None:
    out = images.resize_long_side(Image.new("RGB", (96, 64)), 90)
    assert out.size == (90, 60)


def test_tensor_round_trip() -> None:
    img = Image.effect_noise((9, 7), 50).convert("RGB")
    t = images.pil_to_tensor(img)
    assert tuple(t.shape) == (1, 3, 7, 9)
    assert float(t.min()) >= 0 and float(t.max()) <= 1
    assert images.tensor_to_pil(t).tobytes() == img.tobytes()
    assert images.tensor_to_pil(t[0] * 3 - 1).size == (9, 7)  # out-of-range values are clamped

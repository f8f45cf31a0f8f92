"""Files from strangers (issue 31, items 1-3): a hostile-file corpus made here, run through every way a
file's content or metadata enters the app: ``load_image``, ``read_metadata``, ``nst-desktop-cli info``,
``--masks-from``, Open Settings from Image's service (``read_plan``) and batch planning.

Every case must end in one clear line (the app's error, naming the file) or a correct result: never a
traceback, a hang, a program started (Ghostscript), or a write outside the case's folder. The fixed
corpus (:data:`CASES`) names each hostile kind; the hypothesis tests draw 5,000 more (raw bytes, stored
settings, file names). No test here runs the network.

    QT_QPA_PLATFORM=offscreen python -m pytest tests/robustness/test_hostile_files.py -q
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from nst_desktop import cli
from nst_desktop.cli.info import _cmd_info_image
from nst_desktop.cli.stylize import _stored_masks
from nst_desktop.engine import ImageError, StyleParams, load_image, read_metadata
from nst_desktop.engine.errors import quoted
from nst_desktop.engine.image import images as engine_images
from nst_desktop.engine.image.images import MAX_INPUT_BYTES, METADATA_KEY, check_image_file
from nst_desktop.engine.provenance import masks_to_metadata
from nst_desktop.services import batch as B
from nst_desktop.services.batch_run import read_meta
from nst_desktop.services.restore import CONTENT, read_plan

REPO = Path(__file__).resolve().parents[2]
EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
       b"newpath 0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n")
#: Scales the hypothesis cases of the three fuzz tests (2,500 + 2,000 + 500 = 5,000 at 1).
FUZZ_SCALE = float(os.environ.get("NST_HOSTILE_SCALE", "1"))


# ----------------------------------------------------------------------------- what no case may do
_EVENTS: list[tuple[str, tuple]] | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    if _EVENTS is None:
        return
    if event.startswith(("subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.fork", "socket.connect",
                         "ctypes.dlopen", "pickle.find_class")):
        _EVENTS.append((event, args))
    elif event == "open" and len(args) >= 3:
        mode, flags = args[1], args[2]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writes:
            _EVENTS.append((event, args))


sys.addaudithook(_audit)  # permanent, but records only inside watched()


@contextlib.contextmanager
def watched(allowed: Path):
    """Record programs started, connections, and files opened for writing; fail on any (writes inside
    ``allowed`` excepted)."""
    global _EVENTS
    _EVENTS = []
    try:
        yield
    finally:
        events, _EVENTS = _EVENTS, None
    bad = [(e, a) for e, a in events
           if e != "open" or not str(a[0]).startswith(str(allowed))]
    assert not bad, bad[:5]


# ----------------------------------------------------------------------------- the surfaces
def _one_line(message: str, path: Path) -> None:
    assert message.strip(), "an empty message"
    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert quoted(path.name)[1:-1] in message, (message, path.name)


def via_load(path: Path) -> str:
    try:
        img = load_image(path)
    except ImageError as exc:
        _one_line(str(exc), path)
        return "refused"
    assert img.mode == "RGB" and img.width > 0
    return "ok"


def via_metadata(path: Path) -> str:
    try:
        meta = read_metadata(path)
    except ImageError as exc:
        _one_line(str(exc), path)
        return "refused"
    assert meta is None or isinstance(meta, dict)
    if meta and isinstance(meta.get("params"), dict):
        StyleParams(**meta["params"]).validate()  # what comes back is what StyleParams takes
    return "ok"


def via_info(path: Path, whole_cli: bool = False) -> str:
    """``nst-desktop-cli info FILE``: the command's function (argparse costs 25 ms a case), or with
    ``whole_cli`` the whole command line."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["info", str(path)]) if whole_cli else _cmd_info_image(path)
    if rc == 0:
        assert not err.getvalue()
        assert all(ch.isprintable() for line in out.getvalue().splitlines() for ch in line)  # no escapes
        return "ok"
    assert rc == 1 and err.getvalue().startswith("nst-desktop-cli: error: ")
    _one_line(err.getvalue(), path)
    return "refused"


def via_masks_from(path: Path) -> str:
    try:
        regions = _stored_masks(path, 1)
    except (ImageError, ValueError) as exc:
        _one_line(str(exc), path)
        return "refused"
    masks = [*regions.get("masks", []), *([regions["keep_mask"]] if "keep_mask" in regions else [])]
    assert masks and all(m.mode == "L" and max(m.size) <= 512 for m in masks)
    return "ok"


def via_restore(path: Path) -> str:
    try:
        plan = read_plan(path)
    except ImageError as exc:
        _one_line(str(exc), path)
        return "refused"
    for offer in plan.offered:
        assert offer.path.is_absolute()
        check_image_file(offer.path)  # an image by the app's rules
        assert offer.index == CONTENT or 0 <= offer.index < 8
    assert all("\n" not in line for line in plan.missing)
    return "ok"


def via_batch(path: Path) -> str:
    """The hostile file sits at a batch item's output name: the plan goes on, and never overwrites it."""
    photo = path.parent / "batch-photo.png"
    if not photo.exists():
        Image.new("RGB", (8, 8), (200, 10, 10)).save(photo)
    item = B.BatchItem(photo, photo, StyleParams(size=64, steps=5))
    target = path.parent / item.output_name()
    os.replace(path, target)
    try:
        planned = B.assign_outputs([item], path.parent, read_meta)
    finally:
        os.replace(target, path)
    assert len(planned) == 1 and planned[0].output != target and not planned[0].done
    return "planned"


SURFACES: dict[str, Callable[[Path], str]] = {
    "load_image": via_load, "read_metadata": via_metadata, "info": via_info, "--masks-from": via_masks_from,
    "restore": via_restore, "batch": via_batch,
}


def run_all(path: Path) -> dict[str, str]:
    with watched(path.parent):
        return {name: run(path) for name, run in SURFACES.items()}


# ----------------------------------------------------------------------------- makers
def png_with(text: str | None, size: tuple[int, int] = (8, 8), compress: bool = False) -> bytes:
    buf = io.BytesIO()
    info = PngInfo()
    if text is not None:
        info.add_itxt(METADATA_KEY, text, zip=compress)
    Image.new("RGB", size, (30, 60, 90)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def exif_with(text: str, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 60, 90)).save(buf, format=fmt, exif=engine_images._exif_bytes(text))
    return buf.getvalue()


def png_header(width: int, height: int, mode: int = 0) -> bytes:
    """A PNG of ``width`` x ``height`` grey pixels whose data is a few zero rows (a bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def b64png(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


GOOD_MASK = b64png(Image.new("L", (16, 12), 255))
BIG_MASK = b64png(Image.new("L", (4096, 4096), 0))  # 4096² of zeros: ~20 KB of base64
BOMB_MASK = base64.b64encode(png_header(100_000, 100_000)).decode()


def meta(**fields: object) -> str:
    return json.dumps({"program": "NST Desktop", "params": {"size": 64, "seed": 1}, **fields})


def regions(n: int, data: list[str], keep: str | None = None) -> dict:
    return {"style_masks": n, "keep_mask": keep is not None, "encoding": "png-base64-L", "max_side": 512,
            "style_mask_data": data, "keep_mask_data": keep}


@dataclass(frozen=True)
class Case:
    """A hostile file: its name, how to make it (bytes, or a function making it at a path), and what
    the app does with it now ("refused" by load_image, or read as an image)."""

    kind: str
    name: str
    make: bytes | Callable[[Path], None]
    loads: bool = False


def _sparse(size: int) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        with p.open("wb") as f:
            f.truncate(size)
    return make


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _folder(p: Path) -> None:
    p.mkdir()


def _deep(depth: int) -> str:
    return '{"params": ' + "[" * depth + "]" * depth + "}"


CASES: list[Case] = [
    Case("PostScript named .jpg", "photo.jpg", EPS),
    Case("binary EPS named .png", "photo.png", b"\xc5\xd0\xd3\xc6" + b"\0" * 28 + EPS),
    Case("PDF named .jpg", "doc.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    Case("SVG with an external reference named .png", "art.png",
         b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>'),
    Case("text named .jpg", "notes.jpg", b"hello, this is not a picture\n"),
    Case("ICO (a Pillow format the app does not open)", "icon.png", b"\0\0\1\0" + b"\0" * 60),
    Case("empty file", "empty.png", b""),
    Case("truncated PNG", "cut.png", png_with(meta())[:60]),
    Case("truncated JPEG", "cut.jpg", exif_with(meta(), "JPEG")[:200]),
    Case("PNG named .jpg (wrong extension)", "really-png.jpg", png_with(meta()), loads=True),
    Case("decompression bomb header", "bomb.png", png_header(100_000, 100_000)),
    Case("Pillow text-chunk limit (1.2 MB zTXt)", "chunk.png", png_with(meta(x="a" * 1_200_000), compress=True)),
    Case("metadata over the app's limit (600 KB)", "large-meta.png", png_with(meta(x="a" * 600_000)), loads=True),
    Case("deep JSON (100,000 levels)", "deep.png", png_with(_deep(100_000)), loads=True),
    Case("deep JSON (60 levels)", "deep60.png", png_with(_deep(60)), loads=True),
    Case("int of 5,000 digits", "digits.png", png_with(meta(steps_done=int("9" * 4000))[:-1] + "9" * 1000 + "}"),
         loads=True),
    Case("NaN and Infinity", "nan.png", png_with('{"params": {"style_strength": NaN}, "elapsed_s": Infinity}'),
         loads=True),
    Case("params out of range", "range.png", png_with(json.dumps({"params": {"size": 10**12, "steps": -5}})),
         loads=True),
    Case("params of the wrong type", "types.png", png_with(json.dumps({"params": {"size": "big", "seed": 1.5}})),
         loads=True),
    Case("params not a choice", "choice.png", png_with(json.dumps({"params": {"optimizer": "rm -rf /"}})),
         loads=True),
    Case("64 masks of 4096² (the old limit)", "masks64.png", png_with(meta(regions=regions(64, [BIG_MASK] * 64))),
         loads=True),
    Case("one 4096² mask", "mask4096.png", png_with(meta(regions=regions(1, [BIG_MASK]))), loads=True),
    Case("a mask bomb header", "maskbomb.png", png_with(meta(regions=regions(1, [BOMB_MASK]))), loads=True),
    Case("mask count 10^12", "count.png", png_with(meta(regions=regions(10**12, []))), loads=True),
    Case("EXIF settings with terminal escapes (JPEG)", "esc.jpg",
         exif_with(meta(weights_name="\x1b]0;pwned\x07\x1b[2J", inputs={"content": "\x1b[31mred"}), "JPEG"),
         loads=True),
    Case("TIFF with deep JSON", "deep.tif", exif_with(_deep(5000), "TIFF"), loads=True),
    Case("WebP with a huge count", "count.webp", exif_with(meta(regions=regions(10**9, [])), "WEBP"), loads=True),
    Case("inputs naming /etc/passwd, /dev/zero, ../ and the current folder", "paths.png",
         png_with(meta(inputs={"content": "/dev/zero", "styles": ["/etc/passwd", "../../etc/passwd", "photo.jpg",
                                                                    "sub/x.png", "a\0b", 42, "x" * 5000]})),
         loads=True),
    Case("20 GB sparse file", "huge.png", _sparse(20 * 1024**3)),
    Case("a file just over the byte limit", "over.jpg", _sparse(MAX_INPUT_BYTES + 1)),
    Case("FIFO named .jpg (reading it would hang)", "pipe.jpg", _fifo),
    Case("folder named .png", "folder.png", _folder),
    Case("newline and escape in the name", "new\nline\x1b[31m.png", png_with(meta()), loads=True),
    Case("undecodable bytes in the name", os.fsdecode(b"caf\xe9-\xff.png"), png_with(meta()), loads=True),
    Case("255-byte name", "n" * 251 + ".png", png_with(meta()), loads=True),
    Case("name starting with a dash", "--help.png", png_with(meta()), loads=True),
]


def make_case(case: Case, folder: Path) -> Path:
    p = folder / case.name
    if callable(case.make):
        case.make(p)
    else:
        p.write_bytes(case.make)
    return p


# ----------------------------------------------------------------------------- the fixed corpus
@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_hostile_file_ends_in_one_line_or_a_correct_result(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    path = make_case(case, folder)
    if case.make in (_folder,):
        # a folder cannot stand at a batch output name: the other surfaces only
        with watched(folder):
            outcomes = {n: f(path) for n, f in SURFACES.items() if n != "batch"}
    else:
        t0 = time.perf_counter()
        outcomes = run_all(path)
        assert time.perf_counter() - t0 < 20, "a hostile file took too long"
    assert outcomes["load_image"] == ("ok" if case.loads else "refused"), outcomes
    with watched(folder):
        assert via_info(path, whole_cli=True) == outcomes["info"]
    assert sorted(p.name for p in folder.iterdir() if p.name != "batch-photo.png") == [case.name]


def test_postscript_named_jpg_names_what_it_is(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg"
    p.write_bytes(EPS)
    with pytest.raises(ImageError) as err:
        load_image(p)
    assert str(err.value) == (f"'{p}' is a PostScript file, not an image NST Desktop opens "
                              "(JPEG, PNG, WebP, TIFF, BMP, GIF).")


def test_ghostscript_is_never_started(tmp_path: Path) -> None:
    """A fake ``gs`` first on PATH writes a marker if anything starts it. A fresh process (Pillow looks for gs
    once per process) opens a PostScript file named .jpg every way the app can, the CLI's ``info`` too."""
    bin_dir, marker = tmp_path / "bin", tmp_path / "GHOSTSCRIPT-RAN"
    bin_dir.mkdir()
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\necho \"$@\" > '{marker}'\nexit 1\n")
    gs.chmod(0o755)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(EPS)
    script = f"""
import sys
from pathlib import Path
from nst_desktop.engine import ImageError, load_image, read_metadata
from nst_desktop.engine.image.images import check_image_file, decode_image
from nst_desktop.services.batch import expand_inputs
from nst_desktop.services.restore import read_plan
p = Path({str(photo)!r})
for f in (load_image, read_metadata, check_image_file, read_plan, lambda q: decode_image(q.read_bytes(), str(q))):
    try:
        f(p)
        print("read")
    except ImageError as exc:
        print(exc)
from nst_desktop import cli
from nst_desktop.cli.info import _cmd_info_image
from nst_desktop.cli.stylize import _stored_masks
sys.exit(cli.main(["info", str(p)]))
"""
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert not marker.exists(), "Ghostscript was started"
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and all("is a PostScript file, not an image NST Desktop opens" in line for line in lines)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "PostScript" in done.stderr


def test_a_huge_sparse_file_is_refused_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "huge.png"
    with p.open("wb") as f:
        f.truncate(20 * 1024**3)
    for f in (load_image, read_metadata, check_image_file):
        with pytest.raises(ImageError, match=r"is too large: 21,475 MB \(the limit is 1,074 MB\)"):
            f(p)


def test_masks_are_counted_before_any_decoding(tmp_path: Path) -> None:
    """64 masks of 4096² were accepted (1.4 MB of metadata, 1.1 GB and 7 s); now at most 8 of 512 px."""
    p = tmp_path / "masks.png"
    p.write_bytes(png_with(meta(regions=regions(9, [GOOD_MASK] * 9))))
    t0 = time.perf_counter()
    with pytest.raises(ImageError, match=r"regions.style_mask_data holds 9 entries \(at most 8\)"):
        _stored_masks(p, 9)
    assert time.perf_counter() - t0 < 1.0
    p.write_bytes(png_with(meta(regions=regions(1, [BIG_MASK]))))
    with pytest.raises(ValueError, match="4096x4096 px is outside the limits"):
        _stored_masks(p, 1)
    ok = masks_to_metadata([Image.new("L", (700, 500), 255)] * 8, Image.new("L", (700, 500), 0))
    p.write_bytes(png_with(meta(regions=ok)))  # what the app writes: 8 masks and a keep mask, 512 px
    regions_back = _stored_masks(p, 8)
    assert len(regions_back["masks"]) == 8 and regions_back["masks"][0].size == (512, 366)  # type: ignore[arg-type]


def test_masks_from_refuses_a_hostile_file_before_the_run(tmp_path: Path, image_files) -> None:
    content, style = image_files
    bad = tmp_path / "result.png"
    bad.write_bytes(png_with(_deep(100_000)))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli.main(["stylize", str(content), str(style), "-o", str(tmp_path / "out.png"), "--size", "32",
                       "--steps", "1", "--masks-from", str(bad), "--quiet"])
    assert rc == 1 and err.getvalue().count("\n") == 1 and "nested 100001 deep" in err.getvalue()
    assert not (tmp_path / "out.png").exists()


def test_batch_planning_goes_on_past_a_crafted_file_at_an_output_name(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(photo)
    item = B.BatchItem(photo, photo, StyleParams(size=64, steps=5))
    out = tmp_path / "out"
    out.mkdir()
    crafted = out / item.output_name()
    crafted.write_bytes(png_with(_deep(100_000)))
    planned = B.assign_outputs([item], out, read_meta)
    assert [p.output.name for p in planned] == [item.output_name("") + "-2.png"]
    assert crafted.read_bytes() == png_with(_deep(100_000))


# ----------------------------------------------------------------------------- fuzz: raw bytes
_MAGICS = [b"", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n", b"\xc5\xd0\xd3\xc6", b"%PDF-1.4\n",
           b"<svg ", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\0", b"MM\0*",
           b"RIFF\0\0\0\0WEBP", b"\0\0\1\0", b"8BPS", b"P6\n8 8\n255\n", b"\x00\x00\x00\x0cjP  ", b"PK\3\4"]
_VALID = [png_with(meta()), exif_with(meta(), "JPEG"), exif_with(meta(), "WEBP"), exif_with(meta(), "TIFF"),
          png_with(None, (3, 2))]
_EXTS = [".jpg", ".png", ".webp", ".tif", ".bmp", ".gif", ".eps", ".JPG", "", ".txt"]
_counter = iter(range(10**9))


@st.composite
def raw_files(draw: st.DrawFn) -> bytes:
    how = draw(st.integers(0, 2))
    if how == 0:  # a magic number and random bytes
        return draw(st.sampled_from(_MAGICS)) + draw(st.binary(max_size=200))
    data = bytearray(draw(st.sampled_from(_VALID)))
    if how == 1:  # a valid file, damaged in a few bytes
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    return bytes(data[:draw(st.integers(0, len(data)))])  # truncated


def _case_folder(root: Path) -> Path:
    folder = root / f"c{next(_counter)}"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


_FUZZ = dict(deadline=None, database=None, derandomize=True,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                    HealthCheck.data_too_large])


@settings(max_examples=int(2500 * FUZZ_SCALE), **_FUZZ)
@given(data=raw_files(), ext=st.sampled_from(_EXTS))
def test_fuzz_raw_bytes(fuzz_root: Path, data: bytes, ext: str) -> None:
    folder = _case_folder(fuzz_root)
    path = folder / f"file{ext}"
    path.write_bytes(data)
    with watched(folder):
        via_load(path)
        via_metadata(path)
        via_info(path)
    path.unlink()


# ----------------------------------------------------------------------------- fuzz: stored settings
_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
#: Values of the wrong shape (drawn from a list: a recursive strategy costs 30 ms a case to draw).
_SHAPES = [[], {}, [1, [2, [3, [4]]]], {"a": {"b": {"c": None}}}, [None] * 20, {"": []}, {"size": 64}, [1.5, "x"],
           {"style_masks": 2}, {"content": "/etc/passwd"}, 1e308, -(2**63), "", "\x1b[2J"]
_json = st.one_of(_leaf, st.sampled_from(_SHAPES))
_PARAM_VALUES = {"size": [32, 64, 8192, 8193, 0, -1], "style_strength": [1.0, 0.001, 1e9], "steps": [0, 5, 10**6],
                 "optimizer": ["lbfgs", "adam", "x"], "init": ["palette", "/etc/passwd", ""],
                 "seed": [None, 0, 2**63, -1], "preserve_colors": ["none", "match", "bogus"],
                 "tile": [0, 64, 65, 10**5], "precision": ["auto", "fp64"], "seamless": [True, "yes"],
                 "leave_out_objects": [True, 1], "memory_limit_mb": [0, 2**40], "style_scale": [1.0, 10.0],
                 "tv_weight": [0.0, -1.0]}
_params = st.dictionaries(st.sampled_from([*_PARAM_VALUES, "bogus"]),
                          st.one_of(_leaf, st.sampled_from([v for vs in _PARAM_VALUES.values() for v in vs])),
                          max_size=6)
_MASKS = [GOOD_MASK, BIG_MASK, BOMB_MASK, "", "not base64!", base64.b64encode(b"hello").decode(),
          b64png(Image.new("RGB", (4, 4))), GOOD_MASK[:40], b64png(Image.new("L", (512, 512), 128))]
_mask = st.one_of(st.sampled_from(_MASKS), st.none(), st.integers())
_regions = st.fixed_dictionaries({}, optional={
    "style_masks": st.one_of(st.integers(-2, 70), st.sampled_from([10**12, True, "2"])),
    "keep_mask": st.one_of(st.booleans(), st.integers(-1, 3)),
    "encoding": st.sampled_from(["png-base64-L", "jpeg"]),
    "max_side": st.sampled_from([512, 4096, 0, 10**9]),
    "style_mask_data": st.one_of(st.none(), st.lists(_mask, max_size=10)),
    "keep_mask_data": _mask, "omitted": st.text(max_size=10)})
_PATHS = ["/etc/passwd", "/dev/zero", "../../etc/passwd", "photo.jpg", "ps.jpg", "sub/x.png", "a\0b", "", ".",
          "..", "x" * 5000, "/nonexistent/p.png", "good.png", "\x1b[31mred.png"]
_inputs = st.fixed_dictionaries({}, optional={
    "content": st.one_of(st.sampled_from(_PATHS), _leaf),
    "styles": st.one_of(st.lists(st.one_of(st.sampled_from(_PATHS), _leaf), max_size=10), _leaf)})
_meta = st.fixed_dictionaries({}, optional={
    "program": st.one_of(st.just("NST Desktop"), _leaf), "version": _leaf, "params": st.one_of(_params, _json),
    "regions": st.one_of(_regions, _json), "inputs": st.one_of(_inputs, _json),
    "style_weights": st.one_of(st.lists(_leaf, max_size=10), _leaf), "steps_done": _leaf, "elapsed_s": _leaf,
    "cancelled": _leaf, "sweep": _json, "tiles_used": _json, "other": _json})


@st.composite
def settings_texts(draw: st.DrawFn) -> str:
    text = json.dumps(draw(_meta))
    how = draw(st.integers(0, 5))
    if how == 1:  # nested deeper than the app writes
        depth = draw(st.integers(5, 3000))
        text = text[:-1] + (', "z": ' if len(text) > 2 else '"z": ') + "[" * depth + "]" * depth + "}"
    elif how == 2:  # a long number
        text = text[:-1] + (', "z": ' if len(text) > 2 else '"z": ') + "7" * draw(st.integers(20, 6000)) + "}"
    elif how == 3:  # cut anywhere
        text = text[:draw(st.integers(0, len(text)))]
    elif how == 4:  # NaN, Infinity
        text = text[:-1] + (", " if len(text) > 2 else "") + '"elapsed_s": ' + draw(
            st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"])) + "}"
    return text


@settings(max_examples=int(2000 * FUZZ_SCALE), **_FUZZ)
@given(text=settings_texts(), fmt=st.sampled_from(["PNG", "PNG", "PNG", "JPEG", "WEBP", "TIFF"]))
def test_fuzz_stored_settings(fuzz_root: Path, text: str, fmt: str) -> None:
    folder = _case_folder(fuzz_root)
    good = folder / "good.png"
    good.write_bytes(_VALID[4])
    (folder / "ps.jpg").write_bytes(EPS)
    ext = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif"}[fmt]
    path = folder / f"result{ext}"
    path.write_bytes(png_with(text) if fmt == "PNG" else exif_with(text, fmt))
    outcomes = run_all(path)
    assert outcomes["load_image"] == "ok"  # the pixels are fine: only the settings are hostile
    if outcomes["restore"] == "ok":
        for offer in read_plan(path).offered:  # only the image beside it, never ps.jpg, /dev/zero, ...
            assert offer.path == good


# ----------------------------------------------------------------------------- fuzz: file names
_name_chars = st.characters(codec="utf-8", exclude_characters="/\0")


@settings(max_examples=int(500 * FUZZ_SCALE), **_FUZZ)
@given(stem=st.text(_name_chars, min_size=1, max_size=60), ext=st.sampled_from(_EXTS),
       content=st.sampled_from([_VALID[0], EPS, b"", b"text"]))
def test_fuzz_file_names(fuzz_root: Path, stem: str, ext: str, content: bytes) -> None:
    folder = _case_folder(fuzz_root)
    name = stem + ext
    if name in (".", "..") or len(os.fsencode(name)) > 250:
        return
    path = folder / name
    path.write_bytes(content)
    outcomes = run_all(path)
    assert outcomes["load_image"] == ("ok" if content == _VALID[0] else "refused")


# ----------------------------------------------------------------------------- batch: names or paths
def test_batch_results_store_file_names_and_match_either_form(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(photo)
    params = StyleParams(size=64, steps=5)
    plain, = B.plan_items([photo], [photo], params, lambda q: 5)
    full, = B.plan_items([photo], [photo], params, lambda q: 5, keep_paths=True)
    assert plain.inputs() == {"content": "p.png", "styles": ["p.png"]}
    assert full.inputs() == {"content": str(photo.resolve()), "styles": [str(photo.resolve())]}
    for stored in (plain.inputs(), full.inputs()):  # a rerun recognises results of either setting
        meta = {"cancelled": False, "inputs": stored, "params": params.to_dict()}
        assert B.matches(meta, plain) and B.matches(meta, full)
    assert not B.matches({"cancelled": False, "inputs": {"content": "other.png", "styles": ["p.png"]},
                          "params": params.to_dict()}, plain)

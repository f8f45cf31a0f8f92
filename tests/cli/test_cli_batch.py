"""``nst-desktop-cli batch`` end to end with the real weights at 32-48 px: results, resume after SIGKILL,
sweeps with their contact sheet, failures and bad arguments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from nst_desktop import cli
from nst_desktop.engine import read_metadata
from tests.helpers import make_content, make_style

REPO = Path(__file__).resolve().parents[2]
QUICK = ["--size", "32", "--steps", "6", "--seed", "1", "--quiet"]


def _photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    base = make_content((48, 36))
    out = []
    for i in range(n):
        img = base.rotate(180) if i % 2 else base
        img = ImageOps.posterize(img, 2 + i) if i > 1 else img
        out.append(folder / f"photo{i}.png")
        img.save(out[-1])
    return out


def _paintings(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        out.append(folder / f"paint{i}.jpg")
        make_style((40, 40)).rotate(90 * i).save(out[-1], quality=95)
    return out


def _records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_batch_paints_every_pair_fails_a_bad_file_and_a_rerun_redoes_nothing(tmp_path, capsys) -> None:
    photos = _photos(tmp_path / "photos", 2)
    (tmp_path / "photos" / "broken.png").write_bytes(b"\x89PNG not really")
    _paintings(tmp_path / "paintings", 2)
    out = tmp_path / "out"
    rc = cli.main(["batch", str(tmp_path / "photos"), "--style", str(tmp_path / "paintings"), "-o", str(out),
                   "--json", *QUICK])
    cap = capsys.readouterr()
    assert rc == 1, cap.err
    failed = [line for line in cap.err.splitlines() if ": failed: " in line]
    assert len(failed) == 2
    assert all("broken.png" in line and "not an image NST Desktop opens" in line for line in failed)
    assert cap.err.strip().endswith("2 of 6 items failed")
    records = _records(cap.out)
    assert len(records) == 4 and not any(r["skipped"] for r in records)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["photo0-in-style-of-paint0.png", "photo0-in-style-of-paint1.png",
                     "photo1-in-style-of-paint0.png", "photo1-in-style-of-paint1.png"]
    meta = read_metadata(out / names[1])
    assert meta["inputs"] == {"content": "photo0.png", "styles": ["paint1.jpg"]}  # file names only by default
    assert meta["params"]["size"] == 32 and meta["params"]["steps"] == 6 and meta["cancelled"] is False
    assert all(set(r) >= {"input", "style", "output", "settings", "seconds"} for r in records)

    (tmp_path / "photos" / "broken.png").unlink()
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    rc = cli.main(["batch", str(tmp_path / "photos"), "--style", str(tmp_path / "paintings"), "-o", str(out),
                   "--json", *QUICK])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert [r["skipped"] for r in _records(cap.out)] == [True] * 4
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes

    # Other settings are other pictures: written beside, never over, the first ones.
    rc = cli.main(["batch", str(photos[0]), "--style", str(tmp_path / "paintings" / "paint0.jpg"), "-o", str(out),
                   *QUICK, "--style-strength", "3"])
    assert rc == 0
    assert (out / "photo0-in-style-of-paint0-2.png").is_file()
    assert out.joinpath("photo0-in-style-of-paint0.png").stat().st_mtime_ns == mtimes[names[0]]
    rc = cli.main(["batch", str(photos[0]), "--style", str(tmp_path / "paintings" / "paint0.jpg"), "-o", str(out),
                   *QUICK, "--force", "--json"])
    cap = capsys.readouterr()
    assert rc == 0 and [r["skipped"] for r in _records(cap.out)] == [False]
    assert out.joinpath("photo0-in-style-of-paint0.png").stat().st_mtime_ns != mtimes[names[0]]


@pytest.mark.slow
def test_a_sweep_of_three_strengths_by_two_brush_scales_is_a_3x2_sheet_of_its_results(tmp_path, capsys) -> None:
    photo = _photos(tmp_path, 1)[0]
    painting = _paintings(tmp_path, 1)[0]
    out = tmp_path / "out"
    rc = cli.main(["batch", str(photo), "--style", str(painting), "-o", str(out), *QUICK,
                   "--sweep", "style-strength=0.5,1,2", "--sweep", "brush-scale=0.5,1", "--sheet", "sheet.png",
                   "--cell-size", "48"])
    assert rc == 0, capsys.readouterr().err
    sheet_meta = read_metadata(out / "sheet.png")["sheet"]
    assert sheet_meta["rows"] == ["style-strength 0.5", "style-strength 1", "style-strength 2"]
    assert sheet_meta["cols"] == ["style-scale 0.5", "style-scale 1"]
    assert len(sheet_meta["cells"]) == 6
    with Image.open(out / "sheet.png") as sheet_file:
        sheet = sheet_file.convert("RGB")
    for cell in sheet_meta["cells"]:
        result = Path(cell["output"])
        meta = read_metadata(result)
        strength = (0.5, 1.0, 2.0)[cell["row"]]
        scale = (0.5, 1.0)[cell["col"]]
        assert meta["params"]["style_strength"] == strength and meta["params"]["style_scale"] == scale
        assert meta["sweep"] == {"style-strength": strength, "style-scale": scale}
        assert result.name == f"photo0-in-style-of-paint0-style-strength-{strength:g}-style-scale-{scale:g}.png"
        with Image.open(result) as img:
            fitted = img.convert("RGB").resize((48, 36), Image.Resampling.LANCZOS)
        x0, y0, _, _ = cell["box"]
        crop = sheet.crop((x0, y0 + 6, x0 + 48, y0 + 42))  # 48 x 36 centred in the 48 px cell
        diff = ImageStat.Stat(ImageChops.difference(crop, fitted)).mean
        assert max(diff) < 2.0, (cell, diff)
    first = Image.open(sheet_meta["cells"][0]["output"]).convert("RGB")
    last = Image.open(sheet_meta["cells"][-1]["output"]).convert("RGB")
    assert max(ImageStat.Stat(ImageChops.difference(first, last)).mean) > 1.0  # the settings changed the picture


@pytest.mark.parametrize("argv, fragment", [
    (["--pairs"], "--pairs needs as many photos as paintings, not 2 and 1"),
    (["--sweep", "loudness=1,2"], "unknown setting 'loudness'"),
    (["--sweep", "style-strength=500"], "style strength must be between"),
    (["--sweep", "quality=fast,best", "--steps", "5"], "cannot be combined with --steps"),
    (["--sheet", "sheet.gif"], "unknown image type '.gif'"),
    (["--cell-size", "5"], "--cell-size must be between"),
    (["--init", "nowhere.png"], "--init must be one of"),
    (["--ray", "cluster"], "expected auto, HOST:PORT or ray://HOST:PORT"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, fragment) -> None:
    photos = _photos(tmp_path / "p", 2)
    painting = _paintings(tmp_path, 1)[0]
    assert _exit_code(["batch", *map(str, photos), "--style", str(painting), "-o", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / "o").exists()


def test_a_path_that_does_not_exist_is_a_bad_argument(tmp_path, capsys) -> None:
    painting = _paintings(tmp_path, 1)[0]
    rc = cli.main(["batch", str(tmp_path / "missing.jpg"), "--style", str(painting), str(tmp_path / "none"),
                   "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"photo '{tmp_path / 'missing.jpg'}': no such file or folder" in err
    assert f"painting '{tmp_path / 'none'}': no such file or folder" in err


def test_ray_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError, as where it is not installed
    photo = _photos(tmp_path, 1)[0]
    painting = _paintings(tmp_path, 1)[0]
    rc = cli.main(["batch", str(photo), "--style", str(painting), "-o", str(tmp_path / "o"), "--ray", "auto", *QUICK])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1] == "nst-desktop-cli batch: error: Ray is not installed; install it with: " \
                      "pip install 'nst-desktop[farm]'"


def _exit_code(argv: list[str]) -> int:
    """cli.main's status, whether it returns it or argparse exits with it."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code)


@pytest.mark.slow
def test_killed_half_way_a_rerun_redoes_nothing_finished_and_loses_nothing(tmp_path) -> None:
    """4 photos x 3 paintings; SIGKILL after about half the items are written; the rerun paints only the rest."""
    _photos(tmp_path / "photos", 4)
    _paintings(tmp_path / "paintings", 3)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "nst_desktop.cli", "batch", str(tmp_path / "photos"),
            "--style", str(tmp_path / "paintings"), "-o", str(out), "--json", *QUICK]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        seen = 0
        deadline = time.monotonic() + 240
        while seen < 6 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line.startswith("{")
        assert seen == 6, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert 6 <= len(finished) < 12
    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=240, cwd=REPO, env=env)
    assert rerun.returncode == 0, rerun.stderr
    records = _records(rerun.stdout)
    assert len(records) == 12
    assert sorted(Path(r["output"]).name for r in records if r["skipped"]) == sorted(finished)
    assert len([r for r in records if not r["skipped"]]) == 12 - len(finished)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png") if p.name in finished} == finished
    assert len(list(out.glob("*.png"))) == 12
    for p in out.glob("*.png"):
        assert read_metadata(p)["cancelled"] is False


def test_photos_with_names_too_long_for_their_results_are_painted(tmp_path, capsys) -> None:
    photos = [tmp_path / ("photo" * 47 + f"{'x' * 4}{k}.png") for k in (1, 2)]  # 244-byte names
    for photo in photos:
        make_content((40, 30)).save(photo)
    painting = tmp_path / "painting.png"
    make_style((40, 40)).save(painting)
    out = tmp_path / "out"
    rc = cli.main(["batch", *map(str, photos), "--style", str(painting), "-o", str(out), "--json", *QUICK])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    written = sorted(out.iterdir())
    assert len(written) == 2 and all(len(p.name.encode()) <= 255 for p in written)
    assert sorted(r["output"] for r in _records(cap.out)) == [str(p) for p in written]

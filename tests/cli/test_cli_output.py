"""The output of ``stylize``, ``batch`` and ``video``: never an input, checked before the run, and a
result whose save fails is kept elsewhere with a line that says where. Real file systems: a 64 KiB
tmpfs mounted read-only or filled up (mounting needs root; skipped otherwise)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_desktop import cli
from nst_desktop.engine import read_metadata
from nst_desktop.services.output_file import UNSAVED_FOLDER
from nst_desktop.services.paths import data_dir
from tests.helpers import make_content, make_style

QUICK = ["--steps", "2", "--seed", "1", "--quiet", "--device", "cpu"]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    files = {"photo": tmp_path / "photo.png", "painting": tmp_path / "painting.jpg", "mask": tmp_path / "mask.png"}
    make_content((64, 48)).save(files["photo"])
    make_style((48, 48)).save(files["painting"], quality=95)
    Image.new("L", (64, 48), 255).save(files["mask"])
    return files


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB file system (tmpfs) at ``tmp_path/disk``."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path, leave: int = 4096) -> None:
    """Fill ``disk`` up to ``leave`` free bytes (one page: room for the probe, not for a result)."""
    st = os.statvfs(disk)
    (disk / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - leave))


def _only_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_an_output_that_is_an_input_is_refused_with_one_line(inputs, tmp_path, capsys) -> None:
    photo, painting, mask = inputs["photo"], inputs["painting"], inputs["mask"]
    before = {p: p.read_bytes() for p in inputs.values()}
    os.link(photo, tmp_path / "linked.png")
    (tmp_path / "sub").mkdir()
    base = ["stylize", str(photo), str(painting), "--size", "32", *QUICK]
    cases = [(photo, "the photo"), (tmp_path / "sub" / ".." / "photo.png", "the photo"),
             (tmp_path / "linked.png", "the photo"), (mask, "a mask")]
    for output, what in cases:
        assert cli.main([*base, "--mask", str(mask), "-o", str(output)]) == 1
        assert f"is {what}: writing the result there would replace it" in _only_line(capsys.readouterr().err)
    painting_png = tmp_path / "painting.png"
    make_style((48, 48)).save(painting_png)
    before[painting_png] = painting_png.read_bytes()
    assert cli.main(["stylize", str(photo), str(painting_png), "--size", "32", *QUICK, "-o", str(painting_png)]) == 1
    assert "is a painting" in _only_line(capsys.readouterr().err)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a clip")
    before[clip] = clip.read_bytes()
    assert cli.main(["video", str(clip), str(painting), "-o", str(clip), "--size", "32", "--quiet"]) == 1
    assert "is the clip" in _only_line(capsys.readouterr().err)
    assert {p: p.read_bytes() for p in before} == before


def test_a_read_only_folder_is_refused_before_the_run(inputs, small_disk, capsys) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    out = small_disk / "out.png"
    assert cli.main(["stylize", str(inputs["photo"]), str(inputs["painting"]), "-o", str(out), "--size", "32",
                     *QUICK]) == 1
    assert _only_line(capsys.readouterr().err) == (
        f"nst-desktop-cli: error: cannot write into the folder '{small_disk}': Read-only file system")
    assert cli.main(["batch", str(inputs["photo"]), "--style", str(inputs["painting"]), "-o", str(small_disk),
                     "--size", "32", *QUICK]) == 2
    assert "cannot write into the folder" in _only_line(capsys.readouterr().err)


def test_a_full_disk_at_save_time_keeps_the_result_in_the_data_folder_and_says_where(inputs, small_disk,
                                                                                     capsys) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(inputs["photo"])  # a grainy photo: a result larger than the free page
    _fill(small_disk)
    out = small_disk / "out.png"
    assert cli.main(["stylize", str(inputs["photo"]), str(inputs["painting"]), "-o", str(out), "--size", "64",
                     *QUICK]) == 1
    kept = data_dir() / UNSAVED_FOLDER / "out.png"
    assert _only_line(capsys.readouterr().err) == (
        f"nst-desktop-cli: error: cannot save '{out}' (No space left on device); the result is kept as "
        f"'{kept}' instead")
    assert Image.open(kept).size == (64, 48) and read_metadata(kept)["params"]["size"] == 64
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no temporary file left

    # batch: the item fails with the same line, its result is kept, and the batch goes on
    rc = cli.main(["batch", str(inputs["photo"]), "--style", str(inputs["painting"]), "-o", str(small_disk),
                   "--size", "64", *QUICK])
    err = capsys.readouterr().err
    assert rc == 1
    kept = data_dir() / UNSAVED_FOLDER / "photo-in-style-of-painting.png"
    assert f"the result is kept as '{kept}' instead" in err
    assert read_metadata(kept)["inputs"]["content"] == inputs["photo"].name  # file names only by default

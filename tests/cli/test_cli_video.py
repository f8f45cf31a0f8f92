"""``nst-desktop-cli video``: a clip painted, resumed after a SIGKILL, bad inputs in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nst_desktop import cli
from nst_desktop.engine.video import deps as video_deps
from nst_desktop.engine.video import io as vio
from tests.helpers import make_style
from tests.video_helpers import audio_seconds, panning_frames, write_clip

pytest.importorskip("av")
pytest.importorskip("cv2")

REPO = Path(__file__).resolve().parents[2]
QUICK = ["--size", "48", "--steps", "6", "--every-frame-steps", "3", "--device", "cpu", "--quiet"]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    clip = write_clip(tmp_path / "clip.mp4", panning_frames(12, (32, 48), (1, 1)))
    painting = tmp_path / "painting.png"
    make_style((48, 48)).save(painting)
    return clip, painting


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_video_paints_the_clip(files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip, painting = files
    out = tmp_path / "out.mp4"
    assert cli.main(["video", str(clip), str(painting), "-o", str(out), "--end", "0.5", *QUICK]) == 0
    printed = capsys.readouterr().out
    assert "6 frames at 48x32, 12 fps, with audio" in printed and f"wrote {out}" in printed
    info = vio.probe(out)
    assert (info.frames, info.fps) == (6, 12) and audio_seconds(out) == pytest.approx(0.5, abs=0.1)


@pytest.mark.slow  # a render in a child process with torch
def test_a_killed_render_resumes_from_its_frames(files: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    clip, painting = files
    out = tmp_path / "out.mp4"
    argv = ["video", str(clip), str(painting), "-o", str(out), *QUICK]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-m", "nst_desktop.cli", *argv], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    try:
        while len(list(tmp_path.glob(".out.mp4.nst-video-*/frame_*.png"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no frames written"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = len(list(tmp_path.glob(".out.mp4.nst-video-*/frame_*.png")))
    assert done < 12 and not out.exists()  # no half-written output
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"resuming: {done} of 12 frames are done" in printed
    assert vio.probe(out).frames == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "out.mp4", "painting.png"]


@pytest.mark.parametrize("case", ["unreadable", "no video", "missing painting"])
def test_bad_inputs_exit_1_in_one_line(files: tuple[Path, Path], tmp_path: Path, case: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    clip, painting = files
    if case == "unreadable":
        clip = tmp_path / "broken.mp4"
        clip.write_bytes(b"\0" * 1000)
    elif case == "no video":
        clip = tmp_path / "tone.m4a"
        vio.encode_audio_only(vio.probe(files[0]), 0, 1, clip)
    elif case == "missing painting":
        painting = tmp_path / "nope.png"
    assert cli.main(["video", str(clip), str(painting), "-o", str(tmp_path / "o.mp4"), *QUICK]) == 1
    line = _one_line(capsys.readouterr().err)
    assert str(painting if case == "missing painting" else clip) in line


def test_without_the_video_extras_one_line_says_how_to_install_them(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # import av now raises ImportError
    assert not video_deps.available()
    clip, painting = files
    assert cli.main(["video", str(clip), str(painting), "-o", str(tmp_path / "o.mp4"), *QUICK]) == 1
    assert _one_line(capsys.readouterr().err).endswith("pip install 'nst-desktop[video]'")


@pytest.mark.parametrize("bad", [["--temporal-weight", "-1"], ["--every-frame-steps", "0"], ["--start", "x"]])
def test_bad_values_exit_2(files: tuple[Path, Path], tmp_path: Path, bad: list[str],
                           capsys: pytest.CaptureFixture[str]) -> None:
    clip, painting = files
    with pytest.raises(SystemExit) as exc:
        cli.main(["video", str(clip), str(painting), "-o", str(tmp_path / "o.mp4"), *bad])
    assert exc.value.code == 2
    assert bad[0] in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(("extra", "expected"), [
    (["--ray", "somewhere"], "expected auto, HOST:PORT or ray://HOST:PORT"),
    (["--ray", "127.0.0.1:1"], "cannot reach the Ray cluster at '127.0.0.1:1'"),
])
def test_video_ray_without_a_cluster_is_one_line(files: tuple[Path, Path], tmp_path: Path, extra: list[str],
                                                 expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray")
    clip, painting = files
    assert cli.main(["video", str(clip), str(painting), "-o", str(tmp_path / "o.mp4"), *QUICK, *extra]) == 1
    assert expected in _one_line(capsys.readouterr().err)
    assert not list(tmp_path.glob(".o.mp4.nst-video-*"))

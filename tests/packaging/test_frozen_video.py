"""The packaged app carries no PyAV/OpenCV: the window and the CLI say, in one line, how to get video.

The frozen app is simulated here by ``sys.frozen`` (what PyInstaller's bootloader sets) and by
PyAV failing to import (as in the package, whose spec excludes av, cv2 and numpy); smoke.sh
checks the real frozen CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nst_desktop import cli
from nst_desktop.engine.video import deps as video_deps
from tests.ui.helpers import make_window


@pytest.fixture
def packaged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setitem(sys.modules, "av", None)  # import av now raises ImportError


def test_hint_in_the_package_points_to_the_pip_install() -> None:
    assert video_deps.install_hint(frozen=False) == video_deps.INSTALL_HINT
    frozen = video_deps.install_hint(frozen=True)
    assert frozen.startswith("video is not part of this package")
    assert frozen.endswith("pip install 'nst-desktop[video]'") and "\n" not in frozen


def test_video_in_the_packaged_window_says_how_to_get_it(qtbot, packaged: None, tmp_path: Path) -> None:
    window = make_window(qtbot)
    window.open_video_action.trigger()  # File > Open Video…: told before the file dialog (ui/video_open.py)
    assert window.prompts.informed and window.prompts.informed[-1][1].endswith("pip install 'nst-desktop[video]'")
    assert window.videos.open(tmp_path / "clip.mp4") is None  # a clip dropped on the window
    assert not window.videos.windows
    assert window.statusBar().currentMessage() == video_deps.FROZEN_HINT


def test_cli_video_in_the_package_says_how_to_get_video(
    packaged: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["video", str(tmp_path / "a.mp4"), str(tmp_path / "p.png"), "-o", str(tmp_path / "o.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"nst-desktop-cli: error: {video_deps.FROZEN_HINT}"]

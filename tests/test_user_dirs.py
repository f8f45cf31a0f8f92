"""The tests never touch the real user's per-user folders (conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nst_desktop.services import paths
from tests.conftest import REAL_USER_FOLDERS, XDG_VARS


def _inside(path: Path, folder: str) -> bool:
    return Path(folder) in (path, *path.parents)


def _app_folders() -> list[Path]:
    return [paths.config_dir(), paths.cache_dir(), paths.data_dir(), paths.log_dir()]


def test_a_tests_monkeypatch_undo_keeps_its_own_user_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    """``monkeypatch.undo()`` (several tests call it) once restored the real user's folders
    mid-test, and a window closed after it wrote settings.json and recovery.png there."""
    mine = {var: os.environ[var] for var in (*XDG_VARS, "HOME")}
    before = _app_folders()
    monkeypatch.setenv("NST_SOMETHING", "1")
    monkeypatch.undo()
    assert {var: os.environ.get(var) for var in mine} == mine
    assert _app_folders() == before
    for folder in before:
        assert any(_inside(folder, os.environ[var]) for var in XDG_VARS)
        assert not any(_inside(folder, real) for real in REAL_USER_FOLDERS)


def test_home_is_a_temporary_folder() -> None:
    """``~`` too (the Queue's default output folder, Qt's files) is a throwaway folder."""
    home = Path(os.path.expanduser("~"))
    assert not any(_inside(Path(real), str(home)) for real in REAL_USER_FOLDERS)

"""The error log: where it is, what an entry holds, rotation, and a log that cannot be written."""

from __future__ import annotations

import os
from pathlib import Path

from nst_desktop.services import error_log, paths


def test_log_folder_follows_xdg_state_home() -> None:
    assert str(paths.log_dir()).startswith(os.environ["XDG_STATE_HOME"])
    assert error_log.log_path().parent == paths.log_dir()


def test_an_entry_holds_what_summary_and_traceback() -> None:
    path = error_log.write_error("painting", "AttributeError: x", "Traceback (most recent call last):\n  ...")
    assert path == error_log.log_path()
    text = path.read_text()
    assert "while painting" in text and "AttributeError: x" in text and "Traceback" in text
    error_log.write_error("saving", "OSError: y", "tb")
    assert path.read_text().count("===") == 2


def test_a_large_log_starts_again_keeping_the_previous(monkeypatch) -> None:
    monkeypatch.setattr(error_log, "LOG_MAX_BYTES", 100)
    error_log.write_error("painting", "A", "x" * 200)
    error_log.write_error("painting", "B", "tb")
    assert "B" in error_log.log_path().read_text() and "x" * 200 not in error_log.log_path().read_text()
    assert "x" * 200 in error_log.log_path().with_name("errors.log.1").read_text()


def test_a_log_that_cannot_be_written_is_no_second_error(monkeypatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(paths, "log_dir", lambda: blocker / "log")
    assert error_log.write_error("painting", "A", "tb") is None


def test_the_sentence_names_no_python() -> None:
    text = error_log.friendly_message("painting")
    assert "painting" in text and "Open Log Folder" in text and "Error" not in text

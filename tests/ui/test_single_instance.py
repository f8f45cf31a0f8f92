"""One window per user (issue 31, item 4): a second ``nst-desktop photo.png`` hands the photo to the
open window and exits; a socket left by a window that died is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalSocket

from nst_desktop.services.settings import settings_path
from nst_desktop.ui.single_instance import SingleInstance, parse_message, server_name
from tests.helpers import make_content


def _answers(name: str) -> bool:
    probe = QLocalSocket()
    probe.connectToServer(name)
    ok = probe.waitForConnected(200)
    probe.abort()
    return ok


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _recent_content() -> list[str]:
    try:
        return json.loads(settings_path().read_text(encoding="utf-8")).get("recent_content", [])
    except (OSError, ValueError):
        return []


@pytest.mark.slow  # two app processes
def test_a_second_launch_shows_its_photo_in_the_first_window(tmp_path: Path) -> None:
    """Two real processes, offscreen: the second gets a relative path, hands it over and exits 0; the
    first window loads it (seen in its settings file, which it writes after loading handed-over files)."""
    (tmp_path / "photos").mkdir()
    make_content((64, 48)).save(tmp_path / "photos" / "photo.png")
    root = str(Path(__file__).resolve().parents[2])  # this checkout's nst_desktop, from any folder
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    first = subprocess.Popen([sys.executable, "-m", "nst_desktop"], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _answers(server_name()) or first.poll() is not None, 120, "the first window")
        assert first.poll() is None, first.communicate()[1]
        second = subprocess.run([sys.executable, "-m", "nst_desktop", "photo.png"], env=env,
                                cwd=tmp_path / "photos", capture_output=True, text=True, timeout=90)
        assert second.returncode == 0, second.stderr
        photo = str(tmp_path / "photos" / "photo.png")
        _wait_for(lambda: _recent_content()[:1] == [photo], 60, "the first window to open the photo")
        assert first.poll() is None  # still running: it was the first window that took it
    finally:
        first.kill()
        first.communicate()


@pytest.mark.parametrize("runtime_dir", [False, True])
def test_a_socket_left_by_a_window_that_died_is_taken_over(qapp, monkeypatch, tmp_path_factory, runtime_dir) -> None:
    if runtime_dir:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("rt")))
    else:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    name = server_name()
    assert os.path.isabs(name) == runtime_dir
    path = name if runtime_dir else os.path.join(QDir.tempPath(), name)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # a socket file that no one listens on, as a killed window leaves it
    dead.close()
    try:
        instance = SingleInstance()
        assert instance.start("photo.png", None) is False  # no window took it: this is the first one
        assert instance.is_listening() and _answers(name)
        instance.close()
    finally:
        if os.path.exists(path):
            os.unlink(path)


@pytest.mark.parametrize("data", [b"", b"[1, 2]", b'{"content": 5}', b'{"content": ""}', b"\xff\xfe",
                                  b'{"content": "' + b"x" * 5000 + b'"}', b"[" * 100000])
def test_bad_messages_are_refused(data: bytes) -> None:
    assert parse_message(data) is None


def test_a_message_names_content_and_style() -> None:
    assert parse_message(b'{"content": "/a.png", "style": null}') == ("/a.png", None)


def test_a_window_that_does_not_answer_gets_one_wait_then_the_launch_opens_its_own(qapp, monkeypatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("nst_desktop.ui.single_instance.ACK_TIMEOUT_MS", 300)
    path = os.path.join(QDir.tempPath(), server_name())
    hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung.bind(path)
    hung.listen(4)  # connections are taken by the system, but no one reads them
    try:
        instance = SingleInstance()
        tries = []
        real = instance.hand_over
        monkeypatch.setattr(instance, "hand_over", lambda *a: tries.append(a) or real(*a))
        assert instance.start("photo.png", None) is False
        assert len(tries) == 1 and not instance.is_listening()
    finally:
        hung.close()
        os.unlink(path)

"""Shared fixtures. Qt runs offscreen; per-user folders point into a temp folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One CPU thread for torch (engine.devices.configure_threads honours this, and test
# subprocesses inherit it): on a 2-core machine shared with other work, two spinning
# OpenMP threads per process were several times slower.
os.environ.setdefault("NST_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(int(os.environ["NST_NUM_THREADS"]))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests.helpers import make_content, make_style  # noqa: E402


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own config, cache, state (log) and data (queue) folders (never the real user's)."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))


@pytest.fixture(scope="session")
def bundled_weights():
    from nst_desktop.engine.net.weights import load_bundled

    return load_bundled()


@pytest.fixture
def content_image() -> Image.Image:
    return make_content()


@pytest.fixture
def style_image() -> Image.Image:
    return make_style()


@pytest.fixture
def image_files(tmp_path: Path) -> tuple[Path, Path]:
    """A content and a style image written to disk as PNG and JPEG."""
    c = tmp_path / "photo.png"
    s = tmp_path / "painting.jpg"
    make_content().save(c)
    make_style().save(s, quality=95)
    return c, s


# ----------------------------------------------------------------------------- no network
_LOOPBACK = ("127.", "::1", "localhost")


def _loopback_only(address: object) -> None:
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, str) and not host.startswith(_LOOPBACK) and host not in ("", "0.0.0.0"):
        raise ConnectionRefusedError(f"tests may only connect to 127.0.0.1, not {host!r}")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach beyond 127.0.0.1: other addresses are refused (and DNS is not asked)."""
    import socket

    real_connect = socket.socket.connect
    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _loopback_only(address)
        return real_connect(self, address)

    def create_connection(address: object, *args: object, **kwargs: object) -> socket.socket:
        _loopback_only(address)
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if host is not None:
            _loopback_only((host,))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session", autouse=True)
def _gc_in_gui_thread(qapp):
    """As in the app (ui/app.py): collect garbage only in the GUI thread, never in a worker."""
    from nst_desktop.ui import gc_guard

    guard = gc_guard.install(qapp)
    yield
    guard.stop()


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Windows of the previous test are collected here, in the GUI thread, before the next starts."""
    import gc

    yield
    gc.collect()

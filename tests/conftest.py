"""Shared fixtures. Qt runs offscreen; per-user folders point into a temp folder.

Before anything else is imported, the whole session gets a throwaway home: ``HOME`` and the
``XDG_*_HOME`` folders point into a temporary folder (platformdirs, Qt and the test subprocesses
all follow them), and :func:`pytest_sessionfinish` fails the run if the real user's per-user
folders changed anyway. Each test then gets folders of its own (:func:`_user_dirs`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

#: Environment variables naming per-user folders; the session and each test point them elsewhere.
XDG_VARS = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME")


def _real_user_folders() -> list[str]:
    """The app's folders in the real user's home (as the app would find them outside the tests)."""
    home = os.path.expanduser("~")
    bases = {"XDG_CONFIG_HOME": ".config", "XDG_CACHE_HOME": ".cache", "XDG_STATE_HOME": ".local/state",
             "XDG_DATA_HOME": ".local/share"}
    folders = [os.path.join(os.environ.get(var) or os.path.join(home, rel), "NST Desktop")
               for var, rel in bases.items()]
    return folders + [os.path.join(home, "NST Desktop results")]  # the Queue's default output folder


def _snapshot(folders: list[str]) -> dict[str, tuple[int, int]]:
    """Every file under ``folders``: its (size, mtime in ns)."""
    files: dict[str, tuple[int, int]] = {}
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            for name in names:
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                files[path] = (st.st_size, st.st_mtime_ns)
    return files


REAL_USER_FOLDERS = _real_user_folders()
_REAL_BEFORE = _snapshot(REAL_USER_FOLDERS)
_SESSION_HOME = tempfile.mkdtemp(prefix="nst-test-home-")
atexit.register(shutil.rmtree, _SESSION_HOME, True)
os.environ["HOME"] = _SESSION_HOME
for _var in XDG_VARS:
    os.environ[_var] = os.path.join(_SESSION_HOME, _var.lower())

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One CPU thread for torch (engine.devices.configure_threads honours this, and test
# subprocesses inherit it): on a 2-core machine shared with other work, two spinning
# OpenMP threads per process were several times slower.
os.environ.setdefault("NST_NUM_THREADS", "1")
# Ray starts its workers at nice 15 (its worker_niceness); beside another busy test process (the
# suite runs one per core) a test's Ray worker then got ~2 % of a core and a 48 px frame took 8 s.
os.environ.setdefault("RAY_worker_niceness", "0")

import torch  # noqa: E402

torch.set_num_threads(int(os.environ["NST_NUM_THREADS"]))

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests.helpers import make_content, make_style  # noqa: E402


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test gets its own home, config, cache, state (log) and data (queue) folders (never the
    real user's). Set with a MonkeyPatch of its own: a test's ``monkeypatch.undo()`` undoes only
    what that test patched (it once undid these too, and the window then saved its settings and
    recovery file in the real user's folders)."""
    base = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(base / "home"))
        for var, name in zip(XDG_VARS, ("config", "cache", "state", "data"), strict=True):
            mp.setenv(var, str(base / name))
        yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test changed the real user's per-user folders (settings, caches, queue)."""
    after = _snapshot(REAL_USER_FOLDERS)
    changed = sorted(p for p in set(after) | set(_REAL_BEFORE) if after.get(p) != _REAL_BEFORE.get(p))
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "The tests changed the real user's per-user folders: " + ", ".join(changed)
        if reporter is not None:
            reporter.write("\n")
            reporter.write_line(text, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
    import gc

    from nst_desktop.ui import gc_guard

    guard = gc_guard.install(qapp)
    # What lives now (torch, Qt, the modules the tests imported) lives all session: frozen, the
    # full collection after each test (below) skips it (about 0.1 s of CPU a test, ~2 min a suite)
    # and still collects every object a test made.
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    guard.stop()


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Windows of the previous test are collected here, in the GUI thread, before the next starts."""
    import gc

    yield
    gc.collect()

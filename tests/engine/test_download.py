"""Weights download against a real HTTP server on 127.0.0.1: hashes, cut-off transfers,
refused connections, cancelling, progress, and the torchvision weights cache."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from nst_desktop.engine.errors import DownloadCancelled, DownloadError, WeightsError
from nst_desktop.engine.net import weights as W
from nst_desktop.engine.net.download import download, hash_matches, sha256_of


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``server.root``:

    ``/files/NAME``: the file, with its Content-Length.
    ``/cut/NAME``: announces the full length, sends half, closes the connection.
    ``/hang/NAME``: sends nothing for two seconds.
    Anything else: 404.
    """

    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the log
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        kind, _, name = self.path.lstrip("/").partition("/")
        path = self.server.root / name
        if kind not in ("files", "cut", "hang") or not name or not path.is_file():
            self.send_error(404, "Not Found")
            return
        if kind == "hang":
            time.sleep(2.0)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        view = memoryview(data)
        for i in range(0, len(data), 1 << 16):
            self.wfile.write(view[i : i + (1 << 16)])


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.requests: list[str] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early (cancel tests) is expected: no traceback on stderr

    def url(self, kind: str, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{kind}/{name}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    root = tmp_path_factory.mktemp("served")
    srv = _Server(root)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def blob(server: _Server) -> tuple[str, bytes, str]:
    """A 300 kB file (several read chunks) on the server: name, bytes, full SHA-256."""
    data = os.urandom(300_000)
    (server.root / "blob.bin").write_bytes(data)
    return "blob.bin", data, hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


# --- hash checking ------------------------------------------------------------------------------


def test_hash_matches() -> None:
    d = hashlib.sha256(b"x").hexdigest()
    assert hash_matches(d, d)
    assert hash_matches(d, d.upper())
    assert hash_matches(d, d[:8])
    assert not hash_matches(d, "0" * 64)
    assert not hash_matches(d, d[:8] + "0")
    assert not hash_matches(d, "")  # an empty expectation must not accept any file
    assert not hash_matches(d, "xyz")


def test_sha256_of(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"hello")
    assert sha256_of(p) == hashlib.sha256(b"hello").hexdigest()


# --- download -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [False, True], ids=["full-hash", "prefix"])
def test_good_download(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path, prefix: bool) -> None:
    name, data, digest = blob
    dest = tmp_path / "cache" / "sub" / "w.pth"  # the folders do not exist yet
    out = download(server.url("files", name), dest, digest[:8] if prefix else digest)
    assert out == dest
    assert dest.read_bytes() == data
    assert _leftovers(tmp_path) == ["w.pth"]


def test_progress_reports_increasing_byte_counts(
    server: _Server, blob: tuple[str, bytes, str], tmp_path: Path
) -> None:
    name, data, digest = blob
    calls: list[tuple[int, int | None]] = []
    download(server.url("files", name), tmp_path / "w.pth", digest, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, len(data))
    assert calls[-1] == (len(data), len(data))
    done = [d for d, _ in calls]
    assert all(b > a for a, b in zip(done, done[1:])), done
    assert len(calls) >= 3  # 300 kB arrives in several chunks
    assert {t for _, t in calls} == {len(data)}


def test_wrong_hash(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, _, digest = blob
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    for expected in (wrong, wrong[:8]):
        with pytest.raises(DownloadError) as exc:
            download(server.url("files", name), tmp_path / "w.pth", expected)
        assert "SHA-256" in str(exc.value) and name in str(exc.value)
        assert _leftovers(tmp_path) == []  # no file and no .part


def test_wrong_hash_keeps_an_existing_file(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, _, _ = blob
    dest = tmp_path / "w.pth"
    dest.write_bytes(b"the old file")
    with pytest.raises(DownloadError):
        download(server.url("files", name), dest, "f" * 64)
    assert dest.read_bytes() == b"the old file"
    assert _leftovers(tmp_path) == ["w.pth"]


def test_transfer_cut_off_midway(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, data, digest = blob
    calls: list[int] = []
    with pytest.raises(DownloadError) as exc:
        download(server.url("cut", name), tmp_path / "w.pth", digest, progress=lambda d, t: calls.append(d))
    assert not isinstance(exc.value, DownloadCancelled)
    assert _leftovers(tmp_path) == []
    assert 0 < max(calls) < len(data)  # it really stopped midway


def test_http_404(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="Not Found"):
        download(server.url("files", "nothing-here.pth"), tmp_path / "w.pth", "0" * 64)
    assert _leftovers(tmp_path) == []


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The port is closed now: nobody listens there.
    with pytest.raises(DownloadError) as exc:
        download(f"http://127.0.0.1:{port}/w.pth", tmp_path / "w.pth", "0" * 64, timeout_s=5)
    assert "refused" in str(exc.value).lower()
    assert "\n" not in str(exc.value)
    assert _leftovers(tmp_path) == []


def test_server_that_never_answers_times_out(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, _, digest = blob
    t0 = time.perf_counter()
    with pytest.raises(DownloadError):
        download(server.url("hang", name), tmp_path / "w.pth", digest, timeout_s=0.3)
    assert time.perf_counter() - t0 < 1.9
    assert _leftovers(tmp_path) == []


def test_bad_url(tmp_path: Path) -> None:
    with pytest.raises(DownloadError):
        download("not a url at all", tmp_path / "w.pth", "0" * 64)
    assert _leftovers(tmp_path) == []


def test_cancel_midway(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, data, digest = blob
    seen: list[int] = []

    def should_cancel() -> bool:
        return bool(seen) and seen[-1] > 0  # after the first chunk has arrived

    with pytest.raises(DownloadCancelled) as exc:
        download(
            server.url("files", name), tmp_path / "w.pth", digest,
            progress=lambda d, t: seen.append(d), should_cancel=should_cancel,
        )
    assert isinstance(exc.value, DownloadError)  # callers that catch DownloadError see it too
    assert "cancel" in str(exc.value).lower()
    assert 0 < seen[-1] < len(data)
    assert _leftovers(tmp_path) == []


def test_cancel_before_start(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, _, digest = blob
    with pytest.raises(DownloadCancelled):
        download(server.url("files", name), tmp_path / "w.pth", digest, should_cancel=lambda: True)
    assert _leftovers(tmp_path) == []


def test_destination_folder_cannot_be_created(server: _Server, blob: tuple[str, bytes, str], tmp_path: Path) -> None:
    name, _, digest = blob
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(DownloadError):
        download(server.url("files", name), tmp_path / "file" / "w.pth", digest)


# --- the torchvision weights cache --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tv_file(server: _Server, bundled_weights: W.VGGWeights) -> tuple[str, str]:
    """A torchvision-format VGG19 file (the bundled weights re-keyed, plus a classifier) on the server."""
    sd = {k: v.clone() for k, v in bundled_weights.state_dict.items()}
    sd["classifier.0.weight"] = torch.zeros(4, 8)
    path = server.root / "vgg19-test.pth"
    torch.save(sd, path)
    return path.name, sha256_of(path)


def test_load_torchvision_downloads_and_loads(server: _Server, tv_file: tuple[str, str], tmp_path: Path) -> None:
    name, digest = tv_file
    calls: list[int] = []
    w = W.load_torchvision(
        tmp_path, url=server.url("files", name), sha256=digest[:8], progress=lambda d, t: calls.append(d)
    )
    assert w.preprocessing == W.IMAGENET
    assert set(w.state_dict) == set(W.expected_shapes())
    assert W.torchvision_available(tmp_path)
    cached = W.torchvision_cache_path(tmp_path)
    assert sha256_of(cached) == digest
    assert _leftovers(tmp_path) == [cached.name]
    assert calls and calls[-1] == cached.stat().st_size

    # Second time: from the cache, no request to the server, even when downloads are not allowed.
    before = len(server.requests)
    again = W.load_torchvision(tmp_path, allow_download=False, url=server.url("files", name), sha256=digest)
    assert len(server.requests) == before
    assert again.preprocessing == W.IMAGENET
    assert W.load_weights("torchvision", cache_dir=tmp_path, allow_download=False).preprocessing == W.IMAGENET


def test_corrupt_cached_file_is_downloaded_again(server: _Server, tv_file: tuple[str, str], tmp_path: Path) -> None:
    name, digest = tv_file
    cached = W.torchvision_cache_path(tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(os.urandom(4096))  # e.g. a disk error or an interrupted copy
    before = len(server.requests)
    w = W.load_torchvision(tmp_path, url=server.url("files", name), sha256=digest)
    assert len(server.requests) == before + 1
    assert w.preprocessing == W.IMAGENET
    assert sha256_of(cached) == digest


def test_corrupt_cached_file_without_download_is_removed(tmp_path: Path) -> None:
    cached = W.torchvision_cache_path(tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage" * 100)
    with pytest.raises(WeightsError) as exc:
        W.load_torchvision(tmp_path, allow_download=False, url="http://127.0.0.1:9/never", sha256="0" * 8)
    assert str(cached) in str(exc.value)
    assert not cached.exists()


def test_download_of_wrong_kind_of_file_fails_cleanly(
    server: _Server, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A file with the right hash that is not VGG19 is tried twice, then reported; nothing is cached."""
    path = server.root / "not-vgg.pth"
    torch.save({"features.0.weight": torch.zeros(2, 2)}, path)
    before = len(server.requests)
    with pytest.raises(WeightsError, match="not a VGG19"):
        W.load_torchvision(tmp_path, url=server.url("files", path.name), sha256=sha256_of(path))
    assert len(server.requests) == before + 2
    assert _leftovers(tmp_path) == []


def test_failed_torchvision_download_leaves_nothing(server: _Server, tv_file: tuple[str, str], tmp_path: Path) -> None:
    name, digest = tv_file
    with pytest.raises(DownloadError):
        W.load_torchvision(tmp_path, url=server.url("cut", name), sha256=digest)
    assert not W.torchvision_available(tmp_path)
    assert _leftovers(tmp_path) == []
    with pytest.raises(DownloadCancelled):
        W.load_torchvision(tmp_path, url=server.url("files", name), sha256=digest, should_cancel=lambda: True)
    assert _leftovers(tmp_path) == []

"""Hash-checked, resumable-safe file download (standard library only).

The file is written to ``<dest>.part`` beside the target, its SHA-256 computed while
it streams, and renamed to ``dest`` only when the whole body has arrived and the hash
matches. Anything else (connection error, short body, wrong hash, cancel) removes the
partial file and raises :class:`DownloadError`, so a broken file is never used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from nst_desktop.engine.errors import DownloadCancelled, DownloadError

#: Progress callback: (bytes received so far, total bytes or None if unknown).
DownloadProgress = Callable[[int, "int | None"], None]

_CHUNK = 1 << 16
_TIMEOUT_S = 30.0


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's contents."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_matches(digest: str, expected: str) -> bool:
    """True if the hex ``digest`` equals ``expected``, or starts with it when ``expected``
    is a prefix (torchvision's file names carry the first 8 hex digits of the SHA-256)."""
    expected = expected.strip().lower()
    if not expected or any(ch not in "0123456789abcdef" for ch in expected):
        return False  # an empty or malformed expectation must not accept every file
    return digest == expected if len(expected) == 64 else digest.startswith(expected)


def download(
    url: str,
    dest: Path,
    sha256: str,
    progress: DownloadProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    timeout_s: float = _TIMEOUT_S,
) -> Path:
    """Download ``url`` to ``dest``, checking its SHA-256 (full hex or a hex prefix)."""
    part = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    received = 0
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        req = urllib.request.Request(url, headers={"User-Agent": "nst-desktop"})
        with urllib.request.urlopen(req, timeout=timeout_s) as resp, open(part, "wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress:
                progress(0, total)
            while True:
                if should_cancel is not None and should_cancel():
                    raise DownloadCancelled(f"Download of {url} was cancelled.")
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                received += len(chunk)
                if progress:
                    progress(received, total)
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise DownloadError(
                f"Download of {url} was cut off: got {received} of {total} bytes. Try again."
            )
        digest = h.hexdigest()
        if not hash_matches(digest, sha256):
            raise DownloadError(
                f"Download of {url} is corrupt or not the expected file: SHA-256 {digest[:16]}... "
                f"does not match {sha256[:16]}."
            )
        os.replace(part, dest)
        return dest
    except DownloadError:
        _remove(part)
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        _remove(part)
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"Download of {url} failed: {reason}.") from None
    except BaseException:
        _remove(part)
        raise


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass  # not there (or its folder is not): nothing to clean up

"""A video render's work folder: the painted frames, written one by one as they finish, so that
a render that is cancelled, crashes or is killed goes on from the last finished frame.

The folder sits beside the output, ``.<output name>.nst-video-<key>``, where the key is a hash
of everything that determines the frames (the source file's path, size and modification time,
the paintings' bytes, the settings, the frame size): the same command finds its frames again,
changed settings start a new folder. Frame ``i`` (0 = the first frame of the range) is
``frame_<i+1:06d>.png``, written to a temporary name and renamed, so a frame file that exists
is whole. ``settings.json`` records what the key was made from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from nst_desktop.engine.video.deps import VideoError

#: Bumped when the frames' meaning changes, so that old work folders are not resumed.
WORK_FORMAT = 1
SETTINGS_FILE = "settings.json"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settings_key(what: dict[str, Any]) -> str:
    """A 16-hex-digit key of ``what`` (JSON-serialisable; key order does not matter)."""
    text = json.dumps({"format": WORK_FORMAT, **what}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_identity(path: Path) -> dict[str, Any]:
    """What identifies a source clip without reading it all: resolved path, size, modification time."""
    st = path.stat()
    return {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass(frozen=True)
class WorkFolder:
    """The frames of one render (see the module docstring)."""

    path: Path

    @staticmethod
    def for_output(out: Path, key: str) -> WorkFolder:
        return WorkFolder(out.parent / f".{out.name}.nst-video-{key}")

    def frame_path(self, i: int) -> Path:
        return self.path / f"frame_{i + 1:06d}.png"

    def create(self, settings: dict[str, Any]) -> None:
        """Make the folder (if new) and record ``settings`` in it."""
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / SETTINGS_FILE
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(settings, indent=1, sort_keys=True, default=str), encoding="utf-8")
            os.replace(tmp, target)

    def finished(self, frames: int) -> int:
        """How many frames from the first are done (the first missing one is painted next)."""
        n = 0
        while n < frames and self.frame_path(n).is_file():
            n += 1
        return n

    def write(self, i: int, image: Image.Image) -> Path:
        """Store frame ``i`` whole or not at all (temporary file, flushed, then renamed)."""
        target = self.frame_path(i)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as f:
                image.save(f, format="PNG")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise VideoError(f"cannot write frame '{target}': {exc.strerror or exc}") from None
        return target

    def read(self, i: int) -> Image.Image:
        """Frame ``i`` as an RGB image; a damaged file is removed (the next run paints it again)
        and reported as :class:`VideoError`."""
        path = self.frame_path(i)
        try:
            with Image.open(path, formats=["PNG"]) as img:  # written by write() above: PNG only
                return img.convert("RGB")
        except (OSError, ValueError) as exc:
            path.unlink(missing_ok=True)
            raise VideoError(f"frame '{path}' was damaged ({exc}) and is removed; run the same command again "
                             "to paint it anew") from None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

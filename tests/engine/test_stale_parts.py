"""Hidden temporary files of a save that was killed before its rename are removed by the next save
into that folder, once they are old enough; nothing else is touched (issue 31, item 9)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from nst_desktop.engine import save_image
from nst_desktop.engine.image.stale_parts import STALE_AFTER_S
from nst_desktop.engine.image.tiff16 import save_tiff16
from nst_desktop.services import paths
from tests.helpers import make_content


def _leftovers(folder: Path) -> tuple[list[Path], list[Path]]:
    """(abandoned temporary files an hour old, files that must stay)."""
    old = time.time() - STALE_AFTER_S - 3600
    stale = [folder / ".photo.png.k3x_9abz.part", folder / ".settings.json.q1w2e3r4.tmp"]
    keep = [
        folder / ".photo.png.a1b2c3d4.part",  # fresh: a save in progress in another process
        folder / "holiday.part",  # the user's own files
        folder / ".notes.part",
        folder / ".photo.png.TOOLONGNAME.part",
    ]
    for p in [*stale, *keep]:
        p.write_bytes(b"half a file")
    for p in [*stale, keep[1], keep[2], keep[3]]:
        os.utime(p, (old, old))
    return stale, keep


def test_next_image_save_removes_stale_part_files(tmp_path: Path) -> None:
    stale, keep = _leftovers(tmp_path)
    save_image(make_content((40, 30)), tmp_path / "result.png")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)


def test_next_tiff16_save_removes_stale_part_files(tmp_path: Path) -> None:
    stale, keep = _leftovers(tmp_path)
    save_tiff16(torch.rand(3, 20, 30), tmp_path / "result.tif")
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)


def test_next_settings_write_removes_stale_tmp_files(tmp_path: Path) -> None:
    stale, keep = _leftovers(tmp_path)
    paths.write_text_atomic(tmp_path / "settings.json", "{}")
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)

"""16-bit RGB TIFF with the sRGB profile, written strip by strip (print workflows).

Pillow writes RGB TIFFs with 8 bits per channel only. This writes a baseline TIFF 6.0 file:
little-endian, 16 bits per sample, chunky RGB, Adobe Deflate strips of :data:`ROWS_PER_STRIP`
rows, the sRGB ICC profile (tag 34675) and the run's settings as JSON in ImageDescription
(as :func:`images.save_image` stores them). Strips are converted and compressed one at a
time, so an 8192 px result is never held as a second whole copy; the file is written under
a temporary name and renamed, so a failed save leaves no half-written file.
"""

from __future__ import annotations

import functools
import json
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import ImageCms

from nst_desktop.engine.errors import ImageError
from nst_desktop.engine.image.images import give_mode_of
from nst_desktop.engine.image.stale_parts import remove_stale_parts

if TYPE_CHECKING:  # imported where pixels are converted: the window shows before torch loads
    import torch

ROWS_PER_STRIP = 64
#: Deflate level: 3 compresses photos nearly as well as 6 in a fraction of the time.
ZLIB_LEVEL = 3
_SHORT, _LONG, _ASCII, _UNDEFINED, _RATIONAL = 3, 4, 2, 7, 5


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile (LittleCMS's built-in one). Made once: LittleCMS stamps each profile it makes with
    the time, so files written a second apart would carry different bytes (and a test comparing them failed
    when the clock ticked between the save and the check)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def save_tiff16(pixels: torch.Tensor, path: str | Path, metadata: dict[str, Any] | None = None) -> None:
    """Write ``pixels`` (``(1, 3, H, W)`` or ``(3, H, W)`` RGB, float in [0, 1] or uint16; sRGB) to ``path``
    as a 16-bit TIFF. Raises :class:`ImageError` naming the file if it cannot be written."""
    x = pixels.detach().cpu()  # converted strip by strip: no whole float copy
    if x.dim() == 4:
        x = x[0]
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"expected RGB pixels of shape (3, H, W), not {tuple(pixels.shape)}")
    _c, h, w = x.shape
    p = Path(path)
    description = (json.dumps(metadata, sort_keys=True) + "\0").encode("utf-8") if metadata else b""
    icc = srgb_profile()
    try:
        remove_stale_parts(p.parent)  # left by a save that was killed before its rename
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    except OSError as exc:
        raise ImageError(f"'{p}': cannot write there ({exc.strerror or exc}).") from exc
    give_mode_of(p, tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"II*\0" + struct.pack("<I", 0))  # the first IFD's offset is patched in at the end
            offsets, counts = [], []
            for top in range(0, h, ROWS_PER_STRIP):
                data = _strip_bytes(x[:, top : top + ROWS_PER_STRIP])
                packed = zlib.compress(data, ZLIB_LEVEL)
                offsets.append(f.tell())
                counts.append(len(packed))
                f.write(packed)
            extra = f.tell()
            blobs: list[bytes] = []

            def blob(data: bytes) -> int:
                nonlocal extra
                at = extra
                blobs.append(data + (b"\0" if len(data) % 2 else b""))
                extra += len(blobs[-1])
                return at

            bits = blob(struct.pack("<3H", 16, 16, 16))
            strip_offsets = blob(struct.pack(f"<{len(offsets)}I", *offsets))
            strip_counts = blob(struct.pack(f"<{len(counts)}I", *counts))
            resolution = blob(struct.pack("<2I", 300, 1))
            icc_at = blob(icc)
            desc_at = blob(description) if description else 0
            for b in blobs:
                f.write(b)
            entries = [
                (256, _LONG, 1, w), (257, _LONG, 1, h), (258, _SHORT, 3, bits), (259, _SHORT, 1, 8),
                (262, _SHORT, 1, 2),
            ]
            if description:
                entries.append((270, _ASCII, len(description), desc_at))
            entries += [
                (273, _LONG, len(offsets), strip_offsets if len(offsets) > 1 else offsets[0]),
                (277, _SHORT, 1, 3), (278, _LONG, 1, ROWS_PER_STRIP),
                (279, _LONG, len(counts), strip_counts if len(counts) > 1 else counts[0]),
                (282, _RATIONAL, 1, resolution), (283, _RATIONAL, 1, resolution), (284, _SHORT, 1, 1),
                (296, _SHORT, 1, 2), (34675, _UNDEFINED, len(icc), icc_at),
            ]
            ifd = f.tell()
            f.write(struct.pack("<H", len(entries)))
            for tag, kind, count, value in entries:
                if kind == _SHORT and count == 1:
                    f.write(struct.pack("<HHIHH", tag, kind, count, value, 0))
                else:
                    f.write(struct.pack("<HHII", tag, kind, count, value))
            f.write(struct.pack("<I", 0))
            f.seek(4)
            f.write(struct.pack("<I", ifd))
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ImageError(f"'{p}': could not be saved ({exc.strerror or exc}).") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _strip_bytes(rows: torch.Tensor) -> bytes:
    """``(3, h, W)`` rows (float in [0, 1], or uint16) as little-endian uint16 samples, pixel by pixel."""
    import torch

    if rows.dtype == torch.uint16:
        v = rows.to(torch.int32)
    else:
        v = rows.float().clamp(0, 1).mul(65535).round().to(torch.int32)
    if sys.byteorder != "little":
        v = ((v & 0xFF) << 8) | (v >> 8)
    v = v.to(torch.uint16).permute(1, 2, 0).contiguous()
    buf = bytearray(v.numel() * 2)  # through a bytearray: NumPy is not a dependency
    torch.frombuffer(buf, dtype=torch.uint16).copy_(v.reshape(-1))
    return bytes(buf)

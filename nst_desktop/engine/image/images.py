"""Image input and output.

Conventions: images enter and leave the engine as Pillow images in mode ``RGB``
(8 bits per channel, sRGB). Tensors are ``float32`` of shape ``(1, 3, H, W)``, RGB
channel order, values in ``[0, 1]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import struct
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from nst_desktop.app_info import APP_NAME, IMAGE_FORMATS
from nst_desktop.engine.errors import ImageError, quoted
from nst_desktop.engine.image.file_kind import HEAD_BYTES, describe_content
from nst_desktop.engine.image.metadata import parse_metadata
from nst_desktop.engine.image.stale_parts import remove_stale_parts
from nst_desktop.engine.provenance import shrink_to_fit

if TYPE_CHECKING:  # imported by the two functions that convert: the window shows before torch loads
    import torch

#: Largest image (in pixels, width x height) the loader accepts. Bigger files are
#: refused before decoding, as a guard against decompression bombs.
MAX_INPUT_PIXELS = 100_000_000

#: Largest file (bytes) the loader reads: checked before reading, so a huge file is refused with
#: a line, not a MemoryError. 1 GiB holds MAX_INPUT_PIXELS uncompressed at 8 bytes a pixel
#: (16-bit RGBA TIFF), the largest an image within the pixel limit reasonably is.
MAX_INPUT_BYTES = 1 << 30

#: The only decoders a file is read with (Pillow's names, app_info.IMAGE_FORMATS): Pillow picks a
#: decoder by content, and some (EPS) run external programs such as Ghostscript.
OPEN_FORMATS = tuple(IMAGE_FORMATS)
_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "TIFF": "TIFF", "BMP": "BMP", "GIF": "GIF"}
OPENED_FORMATS_TEXT = ", ".join(_FORMAT_NAMES.get(f, f) for f in OPEN_FORMATS)

#: Key under which the settings that made an image are stored in its metadata.
METADATA_KEY = "nst-desktop"

#: EXIF tag ``ImageDescription``: carries the settings JSON in JPEG, WebP and TIFF.
_EXIF_IMAGE_DESCRIPTION = 0x010E

#: Most EXIF bytes one JPEG APP1 segment holds (a segment is at most 64 KB).
JPEG_MAX_EXIF_BYTES = 65533

#: Output formats by file extension.
SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

_SRGB_PROFILE = ImageCms.createProfile("sRGB")

#: The process umask (read once: os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _describe(path: Path) -> str:
    return quoted(path)


def file_size(path: Path, limit: int = MAX_INPUT_BYTES) -> int:
    """The size of the regular file ``path`` in bytes, checked before anything is read. Raises
    :class:`ImageError` naming it for a missing file, a folder, a device or pipe, or one larger
    than ``limit`` bytes."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError(f"{_describe(path)} does not exist.") from None
    except PermissionError:
        raise ImageError(f"{_describe(path)} cannot be read: permission denied.") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise ImageError(f"{_describe(path)} cannot be read: {getattr(exc, 'strerror', None) or exc}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"{_describe(path)} is a folder, not an image file.")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"{_describe(path)} is not a regular file (a device, pipe or socket).")
    if st.st_size > limit:
        raise ImageError(f"{_describe(path)} is too large: {st.st_size / 1e6:,.0f} MB "
                         f"(the limit is {limit / 1e6:,.0f} MB).")
    return st.st_size


def load_image(path: str | os.PathLike[str], max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Read an image file into an 8-bit sRGB ``RGB`` Pillow image.

    EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images are
    converted; alpha is composited on white; an embedded ICC profile is converted to
    sRGB; of an animation or multi-page file, the first frame is used.

    Raises :class:`ImageError` naming the file for anything that is not a readable
    image of :data:`OPEN_FORMATS` (naming what it is instead), a truncated file, a file
    larger than :data:`MAX_INPUT_BYTES` (checked before reading) or an image larger
    than ``max_pixels``.
    """
    p = Path(path)
    size = file_size(p)
    try:
        with p.open("rb") as fh:
            data = fh.read(size + 1)  # bounded even if the file grew since stat()
    except PermissionError:
        raise ImageError(f"{_describe(p)} cannot be read: permission denied.") from None
    except OSError as exc:
        raise ImageError(f"{_describe(p)} cannot be read: {exc.strerror or exc}.") from None
    except MemoryError:
        raise ImageError(f"{_describe(p)} is too large to read in the memory available.") from None
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError(f"{_describe(p)} is too large (the limit is {MAX_INPUT_BYTES / 1e6:,.0f} MB).")
    return decode_image(data, name=str(p), max_pixels=max_pixels)


@contextlib.contextmanager
def _opened_header(p: Path) -> Iterator[Image.Image]:
    """``p`` opened (its header read, no pixels decoded, Pillow's warnings silenced) by a decoder of
    :data:`OPEN_FORMATS`, after :func:`file_size`'s checks. A file no such decoder accepts, or a
    decompression bomb, raises :class:`ImageError` naming it; other errors pass through."""
    file_size(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(p, formats=OPEN_FORMATS) as img:
                yield img
    except UnidentifiedImageError:
        raise ImageError(refusal(_describe(p), _head(p))) from None
    except Image.DecompressionBombError:
        raise ImageError(f"{_describe(p)} is too large to open safely (decompression bomb guard).") from None


def check_image_file(path: str | os.PathLike[str], max_pixels: int = MAX_INPUT_PIXELS) -> tuple[int, int]:
    """``(width, height)`` of the image file ``path`` from its header alone (nothing is decoded), after
    the checks :func:`load_image` makes first: a regular file of at most :data:`MAX_INPUT_BYTES`, that a
    decoder of :data:`OPEN_FORMATS` accepts, of at most ``max_pixels``. Raises :class:`ImageError`
    naming the file otherwise (a damaged file may still pass: only the header is read)."""
    p = Path(path)
    try:
        with _opened_header(p) as img:
            w, h = img.size
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow plugins raise assorted types on garbage
        raise ImageError(f"{_describe(p)} is damaged or cannot be read ({type(exc).__name__}).") from None
    if w <= 0 or h <= 0 or w * h > max_pixels:
        raise ImageError(f"{_describe(p)} has {w}x{h} pixels (at most {max_pixels / 1e6:g} megapixels are opened).")
    return w, h


def refusal(label: str, head: bytes) -> str:
    """The line refusing a file that no decoder of :data:`OPEN_FORMATS` accepts (``label``: the
    quoted name), naming what its first bytes say it is."""
    what = describe_content(head)
    if any(what == f"a {name} image" or what == f"an {name} image" for name in _FORMAT_NAMES.values()):
        return f"{label} is damaged: it starts like {what} but cannot be read as one."
    return f"{label} is {what}, not an image {APP_NAME} opens ({OPENED_FORMATS_TEXT})."


def decode_image(data: bytes, name: str = "image data", max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Decode encoded image bytes (as in a file) like :func:`load_image`: only :data:`OPEN_FORMATS`.

    ``name`` is used in error messages (a path, or a description such as "pasted image").
    """
    label = quoted(name)
    if not data:
        raise ImageError(f"{label} is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            # Pillow warns from ~89 megapixels (its global MAX_IMAGE_PIXELS); our own
            # ``max_pixels`` is the limit that counts, checked below before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.filterwarnings("ignore", message="Corrupt EXIF data", category=UserWarning)
            img = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
            w, h = img.size
            if w <= 0 or h <= 0:
                raise ImageError(f"{label} has no pixels ({w}x{h}).")
            if w * h > max_pixels:
                limit = (
                    f"{max_pixels / 1_000_000:g} megapixels" if max_pixels >= 1_000_000 else f"{max_pixels} pixels"
                )
                raise ImageError(f"{label} is too large: {w}x{h} pixels (the limit is {limit}).")
            img.seek(0)
            img.load()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{label} is too large to open safely (decompression bomb guard).") from None
    except UnidentifiedImageError:
        raise ImageError(refusal(label, data[:HEAD_BYTES])) from None
    except MemoryError:
        raise ImageError(f"{label} is too large to decode in the memory available.") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise ImageError(f"{label} is damaged or truncated ({exc}).") from None
    except Exception as exc:  # noqa: BLE001 - Pillow plugins raise assorted types on garbage
        raise ImageError(f"{label} could not be decoded ({type(exc).__name__}: {exc}).") from None
    try:
        with warnings.catch_warnings():
            # A damaged EXIF block is ignored (no rotation applied); the pixels are fine.
            warnings.filterwarnings("ignore", message="Corrupt EXIF data", category=UserWarning)
            return to_srgb_rgb(img)
    except MemoryError:
        raise ImageError(f"{label} is too large to convert in the memory available.") from None
    except Exception as exc:  # noqa: BLE001
        raise ImageError(f"{label} could not be converted to RGB ({exc}).") from None


def to_srgb_rgb(img: Image.Image) -> Image.Image:
    """Normalise a decoded Pillow image to 8-bit sRGB ``RGB`` (see :func:`load_image`)."""
    img = ImageOps.exif_transpose(img) or img
    icc = img.info.get("icc_profile")
    # First to a mode that colour management and compositing understand.
    if img.mode.startswith("I;16"):
        # 16-bit grayscale, any byte order: scale to 8 bits (65535 -> 255).
        img = img.convert("I").point(lambda v: v / 257).convert("L")
    elif img.mode == "I":
        img = _int32_to_l(img)
    elif img.mode in ("F", "1"):
        img = img.convert("L")
    elif img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    elif img.mode == "PA":
        img = img.convert("RGBA")
    if icc and img.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if img.mode in ("RGBA", "LA"):
                alpha = img.getchannel("A")
                base = img.convert("RGB" if img.mode == "RGBA" else "L")
                conv = ImageCms.profileToProfile(base, src, _SRGB_PROFILE, outputMode="RGB")
                conv.putalpha(alpha)
                img = conv
            else:
                img = ImageCms.profileToProfile(img, src, _SRGB_PROFILE, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: keep the pixels as they are (treated as sRGB)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def _int32_to_l(img: Image.Image) -> Image.Image:
    lo, hi = img.getextrema()
    scale = 255.0 / 65535.0 if hi > 255 else 1.0
    return img.point(lambda v: v * scale).convert("L")


def resize_long_side(img: Image.Image, long_side: int) -> Image.Image:
    """Resize so that the longer side is ``long_side`` px, keeping the aspect ratio (Lanczos)."""
    w, h = img.size
    size = scaled_size((h, w), long_side)
    if (size[1], size[0]) == (w, h):
        return img
    return img.resize((size[1], size[0]), Image.Resampling.LANCZOS)


def scaled_size(hw: tuple[int, int], long_side: int) -> tuple[int, int]:
    """``(height, width)`` with the longer side equal to ``long_side``, aspect kept, at least 1 px."""
    h, w = hw
    if h >= w:
        return long_side, max(1, round(w * long_side / h))
    return max(1, round(h * long_side / w)), long_side


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB Pillow image → ``(1, 3, H, W)`` float32 tensor in [0, 1]."""
    import torch

    if img.mode != "RGB":
        img = img.convert("RGB")
    buf = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    t = buf.view(img.size[1], img.size[0], 3).permute(2, 0, 1).unsqueeze(0)
    return t.float().div_(255.0).contiguous()


def tensor_to_pil(t: torch.Tensor) -> Image.Image:
    """``(1, 3, H, W)`` or ``(3, H, W)`` tensor in [0, 1] (clamped) → RGB Pillow image."""
    import torch

    if t.dim() == 4:
        t = t[0]
    # One float copy (clamp), scaled and rounded in place: a print-size image has few to spare.
    arr = t.detach().float().clamp(0, 1).mul_(255).round_().to(torch.uint8).permute(1, 2, 0).cpu().contiguous()
    # Copy through a bytearray rather than .numpy(): NumPy is not a dependency.
    buf = bytearray(arr.numel())
    torch.frombuffer(buf, dtype=torch.uint8).copy_(arr.reshape(-1))
    return Image.frombytes("RGB", (arr.shape[1], arr.shape[0]), buf)  # no bytes() copy: 150 MB at 8192 px


def _exif_bytes(text: str) -> bytes:
    exif = Image.Exif()
    exif[_EXIF_IMAGE_DESCRIPTION] = text
    return exif.tobytes()


def give_mode_of(path: Path, tmp_name: str) -> None:
    """Give the temporary file ``tmp_name`` (mkstemp's 0600) the permissions of the file it will
    replace at ``path``, or those a new file gets (0666 minus the umask)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0o666 & ~_UMASK
        os.chmod(tmp_name, mode)
    except OSError:
        pass


def save_image(
    img: Image.Image,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save ``img`` to ``path`` in the format given by its extension (PNG, JPEG, WebP, TIFF).

    ``metadata`` (JSON-serialisable) is embedded: as a PNG text chunk, or as the EXIF
    ImageDescription in JPEG, WebP and TIFF. JPEG holds at most 64 KB of EXIF: larger
    metadata is reduced for it (stored masks smaller or left out, see
    :func:`provenance.shrink_to_fit`) instead of failing the save. JPEG is written at
    quality 95 without chroma subsampling. The file is written to a temporary file in the same folder and
    renamed over the target only when complete, so a failure never leaves a
    half-written file or destroys an existing one. Raises :class:`ImageError`.
    """
    p = Path(path)
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted({e for e in SAVE_FORMATS}))
        raise ImageError(f"'{p}': unknown image type '{p.suffix or '(none)'}'; use one of {known}.")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageError(f"Cannot save '{p}': the folder '{folder}' does not exist.")
    kwargs: dict[str, Any] = {}
    text = json.dumps(metadata, sort_keys=True) if metadata is not None else None
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        if text is not None:
            info.add_itxt(METADATA_KEY, text)
        kwargs["pnginfo"] = info
    else:
        if text is not None:
            kwargs["exif"] = _exif_bytes(text)
            if fmt == "JPEG" and len(kwargs["exif"]) > JPEG_MAX_EXIF_BYTES:
                # One JPEG APP1 segment holds at most 64 KB: store the masks smaller, or
                # leave them out (see provenance.shrink_to_fit), rather than fail the save.
                overhead = len(kwargs["exif"]) - len(text)
                assert metadata is not None
                fitted = shrink_to_fit(metadata, JPEG_MAX_EXIF_BYTES - overhead, "a JPEG file")
                kwargs["exif"] = _exif_bytes(json.dumps(fitted, sort_keys=True)) if fitted else b""
                if len(kwargs["exif"]) > JPEG_MAX_EXIF_BYTES:
                    kwargs["exif"] = b""
        if fmt == "JPEG":
            kwargs.update(quality=95, subsampling=0)
        elif fmt == "WEBP":
            kwargs.update(quality=95)
        elif fmt == "TIFF":
            kwargs.update(compression="tiff_deflate")
    tmp_name = None
    try:
        remove_stale_parts(folder)  # left by a save that was killed before its rename
        fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=folder)
        # mkstemp creates the file readable by its owner only (0600); give the result the
        # permissions of the file it replaces, or those a new file gets (0666 minus umask).
        give_mode_of(p, tmp_name)
        with os.fdopen(fd, "wb") as fh:
            # convert() copies even an RGB image: a large result is saved without that copy.
            (img if img.mode == "RGB" else img.convert("RGB")).save(fh, format=fmt, **kwargs)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, p)
        tmp_name = None
    except PermissionError:
        raise ImageError(f"Cannot save '{p}': permission denied (is the folder read-only?).") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageError(f"Cannot save '{p}': {reason}.") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    return p


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The settings embedded by :func:`save_image`, checked (:func:`metadata.parse_metadata`), or
    ``None`` if the file has none. No pixels are decoded: a PNG's text chunks are those before
    its image data (where :func:`save_image` writes them).

    Raises :class:`ImageError` with one line naming the file if it is not an image of
    :data:`OPEN_FORMATS`, too large, damaged, or its settings are not what the app writes.
    """
    p = Path(path)
    try:
        with _opened_header(p) as img:
            if img.format == "PNG":
                # img.info, not img.text: .text decodes every pixel to look for chunks after them.
                text = img.info.get(METADATA_KEY)
            else:
                text = img.getexif().get(_EXIF_IMAGE_DESCRIPTION)
    except ImageError:
        raise
    except PermissionError:
        raise ImageError(f"{_describe(p)} cannot be read: permission denied.") from None
    except MemoryError:
        raise ImageError(f"{_describe(p)} is too large to read in the memory available.") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error,
            RecursionError) as exc:
        # ValueError: e.g. Pillow's limit on a text chunk ("Decompressed data too large").
        raise ImageError(f"{_describe(p)} is damaged or its metadata cannot be read ({type(exc).__name__}: "
                         f"{str(exc)[:200]}).") from None
    if not text or not isinstance(text, (str, bytes)):
        return None
    return parse_metadata(text, str(p))


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError:
        return b""

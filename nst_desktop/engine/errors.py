"""Error types raised by the engine. Each message names the file or setting at fault."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ImageError(EngineError):
    """An image could not be read or written. The message names the file and the problem."""


class WeightsError(EngineError):
    """Network weights are missing, corrupt or of the wrong kind."""


class DownloadError(WeightsError):
    """A weights download failed (connection, truncation, wrong hash, cancelled)."""


class DownloadCancelled(DownloadError):
    """The caller cancelled a weights download."""


class OutOfMemory(EngineError):
    """The device ran out of memory at some size.

    ``size`` is the long side (px) that failed and ``fits`` the largest long side the
    engine estimates would fit on that device (``None`` if no estimate is possible).
    """

    def __init__(self, message: str, size: int, fits: int | None) -> None:
        super().__init__(message)
        self.size = size
        self.fits = fits


class TooLarge(OutOfMemory):
    """A size that cannot fit the memory budget even in tiles: refused before the run starts
    (``fits``: the largest long side whose run does fit)."""


class NumericalError(EngineError):
    """The optimisation produced NaN or Inf and could not recover."""


def quoted(name: object) -> str:
    """A file name for a one-line message: in single quotes, characters that are not printable (a
    newline, an escape sequence, an undecodable byte of a file name) written as escapes."""
    text = str(name)
    return "'" + "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text) + "'"

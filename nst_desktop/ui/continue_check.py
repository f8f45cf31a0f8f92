"""Whether Continue can go on from a result with the photo now loaded.

Continue paints on from a result with the Content pane's photo as the content target. After a
different photo is loaded, going on would paint the new photo over the old result, squashed to
the new photo's shape: Continue is then disabled, and its tooltip says why.
:class:`PaintedFrom` remembers which photo (the very image object) each result was painted from;
results whose photo is not known (recovered, opened from a file) are checked by their shape.
"""

from __future__ import annotations

from PIL import Image

from nst_desktop.engine import StyleResult

PHOTO_CHANGED = ("The photo changed since this result was painted: Stylize paints the new photo "
                 "(Continue goes on only from a result of the photo shown)")


def shape_changed(result_wh: tuple[int, int], photo_wh: tuple[int, int]) -> bool:
    """True if a result of ``result_wh`` (width, height, px) is not the shape of a photo of
    ``photo_wh``, allowing the rounding of the result's short side (one pixel)."""
    (w, h), (pw, ph) = result_wh, photo_wh
    return abs(w * ph - h * pw) > max(pw, ph)


def _same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a is b or (a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes())


class PaintedFrom:
    """The photo each result was painted from (compared by pixels, so reopening the same photo
    keeps Continue). Results are held only while :meth:`keep_only` is given them."""

    def __init__(self) -> None:
        self._photos: dict[int, tuple[StyleResult, Image.Image]] = {}
        self._same: tuple[Image.Image, Image.Image, bool] | None = None  # the last comparison

    def note(self, result: StyleResult, photo: Image.Image) -> None:
        """``result`` was painted from ``photo``."""
        self._photos[id(result)] = (result, photo)

    def photo_of(self, result: StyleResult) -> Image.Image | None:
        """The photo ``result`` was painted from (None: not known)."""
        held = self._photos.get(id(result))
        return held[1] if held is not None and held[0] is result else None

    def keep_only(self, results: list[StyleResult]) -> None:
        """Forget the photos of results not among ``results`` (those no longer shown or kept)."""
        keep = {id(r) for r in results}
        self._photos = {k: v for k, v in self._photos.items() if k in keep}

    def continue_problem(self, result: StyleResult, photo: Image.Image) -> str | None:
        """Why Continue cannot go on from ``result`` with ``photo`` loaded (None: it can)."""
        painted = self.photo_of(result)
        if painted is not None:
            if self._same is None or self._same[0] is not painted or self._same[1] is not photo:
                self._same = (painted, photo, _same_pixels(painted, photo))
            if not self._same[2]:
                return PHOTO_CHANGED
            return None
        w, h = result.image.size
        if shape_changed((w, h), photo.size):
            return (f"This result ({w} × {h} px) is not the shape of the photo shown: Stylize paints the photo "
                    "(Continue goes on only from a result of the same shape)")
        return None

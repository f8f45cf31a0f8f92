"""Measuring this computer: the speed model of a run's time (speed), the speed test behind the first estimate
(calibrate) and nst-desktop-cli bench (bench); and measuring results: their brush strokes' size (strokes).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "measure_speed": "calibrate",
    "Speed": "speed",
    "run_seconds": "speed",
    "run_bench": "bench",
    "stroke_scale": "strokes",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

"""Which settings of a saved run (a result's ``metadata["params"]``) the run-settings panel can
show again: each value checked against the panel's ranges and choices, the rest named as skipped.
"""

from __future__ import annotations

import math

from nst_desktop.engine import preset_for_steps
from nst_desktop.engine.params import (
    LAYER_WEIGHTS,
    LAYER_WEIGHTS_BEFORE,
    MAX_SIZE,
    MAX_STYLE_SCALE,
    MAX_STYLE_STRENGTH,
    MIN_SIZE,
    MIN_STYLE_SCALE,
    MIN_STYLE_STRENGTH,
)
from nst_desktop.services.settings import MAX_SEED
from nst_desktop.ui.control_choices import INIT_CHOICES, PRESERVE_COLOR_CHOICES

#: The numbers a saved run may restore, with their inclusive ranges.
_NUMBER_RANGES = (
    ("size", MIN_SIZE, MAX_SIZE),
    ("style_strength", MIN_STYLE_STRENGTH, MAX_STYLE_STRENGTH),
    ("style_scale", MIN_STYLE_SCALE, MAX_STYLE_SCALE),
    ("seed", 0, MAX_SEED),
)


def restorable_params(p: dict[str, object]) -> tuple[dict[str, object], list[str]]:
    """(values, skipped) of the saved run parameters ``p``. ``values`` has, where valid: the numbers
    "size", "style_strength", "style_scale", "seed" (floats), "seamless" (bool), "init" and
    "preserve_colors" (choice values), "quality" (the preset whose steps ``p["steps"]`` are) and
    "leave_out_objects" (bool; False where ``p`` has none: the run was made without the option) and
    "layer_weights" (a choice; "even" where ``p`` has none: the run was made before the choice).
    ``skipped``: the keys present in ``p`` but out of range or unknown, in that order."""
    values: dict[str, object] = {}
    skipped: list[str] = []
    for key, lo, hi in _NUMBER_RANGES:
        v = p.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi:
            values[key] = float(v)
        elif key in p:
            skipped.append(key)
    if isinstance(p.get("seamless"), bool):
        values["seamless"] = p["seamless"]
    leave_out = p.get("leave_out_objects", False)
    if isinstance(leave_out, bool):
        values["leave_out_objects"] = leave_out
    else:
        skipped.append("leave_out_objects")
    layers = p.get("layer_weights", LAYER_WEIGHTS_BEFORE)
    if layers in LAYER_WEIGHTS:
        values["layer_weights"] = layers
    else:
        skipped.append("layer_weights")
    for key, choices in (("init", INIT_CHOICES), ("preserve_colors", PRESERVE_COLOR_CHOICES)):
        if key in p:
            if any(p[key] == value for _, value in choices):
                values[key] = p[key]
            else:
                skipped.append(key)
    preset = preset_for_steps(p.get("steps"))
    if preset is not None:
        values["quality"] = preset
    elif "steps" in p:
        skipped.append("steps")
    return values, skipped

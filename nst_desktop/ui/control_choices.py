"""What the run-settings panel offers and how it labels it: the style-strength slider's log
scale, the Colours / Start-from / Quality choices, each control's tooltip, the Weights status
line, and which device
"auto" means. No widgets here; :mod:`nst_desktop.ui.controls` builds them from these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nst_desktop.engine.device import DeviceInfo
from nst_desktop.engine.params import MAX_STYLE_STRENGTH, MIN_STYLE_STRENGTH

#: Style-strength slider: integer positions, log scale. Position p means
#: 10 ** (p / STRENGTH_TICKS_PER_DECADE) x MIN_STYLE_STRENGTH.
STRENGTH_TICKS_PER_DECADE = 100
_STRENGTH_DECADES = round(math.log10(MAX_STYLE_STRENGTH / MIN_STYLE_STRENGTH))
STRENGTH_SLIDER_MAX = _STRENGTH_DECADES * STRENGTH_TICKS_PER_DECADE

#: Preserve-colours choices: (label, StyleParams.preserve_colors value).
PRESERVE_COLOR_CHOICES = (
    ("The painting's", "none"),
    ("The photo's (style painted in brightness only)", "luminance"),
    ("The photo's (painting recoloured to them first)", "match"),
)
#: Start-from choices: (label, StyleParams.init value).
INIT_CHOICES = (
    ("Photo recoloured to the painting's colours", "palette"),
    ("Photo as it is", "content"),
    ("Random noise", "noise"),
)

QUALITY_LABELS = {"fast": "Fast", "balanced": "Balanced", "best": "Best"}

#: Each control's tooltip while it can be changed, by the panel's attribute name.
#: How a result or queue item made with the objects checkbox unticked is described (the default leaves
#: them out, so only this case is named).
OBJECTS_KEPT = "painting's objects kept"
#: How a result or queue item made with all style layers alike is described (the default weighs the
#: fine layers first, so only this case is named).
EVEN_LAYERS = "all layers alike"

CONTROL_TIPS = {
    "size_spin": "Long side of the result in pixels; the content's aspect ratio is kept",
    "strength_slider": "How strongly the style is applied (log scale, 0.01× to 100×; "
    "1× is the tuned default)",
    "preserve_combo": "Whose colours the result has. The painting's: its colours and its strokes. "
    "The photo's, brightness only: the style's strokes and light, the photo's hues kept exactly. "
    "The photo's, painting recoloured: the painting is first recoloured to the photo's palette, then "
    "painted in full",
    "scale_spin": "Size of the brush strokes: the painting's size relative to the result "
    "(larger = coarser strokes)",
    "objects_check": "Leave the painting's one-off objects (faces, eyes, animals) out of the style: only its "
    "recurring brushwork is painted, so no eye or face of a portrait turns up in the photo's sky. A painting "
    "that is all brushwork loses nothing. Untick to paint them too, as results made before this option",
    "layers_check": "Weigh the painting's fine layers (its strokes' texture and colour) most and its deep "
    "layers (large forms, objects) least: the photo's scene stays clean, with no fur or stars pasted into "
    "it. Untick to weigh all layers alike, as results made before this option",
    "quality_combo": "More steps paint more carefully and take longer",
    "init_combo": ("What the painting starts from: the photo recoloured to the painting's colours "
                   "(only while Colours is the painting's), the photo as it is, or random noise "
                   "(a new picture for each seed)"),
    "seed_spin": "Random seed of the noise start: the same seed and settings paint the same picture",
    "new_seed_button": "Pick a new random seed",
    "device_combo": "Where the painting is computed; a GPU is much faster",
    "weights_combo": "Network that judges content and style. The bundled Caffe weights work "
    "offline; torchvision's are a 548 MB download",
}


def quality_label(key: str, steps: int | None) -> str:
    """A Quality entry: the preset's name, with its step budget once the engine knows it."""
    return QUALITY_LABELS.get(key, key.title()) + (f" ({steps} steps)" if steps is not None else "")


def weights_status(source: str, downloaded: bool) -> str:
    """The line under Weights for ``source`` ("bundled" or "torchvision"; ``downloaded``: its file is there)."""
    if source == "torchvision" and not downloaded:
        return "torchvision's VGG19 is not downloaded yet (548 MB)."
    if source == "torchvision":
        return "torchvision's VGG19 is downloaded."
    return "Bundled with the app; works offline."


def strength_to_position(strength: float) -> int:
    """Style strength (0.01-100) -> slider position (0-400), log scale."""
    s = min(MAX_STYLE_STRENGTH, max(MIN_STYLE_STRENGTH, strength))
    return round(math.log10(s / MIN_STYLE_STRENGTH) * STRENGTH_TICKS_PER_DECADE)


def position_to_strength(position: int) -> float:
    """Slider position (0-400) -> style strength (0.01-100), rounded to 3 significant digits."""
    value = MIN_STYLE_STRENGTH * 10 ** (position / STRENGTH_TICKS_PER_DECADE)
    return float(f"{value:.3g}")


def auto_device_id(devices: Sequence[DeviceInfo]) -> str:
    """What "auto" resolves to among ``devices`` (as engine.devices.resolve_device does)."""
    ids = [d.id for d in devices]
    for candidate in ("cuda:0", "mps"):
        if candidate in ids:
            return candidate
    return "cpu"

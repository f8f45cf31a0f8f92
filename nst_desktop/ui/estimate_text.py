"""The estimate under Output size: the result's pixel size, its memory, its time (or why no time
is known yet), the tiles note, and a red warning when it is too large for the device's memory.
Rich text (``<br>``-separated lines) for the run-settings panel's label.
"""

from __future__ import annotations

from nst_desktop.engine.device import DeviceInfo
from nst_desktop.services.jobs import RunEstimate, format_bytes, format_duration, largest_fitting_long_side
from nst_desktop.ui.tiles_note import tiles_note

#: Fraction of a device's memory a run may plan to use before the size hint warns.
MEMORY_HEADROOM = 0.9

#: How the estimate's basis (:attr:`RunEstimate.basis`) is shown (a guess is not shown).
BASIS_TEXT = {"runs": "from your earlier runs", "test": "from a speed test on this computer"}
#: The time's place while the speed test measures the chosen device, and where nothing has.
MEASURING = "measuring this computer's speed…"
NOT_MEASURED = "known after the first run on this device"

#: The estimate's place while the engine loads (the first seconds after the window opens).
ENGINE_LOADING = "Loading the painting engine…<br>The time and memory estimate follows in a moment."


def estimate_text(est: RunEstimate, device_id: str, info: DeviceInfo | None, aspect_hw: tuple[int, int] | None,
                  measuring: str | None, seamless: bool) -> str:
    """The estimate ``est`` of a run on ``device_id`` (``info``: its description, if known) as shown
    under Output size. ``aspect_hw``: the content's (height, width), None before one is loaded (then
    4:3 is assumed and said); ``measuring``: the device the speed test is measuring, if any."""
    aspect = aspect_hw or (3, 4)
    where = "the CPU" if device_id == "cpu" else (info.label if info else device_id)
    size_text = f"{est.width} × {est.height} px" if aspect_hw else f"{est.width} × {est.height} px (4:3)"
    if est.measured:
        time_text = f"Time: about {format_duration(est.seconds)} on {where} ({BASIS_TEXT[est.basis]})"
    elif measuring == device_id:
        time_text = f"Time: {MEASURING}"
    else:  # another machine's guess was several times off: no number
        time_text = f"Time: {NOT_MEASURED}"
    lines = [size_text, f"Memory: about {format_bytes(est.memory_bytes)}", time_text]
    if note := tiles_note(est.tile, est.width, est.height, seamless):
        lines.append(note)
    text = "<br>".join(lines)
    if est.too_large:
        hint = f" About {est.fits} px fits." if est.fits else ""
        text += f"<br><span style='color:#c0392b'>Too large for the memory of {where}, even in tiles.{hint}</span>"
    elif info and info.memory_bytes and est.memory_bytes > MEMORY_HEADROOM * info.memory_bytes:
        fits = largest_fitting_long_side(int(MEMORY_HEADROOM * info.memory_bytes), aspect, device_id)
        hint = f"; about {fits} px fits" if fits else ""
        text += (
            f"<br><span style='color:#c0392b'>May not fit in the {format_bytes(info.memory_bytes)} "
            f"of {where}{hint}.</span>"
        )
    return text  # the normal font (<small> made it the smallest text of the window)

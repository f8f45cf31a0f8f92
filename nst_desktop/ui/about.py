"""Text of the About box: program, library versions, device and weights in use."""

from __future__ import annotations

import html
import platform

import PySide6
from PySide6.QtCore import qVersion

from nst_desktop.app_info import APP_NAME, APP_SUMMARY, APP_VERSION


def about_html(device: str, weights: str) -> str:
    """HTML for the About box. ``device`` and ``weights`` describe what runs use now."""
    import torch  # loaded by now (the About box opens from the running window); not with this module

    rows = [
        ("Version", APP_VERSION),
        ("PyTorch", torch.__version__),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Python", platform.python_version()),
        ("Device", device),
        ("Weights", weights),
    ]
    table = "".join(
        f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    return (
        f"<h3>{html.escape(APP_NAME)}</h3><p>{html.escape(APP_SUMMARY)}.</p>"
        "<p>Neural style transfer after Gatys, Ecker &amp; Bethge (CVPR 2016), on VGG19.</p>"
        f"<table>{table}</table>"
    )

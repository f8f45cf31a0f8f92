"""``nst-desktop-cli info [IMAGE]``: versions, devices and weights; or the settings stored in a result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nst_desktop.app_info import APP_NAME, APP_VERSION


def add_parser(sub: Any) -> None:
    """Register ``info`` on the subparsers ``sub``."""
    info = sub.add_parser("info", help="versions, devices and weights; or the settings stored in an image")
    info.add_argument("image", type=Path, nargs="?", default=None, metavar="IMAGE",
                      help="a result: print the settings and regions stored in it")


def run(args: argparse.Namespace) -> int:
    return _cmd_info_image(args.image) if args.image is not None else _cmd_info()


def _cmd_info_image(path: Path) -> int:
    """Print the settings and regions stored in a result (1 if it cannot be read)."""
    import json

    from nst_desktop.engine import ImageError, read_metadata
    from nst_desktop.engine.provenance import describe_regions

    try:
        meta = read_metadata(path)
    except ImageError as exc:
        print(f"nst-desktop-cli: error: {exc}", file=sys.stderr)
        return 1
    if meta is None:
        print(f"{path}: no {APP_NAME} settings stored")
        return 0
    def show(value: object) -> str:
        """A stored value for the terminal: text as is, the rest as JSON; unprintable characters as '?'
        (the metadata comes from a file, which may carry terminal escape sequences)."""
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return "".join(ch if ch.isprintable() else "?" for ch in text)

    print(f"{show(str(path))}: made by {show(meta.get('program', '?'))} {show(meta.get('version', '?'))}")
    params = meta.get("params")
    if isinstance(params, dict):
        print("settings: " + ", ".join(f"{show(k)}={show(json.dumps(v))}" for k, v in sorted(params.items())))
    for key in ("style_weights", "steps_done", "elapsed_s", "cancelled", "continued", "weights_name"):
        if key in meta:
            print(f"{key}: {show(meta[key])}")
    print(f"regions: {show(describe_regions(meta) or 'none')}")
    inputs = meta.get("inputs")
    if isinstance(inputs, dict):
        for key, value in inputs.items():
            print(f"input {show(key)}: {show(value)}")
    return 0


def _cmd_info() -> int:
    import platform

    import PIL
    import torch

    from nst_desktop.engine.device import available_devices, resolve_device
    from nst_desktop.engine.net import Precision, bundled_path, torchvision_available
    from nst_desktop.services.paths import cache_dir

    print(f"{APP_NAME} {APP_VERSION}")
    print(f"Python {platform.python_version()}, torch {torch.__version__}, Pillow {PIL.__version__}")
    default = resolve_device("auto")
    print(f"default device: {default}, network in {Precision.choose('auto', default).describe()}")
    for d in available_devices():
        mem = f", {d.memory_bytes / 2**30:.1f} GiB" if d.memory_bytes else ""
        print(f"  device {d.id}: {d.label}{mem}")
    try:
        print(f"weights bundled: {bundled_path()}")
    except Exception as exc:  # noqa: BLE001 - report, don't crash the info command
        print(f"weights bundled: missing ({exc})")
    state = "downloaded" if torchvision_available(cache_dir()) else "not downloaded (548 MB on first use)"
    print(f"weights torchvision: {state}")
    return 0


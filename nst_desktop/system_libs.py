"""The system libraries Qt's X11 (xcb) window needs, checked before anything imports Qt.

PySide6's wheels bundle Qt, but not the X11 client libraries its xcb platform plugin links
to. When one is missing, Qt aborts with "xcb-cursor0 or libxcb-cursor0 is needed to load the
Qt xcb platform plugin", whichever library it is. ``nst-desktop`` calls
:func:`missing_window_libraries` first and prints :func:`missing_message`, one line naming
the missing libraries and the command that installs them, instead.

Standard library only (no Qt, no torch), so that ``packaging/dev/setup.sh`` can run this
file with the system Python before any virtual environment exists::

    python3 nst_desktop/system_libs.py            # the Debian packages of the missing libraries
    python3 nst_desktop/system_libs.py --all      # the Debian packages of all of them
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from collections.abc import Callable, Mapping

# Every shared library outside Qt that PySide6's Qt (Core, Gui, Widgets, DBus, XcbQpa) and its
# xcb platform plugin link to (readelf -d: NEEDED), but glibc and the C++ runtime, with the
# Debian/Ubuntu package that has it. In load order: a library's dependencies come before it.
WINDOW_LIBRARIES: dict[str, str] = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfreetype.so.6": "libfreetype6",
    "libfontconfig.so.1": "libfontconfig1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def _dlopen(name: str) -> None:
    ctypes.CDLL(name)


def uses_xcb(env: Mapping[str, str] | None = None, platform: str | None = None, frozen: bool | None = None) -> bool:
    """Whether Qt will start on its X11 (xcb) platform plugin, the one that needs these libraries.

    Not on other systems, not in the frozen app (its package brings them), not with
    ``QT_QPA_PLATFORM`` naming another platform first (offscreen, wayland, ...), and not, with
    ``QT_QPA_PLATFORM`` unset, in a Wayland session (``WAYLAND_DISPLAY`` set or
    ``XDG_SESSION_TYPE=wayland``), where Qt tries Wayland first (QGuiApplication's own order).
    A missing ``DISPLAY`` does not matter: Qt then still tries xcb, and loading the plugin,
    which needs the libraries, comes before looking for a display.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    if not platform.startswith("linux") or frozen:
        return False
    qpa = env.get("QT_QPA_PLATFORM", "").strip()
    if qpa:  # "xcb", "xcb:arguments" or a fallback list "wayland;xcb": the first is tried first
        return qpa.split(";")[0].split(":")[0].strip().lower() == "xcb"
    return not env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE", "").strip().lower() != "wayland"


def missing_libraries(names: list[str] | tuple[str, ...], load: Callable[[str], None] | None = None) -> list[str]:
    """The libraries of ``names`` that the dynamic loader cannot load.

    When a library is there but one of its dependencies is not, the loader names the
    dependency: then the library itself is not reported, if the dependency is among ``names``
    (it is reported there). ``load`` (default: dlopen) raises OSError for a library it cannot load.
    """
    load = _dlopen if load is None else load
    missing = []
    for name in names:
        try:
            load(name)
        except OSError as exc:
            culprit = str(exc).split(":", 1)[0].strip()
            if culprit == name or culprit not in names:
                missing.append(name)
    return missing


def missing_window_libraries(
    env: Mapping[str, str] | None = None,
    load: Callable[[str], None] | None = None,
    platform: str | None = None,
    frozen: bool | None = None,
) -> list[str]:
    """The libraries the window needs that are not installed; empty when none is or Qt will not use xcb."""
    if not uses_xcb(env, platform, frozen):
        return []
    return missing_libraries(tuple(WINDOW_LIBRARIES), load)


def packages_for(libraries: list[str]) -> list[str]:
    """The Debian/Ubuntu packages that have ``libraries``, each once, in order."""
    return list(dict.fromkeys(WINDOW_LIBRARIES[lib] for lib in libraries))


def install_command(packages: list[str], is_root: bool | None = None, has_apt: bool | None = None) -> str | None:
    """``sudo apt-get install ...`` (no sudo for root), or None where there is no apt-get."""
    has_apt = shutil.which("apt-get") is not None if has_apt is None else has_apt
    if not has_apt:
        return None
    is_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if is_root is None else is_root
    return ("" if is_root else "sudo ") + "apt-get install " + " ".join(packages)


def missing_message(libraries: list[str], is_root: bool | None = None, has_apt: bool | None = None) -> str:
    """One line: what is missing and how to install it."""
    packages = packages_for(libraries)
    cmd = install_command(packages, is_root, has_apt)
    how = (
        f"install them with: {cmd}"
        if cmd
        else f"install the packages of your distribution that have them (Debian/Ubuntu: {' '.join(packages)})"
    )
    return f"nst-desktop: cannot open a window: missing system libraries {', '.join(libraries)}; {how}"


def main(argv: list[str] | None = None) -> int:
    """Print the Debian packages of the missing window libraries (``--all``: of all of them), one a line."""
    args = sys.argv[1:] if argv is None else argv
    libraries = list(WINDOW_LIBRARIES) if "--all" in args else missing_libraries(tuple(WINDOW_LIBRARIES))
    for package in packages_for(libraries):
        print(package)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

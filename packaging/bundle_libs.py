"""Which system libraries the Linux bundle carries, and which it takes from the OS.

PyInstaller copies into the bundle every shared library that a collected binary links to and
that PyInstaller does not leave to the OS (glibc, libGL/libEGL, libxcb, libwayland-*), from
wherever the build machine has it. So a machine with more installed gave a bigger bundle: with
GTK 3 installed, Qt's GTK 3 theme plugin brought libgtk-3 and its whole stack, and through them
``Depends:`` on GTK and Wayland. This module makes the bundle a function of the commit:

- :data:`BUNDLED`: the allow-list, every system library the bundle may carry.
- :data:`FROM_OS`: the libraries it takes from the OS, each with the Debian package named in
  ``Depends:`` (or ``Recommends:`` when only Qt's Wayland platform needs it).
- :func:`select_binaries` (in the spec): keeps the system libraries a kept binary needs (directly
  or through another) and drops the rest, such as those only a dropped plugin needed.
- :func:`check_folder` (in build.py, after freezing): every system library in the folder is
  allowed and every library a bundled file links to is in the bundle or in :data:`FROM_OS`;
  otherwise :class:`BundleError`, one line naming the library, who needs it and where it came from.
- :func:`relations`: ``Depends:``/``Recommends:`` from the ``DT_NEEDED`` entries of the bundled
  files and these tables only (no ldd, no dpkg), so the same folder gives the same fields on any
  machine.

Standard library only: the spec and build.py import it, and the tests run it on fixture trees.
"""

from __future__ import annotations

import mmap
import os
import struct
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

#: Where the frozen app's libraries are, inside the one-folder build (PyInstaller >= 6).
INTERNAL = "_internal"

# Every system library the bundle may carry (soname -> Debian package on the build machine, for
# the reader), besides the Python library (libpython3.*): what Qt's window (X11/xcb, fonts,
# D-Bus, GLib), the interpreter's extension modules and torch link to, as a Debian 12 build
# collects them; a build that would carry another one stops.
BUNDLED: dict[str, str] = {
    # C++ runtime of Qt, shiboken and torch
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    # Qt's window: X11 and the xcb extensions (libxcb itself comes from the OS), keyboard
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    # fonts
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libpng16.so.16": "libpng16-16",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libexpat.so.1": "libexpat1",
    # D-Bus (Qt's portal theme, accessibility) and GLib (Qt's event loop)
    "libdbus-1.so.3": "libdbus-1-3",
    "libsystemd.so.0": "libsystemd0",
    "libcap.so.2": "libcap2",
    "libgcrypt.so.20": "libgcrypt20",
    "libgpg-error.so.0": "libgpg-error0",
    "liblz4.so.1": "liblz4-1",
    "libzstd.so.1": "libzstd1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpcre2-8.so.0": "libpcre2-8-0",
    # Python's extension modules the app imports (ssl/hashlib, ctypes, compression, sqlite3, uuid)
    "libssl.so.3": "libssl3",
    "libcrypto.so.3": "libssl3",
    "libffi.so.8": "libffi8",
    "libz.so.1": "zlib1g",
    "libbz2.so.1.0": "libbz2-1.0",
    "liblzma.so.5": "liblzma5",
    "libuuid.so.1": "libuuid1",
    "libsqlite3.so.0": "libsqlite3-0",
    # Qt's network library (QtNetwork: the local socket that hands a second launch's files to the
    # open window) links to GSSAPI/Kerberos
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libkrb5.so.3": "libkrb5-3",
    "libk5crypto.so.3": "libk5crypto3",
    "libkrb5support.so.0": "libkrb5support0",
    "libcom_err.so.2": "libcom-err2",
    "libkeyutils.so.1": "libkeyutils1",
}

# Libraries the bundle takes from the OS (PyInstaller never copies them): soname -> Debian package.
FROM_OS: dict[str, str] = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libutil.so.1": "libc6",
    "libresolv.so.2": "libc6",
    "libanl.so.1": "libc6",
    "libthread_db.so.1": "libc6",
    "ld-linux-x86-64.so.2": "libc6",
    "ld-linux-aarch64.so.1": "libc6",
    "libcrypt.so.1": "libcrypt1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libGLESv2.so.2": "libgles2",
    "libdrm.so.2": "libdrm2",
    "libxcb.so.1": "libxcb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libwayland-server.so.0": "libwayland-server0",
}

# Files the hooks collect that the app never uses (PyInstaller destinations, every platform):
# torch's C++ test programs and test libraries (about 130 MB), Qt plugins for embedded/kiosk/VNC
# displays and touch devices, the GTK 3 platform theme (it would mix the bundled Qt with the
# user's GTK; Qt falls back to the XDG desktop portal theme), QtNetwork's plugins, and Qt
# libraries only those need.
# On Linux, the system libraries only these needed then go too (select_binaries).
UNUSED = (
    "torch/test/*", "torch/bin/*", "torch/lib/*test*", "torch/lib/*backend_with_compiler*",
    "torch/lib/*aoti_custom_ops*",
    "PySide6/Qt/plugins/egldeviceintegrations/*", "PySide6/Qt/plugins/generic/*",
    "PySide6/Qt/plugins/platforms/*qeglfs*", "PySide6/Qt/plugins/platforms/*qlinuxfb*",
    "PySide6/Qt/plugins/platforms/*qvnc*", "PySide6/Qt/plugins/platforms/*qvkkhrdisplay*",
    "PySide6/Qt/plugins/platforms/*qminimalegl*", "PySide6/Qt/plugins/platformthemes/*qgtk3*",
    # QtNetwork is there for its local socket only: no network reachability (GLib/GIO, NetworkManager), no TLS.
    "PySide6/Qt/plugins/networkinformation/*", "PySide6/Qt/plugins/tls/*",
)
KEEP = ("torch/bin/torch_shm_manager*",)  # torch's shared-memory helper
# By file name, wherever they are (PyInstaller also links some into the top folder).
UNUSED_LIBS = ("libQt6EglFSDeviceIntegration.so*", "libQt6EglFsKmsSupport.so*")

#: Packages the app needs that no file links to: Qt loads OpenGL/EGL at run time, and needs
#: fontconfig's configuration (and through it one font) to draw any text.
ALWAYS_DEPENDS = ("libgl1", "libegl1", "libfontconfig1")

_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_SONAME = 0, 1, 5, 14


class BundleError(Exception):
    """The bundle is not what the policy allows; the message is one line."""


@dataclass(frozen=True)
class ElfLinks:
    """What one ELF file says about linking: its own name (``DT_SONAME``, or None) and ``DT_NEEDED``."""

    soname: str | None
    needed: tuple[str, ...]


def read_links(path: Path) -> ElfLinks | None:
    """The dynamic-linking entries of a 64-bit little-endian ELF file; None for any other file.

    Reads the program headers (what the loader reads), so stripped files work too. A file that
    starts like ELF but whose tables point outside it raises :class:`BundleError`.
    """
    with open(path, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:  # libtorch_cpu.so is 400 MB
            return _links(path, data)


def _links(path: Path, data: mmap.mmap) -> ElfLinks:
    if len(data) < 64 or data[4] != 2 or data[5] != 1:  # ELFCLASS64, ELFDATA2LSB
        raise BundleError(f"{path}: not a 64-bit little-endian ELF file")
    try:
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        loads, dynamic = [], None
        for i in range(phnum):
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = struct.unpack_from(
                "<IIQQQQQQ", data, phoff + i * phentsize)
            if p_type == _PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == _PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return ElfLinks(None, ())  # statically linked
        entries = []
        for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
            tag, val = struct.unpack_from("<qQ", data, off)
            if tag == _DT_NULL:
                break
            entries.append((tag, val))
        strtab_vaddr = next((v for t, v in entries if t == _DT_STRTAB), None)
        strtab = next((off + strtab_vaddr - va for va, off, size in loads
                       if strtab_vaddr is not None and va <= strtab_vaddr < va + size), None)
        if strtab is None:
            raise BundleError(f"{path}: ELF dynamic section without a string table")

        def string(offset: int) -> str:
            start = strtab + offset
            end = data.find(b"\0", start)
            if start >= len(data) or end < 0:
                raise ValueError(f"string at {start} outside the file")
            return data[start:end].decode("ascii")

        soname = next((string(v) for t, v in entries if t == _DT_SONAME), None)
        return ElfLinks(soname, tuple(string(v) for t, v in entries if t == _DT_NEEDED))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: malformed ELF file ({exc})") from None


def used(dest: str) -> bool:
    """Whether the collected file ``dest`` (its place in the bundle) is one the app uses (not :data:`UNUSED`)."""
    dest = dest.replace("\\", "/")
    if any(fnmatch(dest, pat) for pat in KEEP):
        return True
    name = dest.rsplit("/", 1)[-1]
    return not (any(fnmatch(dest, pat) for pat in UNUSED) or any(fnmatch(name, pat) for pat in UNUSED_LIBS))


def allowed(name: str) -> bool:
    """Whether the system library ``name`` may be bundled (:data:`BUNDLED`, or the Python library of any 3.x)."""
    return name in BUNDLED or name.startswith("libpython3.")


def wayland_named(rel: str) -> bool:
    """Whether the bundled file ``rel`` is, by its name, part of Qt's Wayland platform (plugins, client library)."""
    return "wayland" in rel.lower()


def wayland_only(scanned: Folder) -> set[str]:
    """The bundled files only Qt's Wayland platform loads: those named so, and the libraries that only
    such files link to (``libQt6WlShellIntegration``, needed by the Wayland shell plugins alone)."""
    by_name: dict[str, list[str]] = {}
    for rel, found in scanned.elves.items():
        for name in {Path(rel).name, found.soname} - {None}:
            by_name.setdefault(name, []).append(rel)
    needers: dict[str, set[str]] = {rel: set() for rel in scanned.elves}
    for rel, found in scanned.elves.items():
        for name in found.needed:
            for target in by_name.get(name, ()):
                needers[target].add(rel)
    only = {rel for rel in scanned.elves if wayland_named(rel)}
    grown = True
    while grown:
        grown = False
        for rel, who in needers.items():
            if rel not in only and who and who <= only:
                only.add(rel)
                grown = True
    return only


def is_system_library(rel: str) -> bool:
    """Whether ``rel`` (relative to the app folder) is where PyInstaller puts libraries from the system.

    Libraries of Python packages keep their place inside the package (``_internal/torch/lib/...``,
    ``_internal/PySide6/Qt/lib/...``, ``_internal/pillow.libs/...``); those from the system and the
    Python library land directly in ``_internal/``.
    """
    parts = Path(rel).parts
    return len(parts) == 2 and parts[0] == INTERNAL and ".so" in parts[1]


# ------------------------------------------------------------------------------ spec side


def _under(path: str, roots: Iterable[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def select_binaries(
    binaries: list[tuple[str, str, str]], python_roots: Iterable[str],
    links: Callable[[Path], ElfLinks | None] = read_links,
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The PyInstaller binaries to keep, and the system libraries dropped (``(name, source)``).

    ``binaries`` are PyInstaller TOC entries ``(dest, source, typecode)``; a system library is one
    whose source is outside ``python_roots`` (the build venv and its base Python). Kept: every
    non-system binary, and the system libraries they need (directly or through each other) that
    :data:`FROM_OS` does not leave to the OS. Dropped: the other system libraries, such as the GTK 3
    stack that only the (dropped) GTK 3 theme plugin needed, wherever PyInstaller found it.
    Libraries needed but not in :data:`BUNDLED` are kept, for :func:`check_folder` to name.
    """
    roots = [os.path.realpath(r) for r in python_roots]
    system = {}
    others = []
    for entry in binaries:
        dest, src, typecode = entry
        if typecode in ("BINARY", "EXTENSION") and os.path.isabs(src) and not _under(src, roots):
            system[Path(dest).name] = entry
        else:
            others.append(entry)
    wanted: set[str] = set()
    todo = [e for e in others if e[2] in ("BINARY", "EXTENSION")]
    while todo:
        entry = todo.pop()
        found = links(Path(entry[1]))
        for name in found.needed if found else ():
            if name in system and name not in wanted and name not in FROM_OS:
                wanted.add(name)
                todo.append(system[name])
    kept_names = {Path(d).name for d, _s, _t in others} | wanted
    kept = []
    for entry in binaries:
        dest, src, typecode = entry
        name = Path(dest).name
        if name in system and system[name] is entry and name not in wanted:
            continue
        if typecode == "SYMLINK" and Path(src).name not in kept_names and Path(src).name in system:
            continue  # a link to a dropped library
        kept.append(entry)
    dropped = sorted((name, e[1]) for name, e in system.items() if name not in wanted)
    return kept, dropped


# ---------------------------------------------------------------------------- build side


@dataclass(frozen=True)
class Folder:
    """The frozen folder's ELF files (path relative to it -> links) and every name a library is found by."""

    elves: dict[str, ElfLinks]
    provided: frozenset[str]


def scan(folder: Path) -> Folder:
    """Read every ELF file of the frozen folder (symbolic links count as names, not as files)."""
    elves, provided = {}, set()
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            provided.add(p.name)
            continue
        if not p.is_file():
            continue
        found = read_links(p)
        if found is None:
            continue
        rel = p.relative_to(folder).as_posix()
        elves[rel] = found
        provided.add(p.name)
        if found.soname:
            provided.add(found.soname)
    return Folder(elves, frozenset(provided))


def ldconfig_locate(name: str) -> str | None:
    """Where this machine's loader finds ``name`` (``ldconfig -p``), or None."""
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    for line in out.splitlines():
        left, _, right = line.partition("=>")
        if left.strip().split(" ")[0] == name and right.strip():
            return right.strip()
    return None


def _needers(scanned: Folder, name: str) -> list[str]:
    return sorted(rel for rel, found in scanned.elves.items() if name in found.needed)


def check_folder(folder: Path, locate: Callable[[str], str | None] = ldconfig_locate) -> Folder:
    """Stop (:class:`BundleError`, one line) unless the folder carries only allowed system libraries
    and everything its files link to is bundled or known to come from the OS; returns the scan."""
    scanned = scan(folder)
    problems = []
    for rel in sorted(scanned.elves):
        name = Path(rel).name
        if is_system_library(rel) and not allowed(name):
            who = _needers(scanned, name)
            problems.append(
                f"unexpected system library {name} (from {locate(name) or 'this machine'}, needed by "
                f"{', '.join(who) if who else 'nothing in the bundle'})")
    unknown: dict[str, list[str]] = {}
    for rel, found in scanned.elves.items():
        for name in found.needed:
            if name not in scanned.provided and name not in FROM_OS:
                unknown.setdefault(name, []).append(rel)
    for name in sorted(unknown):
        where = locate(name)
        problems.append(
            f"{name}, needed by {', '.join(sorted(unknown[name]))}, is neither bundled nor a known OS library "
            f"({'at ' + where + ' here' if where else 'not installed here'})")
    if problems:
        raise BundleError(
            "; ".join(problems) + " -- allow it in packaging/bundle_libs.py (BUNDLED or FROM_OS) "
            "or drop what needs it in packaging/nst-desktop.spec")
    return scanned


def relations(scanned: Folder, glibc: str) -> tuple[str, str]:
    """``Depends:`` and ``Recommends:`` of the package holding ``scanned``.

    Every library a bundled file links to that the bundle does not carry comes from the OS: its
    package (:data:`FROM_OS`) is a ``Depends:``, or a ``Recommends:`` when only Qt's Wayland
    platform needs it (Qt uses that platform only with ``QT_QPA_PLATFORM=wayland`` or in a Wayland
    session, and falls back to X11 there when it cannot load). ``glibc`` (the build machine's, e.g.
    ``"2.36"``) is the lowest ``libc6`` version; empty for none. Nothing here asks this machine.
    """
    core: set[str] = set(ALWAYS_DEPENDS)
    wayland: set[str] = set()
    only = wayland_only(scanned)
    for rel, found in scanned.elves.items():
        for name in found.needed:
            if name in scanned.provided or name not in FROM_OS:
                continue
            (wayland if rel in only else core).add(FROM_OS[name])
    core.discard("libc6")
    depends = [f"libc6 (>= {glibc})" if glibc else "libc6", *sorted(core)]
    return ", ".join(depends), ", ".join(sorted(wayland - core - {"libc6"}))


def file_list(folder: Path) -> list[str]:
    """Every file and link of the folder, relative to it, sorted (what two builds must agree on)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_symlink() or p.is_file())

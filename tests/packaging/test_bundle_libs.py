"""packaging/bundle_libs.py: the Linux bundle and its Depends/Recommends do not depend on the build machine.

Fixture trees of tiny ELF files (written here, with real DT_NEEDED/DT_SONAME entries) stand for
what PyInstaller collects on two build machines, one with GTK 3 installed and one without; no
PyInstaller run.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import bundle_libs as bl  # noqa: E402

from nst_desktop import system_libs  # noqa: E402


def write_elf(path: Path, needed: tuple[str, ...] = (), soname: str | None = None) -> Path:
    """A minimal 64-bit shared object: one PT_LOAD over the whole file, a PT_DYNAMIC, a string table."""
    strtab, offsets = b"\0", {}
    for s in (*needed, *([soname] if soname else [])):
        offsets[s] = len(strtab)
        strtab += s.encode() + b"\0"
    str_off = 64 + 2 * 56
    dyn_off = (str_off + len(strtab) + 7) // 8 * 8
    tags = [(1, offsets[n]) for n in needed] + ([(14, offsets[soname])] if soname else []) + [(5, str_off), (0, 0)]
    dynamic = b"".join(struct.pack("<qQ", t, v) for t, v in tags)
    size = dyn_off + len(dynamic)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, len(dynamic), len(dynamic), 8)
    body = header + phdrs + strtab
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body + bytes(dyn_off - len(body)) + dynamic)
    return path


# What the wheels bring (Qt, its plugins, the Python library and an extension module): dest -> DT_NEEDED.
PYTHON_FILES = {
    "PySide6/Qt/lib/libQt6Core.so.6": ("libglib-2.0.so.0", "libstdc++.so.6", "libc.so.6"),
    "PySide6/Qt/lib/libQt6Gui.so.6": ("libQt6Core.so.6", "libEGL.so.1", "libGL.so.1", "libfontconfig.so.1",
                                      "libX11.so.6", "libc.so.6"),
    "PySide6/Qt/lib/libQt6XcbQpa.so.6": ("libQt6Gui.so.6", "libxcb.so.1", "libxcb-cursor.so.0",
                                         "libxkbcommon-x11.so.0", "libX11-xcb.so.1"),
    "PySide6/Qt/lib/libQt6WaylandClient.so.6": ("libQt6Gui.so.6", "libwayland-client.so.0",
                                                "libwayland-cursor.so.0"),
    "PySide6/Qt/plugins/platforms/libqxcb.so": ("libQt6XcbQpa.so.6",),
    "PySide6/Qt/plugins/platforms/libqwayland.so": ("libQt6WaylandClient.so.6", "libwayland-client.so.0"),
    "PySide6/Qt/plugins/wayland-graphics-integration-client/libqt-plugin-wayland-egl.so": (
        "libQt6WaylandClient.so.6", "libwayland-egl.so.1", "libEGL.so.1"),
    # Wayland-only without saying so in its name: only the Wayland shell plugins link to it.
    "PySide6/Qt/lib/libQt6WlShellIntegration.so.6": ("libQt6WaylandClient.so.6", "libwayland-client.so.0",
                                                      "libwayland-cursor.so.0"),
    "PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so": ("libQt6WlShellIntegration.so.6",),
    # In the wheel everywhere; its GTK libraries are found only where GTK 3 is installed.
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so": ("libQt6Gui.so.6", "libgtk-3.so.0", "libgdk-3.so.0"),
    "lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so": ("libssl.so.3", "libcrypto.so.3", "libc.so.6"),
    "libpython3.11.so.1.0": ("libm.so.6", "libc.so.6"),
}
# The build machine's libraries PyInstaller copies (it leaves libc, libGL/EGL, libxcb, libwayland-* alone).
SYSTEM_FILES = {
    "libstdc++.so.6": ("libm.so.6", "libgcc_s.so.1", "libc.so.6"),
    "libgcc_s.so.1": ("libc.so.6",),
    "libglib-2.0.so.0": ("libpcre2-8.so.0",),
    "libpcre2-8.so.0": (),
    "libX11.so.6": ("libxcb.so.1",),
    "libX11-xcb.so.1": ("libX11.so.6",),
    "libxcb-cursor.so.0": ("libxcb.so.1", "libxcb-render.so.0"),
    "libxcb-render.so.0": ("libxcb.so.1",),
    "libxkbcommon-x11.so.0": ("libxkbcommon.so.0", "libxcb-xkb.so.1", "libxcb.so.1"),
    "libxkbcommon.so.0": (),
    "libxcb-xkb.so.1": ("libxcb.so.1",),
    "libfontconfig.so.1": ("libfreetype.so.6", "libexpat.so.1"),
    "libfreetype.so.6": ("libpng16.so.16", "libz.so.1"),
    "libpng16.so.16": ("libz.so.1",),
    "libz.so.1": (),
    "libexpat.so.1": (),
    "libssl.so.3": ("libcrypto.so.3",),
    "libcrypto.so.3": (),
}
GTK_FILES = {  # only on the machine with GTK 3 (as in issue 34's build)
    "libgtk-3.so.0": ("libgdk-3.so.0", "libatk-bridge-2.0.so.0", "libcairo.so.2", "libwayland-client.so.0",
                      "libwayland-cursor.so.0", "libX11.so.6"),
    "libgdk-3.so.0": ("libcairo.so.2", "libwayland-egl.so.1", "libepoxy.so.0"),
    "libatk-bridge-2.0.so.0": ("libatspi.so.0", "libdbus-1.so.3"),
    "libatspi.so.0": ("libdbus-1.so.3",),
    "libdbus-1.so.3": (),
    "libcairo.so.2": ("libpng16.so.16",),
    "libepoxy.so.0": (),
}


def machine(tmp: Path, name: str, gtk: bool) -> list[tuple[str, str, str]]:
    """The PyInstaller binaries (dest, source, typecode) of one build machine, as fixture files."""
    venv, system = tmp / name / "venv", tmp / name / "usr-lib"
    entries = []
    for dest, needed in PYTHON_FILES.items():
        src = write_elf(venv / "site-packages" / dest, needed)
        entries.append((dest, str(src), "EXTENSION" if dest.startswith("lib-dynload") else "BINARY"))
    for lib, needed in {**SYSTEM_FILES, **(GTK_FILES if gtk else {})}.items():
        entries.append((lib, str(write_elf(system / lib, needed, soname=lib)), "BINARY"))
    entries.append(("PySide6/resources/icudtl.dat", str(venv / "icudtl.dat"), "DATA"))
    return entries


def collect(tmp: Path, name: str, entries: list[tuple[str, str, str]]) -> Path:
    """The one-folder build of ``entries``: the executable and _internal/<dest> (what COLLECT does)."""
    folder = tmp / name / "dist" / "nst-desktop"
    write_elf(folder / "nst-desktop", ("libc.so.6", "libz.so.1"))
    for dest, src, typecode in entries:
        if typecode != "DATA":
            (folder / bl.INTERNAL / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, folder / bl.INTERNAL / dest)
    return folder


def build(tmp: Path, name: str, gtk: bool) -> tuple[Path, list[tuple[str, str]]]:
    """The spec's selection and the collected folder for one machine."""
    entries = [e for e in machine(tmp, name, gtk) if bl.used(e[0])]
    roots = [str(tmp / name / "venv")]
    kept, dropped = bl.select_binaries(entries, roots)
    return collect(tmp, name, kept), dropped


def test_same_files_and_relations_with_and_without_gtk(tmp_path: Path) -> None:
    plain, dropped_plain = build(tmp_path, "no-gtk", gtk=False)
    gtk, dropped_gtk = build(tmp_path, "gtk", gtk=True)
    assert bl.file_list(gtk) == bl.file_list(plain)
    assert "_internal/libgtk-3.so.0" not in bl.file_list(gtk)
    assert dropped_plain == []
    assert [name for name, _src in dropped_gtk] == sorted(GTK_FILES)  # libdbus too: only GTK needed it here
    assert all(src.startswith(str(tmp_path / "gtk" / "usr-lib")) for _name, src in dropped_gtk)
    fields = bl.relations(bl.check_folder(plain), "2.36")
    assert bl.relations(bl.check_folder(gtk), "2.36") == fields
    assert fields == ("libc6 (>= 2.36), libegl1, libfontconfig1, libgl1, libxcb1",
                      "libwayland-client0, libwayland-cursor0, libwayland-egl1")


def test_relations_ask_nothing_of_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ldd, dpkg or ldconfig (an empty PATH) the fields are the same: they come from the files."""
    folder, _ = build(tmp_path, "m", gtk=False)
    expected = bl.relations(bl.scan(folder), "2.36")
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path / "nothing"))
    assert bl.relations(bl.check_folder(folder, locate=lambda _name: None), "2.36") == expected
    assert bl.relations(bl.scan(folder), "")[0].startswith("libc6, ")


def test_the_issue_34_bundle_stops_the_build_naming_the_library(tmp_path: Path) -> None:
    """The old spec's bundle on a GTK machine (libgtk-3 at the top of _internal) is refused in one line."""
    entries = [e for e in machine(tmp_path, "old", gtk=True) if bl.used(e[0])]
    folder = collect(tmp_path, "old", entries)
    with pytest.raises(bl.BundleError) as err:
        bl.check_folder(folder, locate=lambda name: f"/usr/lib/x86_64-linux-gnu/{name}")
    msg = str(err.value)
    assert "\n" not in msg
    assert ("unexpected system library libgtk-3.so.0 (from /usr/lib/x86_64-linux-gnu/libgtk-3.so.0, "
            "needed by nothing in the bundle)") in msg
    assert ("unexpected system library libgdk-3.so.0 (from /usr/lib/x86_64-linux-gnu/libgdk-3.so.0, "
            "needed by _internal/libgtk-3.so.0)") in msg
    assert "unexpected system library libatk-bridge-2.0.so.0 (from " in msg
    assert msg.endswith("-- allow it in packaging/bundle_libs.py (BUNDLED or FROM_OS) or drop what needs it in "
                        "packaging/nst-desktop.spec")


def test_a_new_library_a_kept_binary_needs_stops_the_build(tmp_path: Path) -> None:
    """A kept binary that links to a system library outside the allow-list: kept by the spec, refused by build.py."""
    entries = [e for e in machine(tmp_path, "m", gtk=False) if bl.used(e[0])]
    lib = write_elf(tmp_path / "m" / "usr-lib" / "libfancy.so.2", (), soname="libfancy.so.2")
    qt = write_elf(tmp_path / "m" / "venv" / "site-packages" / "PySide6/Qt/lib/libQt6Fancy.so.6", ("libfancy.so.2",))
    entries += [("libfancy.so.2", str(lib), "BINARY"), ("PySide6/Qt/lib/libQt6Fancy.so.6", str(qt), "BINARY")]
    kept, _ = bl.select_binaries(entries, [str(tmp_path / "m" / "venv")])
    assert ("libfancy.so.2", str(lib), "BINARY") in kept
    folder = collect(tmp_path, "m", kept)
    with pytest.raises(bl.BundleError, match=r"^unexpected system library libfancy\.so\.2 \(from /opt/libfancy\.so"
                       r"\.2, needed by _internal/PySide6/Qt/lib/libQt6Fancy\.so\.6\)"):
        bl.check_folder(folder, locate=lambda name: f"/opt/{name}")


def test_a_library_missing_on_the_build_machine_stops_the_build(tmp_path: Path) -> None:
    """libxcb-cursor not installed here: PyInstaller could not copy it; build.py names it and who needs it."""
    entries = [e for e in machine(tmp_path, "m", gtk=False) if bl.used(e[0]) and e[0] != "libxcb-cursor.so.0"]
    kept, _ = bl.select_binaries(entries, [str(tmp_path / "m" / "venv")])
    folder = collect(tmp_path, "m", kept)
    with pytest.raises(bl.BundleError) as err:
        bl.check_folder(folder, locate=lambda _name: None)
    assert str(err.value).startswith(
        "libxcb-cursor.so.0, needed by _internal/PySide6/Qt/lib/libQt6XcbQpa.so.6, is neither bundled nor a known "
        "OS library (not installed here)")


def test_libraries_taken_from_the_os_are_never_bundled(tmp_path: Path) -> None:
    """Should PyInstaller copy libxcb or libwayland-client (a version excluding less), they go: the OS has them."""
    entries = [e for e in machine(tmp_path, "m", gtk=False) if bl.used(e[0])]
    for lib in ("libxcb.so.1", "libwayland-client.so.0"):
        entries.append((lib, str(write_elf(tmp_path / "m" / "usr-lib" / lib, ("libc.so.6",), soname=lib)), "BINARY"))
    kept, dropped = bl.select_binaries(entries, [str(tmp_path / "m" / "venv")])
    assert [n for n, _ in dropped] == ["libwayland-client.so.0", "libxcb.so.1"]
    assert bl.relations(bl.check_folder(collect(tmp_path, "m", kept)), "2.36")[1] == (
        "libwayland-client0, libwayland-cursor0, libwayland-egl1")


def test_unused_files_follow_the_spec_patterns() -> None:
    assert not bl.used("PySide6/Qt/plugins/platformthemes/libqgtk3.so")
    assert not bl.used("torch/bin/test_api")
    assert bl.used("torch/bin/torch_shm_manager")
    assert not bl.used("libQt6EglFsKmsSupport.so.6") and not bl.used("PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6")
    assert bl.used("PySide6/Qt/lib/libQt6Network.so.6")  # the window's single-instance socket
    assert not bl.used("PySide6/Qt/plugins/networkinformation/libqglib.so")  # would bring GIO
    assert not bl.used("PySide6/Qt/plugins/tls/libqopensslbackend.so")
    assert bl.used("PySide6/Qt/plugins/platforms/libqxcb.so") and bl.used("PySide6/Qt/plugins/platforms/libqwayland.so")


def test_read_links_agrees_with_the_section_table_of_real_libraries() -> None:
    """The program-header reader gives the DT_NEEDED entries the section-table reader of test_system_libs gives."""
    from tests.test_system_libs import _needed

    qt = pytest.importorskip("PySide6")
    libs = sorted((Path(qt.__file__).parent / "Qt" / "lib").glob("libQt6*.so.6"))[:4]
    libs += [Path(p) for p in ("/lib/x86_64-linux-gnu/libz.so.1",) if os.path.exists(p)]
    if not libs or not sys.platform.startswith("linux"):
        pytest.skip("no ELF libraries here")
    for lib in libs:
        found = bl.read_links(lib.resolve())
        assert found is not None and set(found.needed) == _needed(lib.resolve()), lib
    assert bl.read_links(ROOT / "pyproject.toml") is None


def test_a_truncated_elf_file_is_one_clear_error(tmp_path: Path) -> None:
    good = write_elf(tmp_path / "libx.so.1", ("libc.so.6",))
    bad = tmp_path / "libbad.so.1"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(bl.BundleError, match=r"libbad\.so\.1: malformed ELF file"):
        bl.read_links(bad)


def test_every_window_library_is_either_bundled_or_from_the_os() -> None:
    """The libraries the pre-build check demands (system_libs) are the ones the policy knows."""
    for lib in system_libs.WINDOW_LIBRARIES:
        assert (lib in bl.BUNDLED) != (lib in bl.FROM_OS), lib

"""nst_desktop.system_libs: the X11 libraries are checked before Qt, and a missing one gives one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nst_desktop import system_libs as sl

ROOT = Path(__file__).resolve().parents[1]
X11 = {"DISPLAY": ":0"}


def _loader(missing: set[str], culprits: dict[str, str] | None = None):
    """A dlopen stand-in: ``missing`` cannot be loaded; ``culprits`` maps a library to the missing dependency named."""
    culprits = culprits or {}

    def load(name: str) -> None:
        if name in missing:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        if name in culprits:
            raise OSError(f"{culprits[name]}: cannot open shared object file: No such file or directory")

    return load


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, True),
        (X11, True),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "xcb:display=:1"}, True),
        ({"QT_QPA_PLATFORM": "xcb;wayland"}, True),
        ({"QT_QPA_PLATFORM": "offscreen", **X11}, False),
        ({"QT_QPA_PLATFORM": "wayland", **X11}, False),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, False),
        ({"QT_QPA_PLATFORM": "minimal"}, False),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", **X11}, False),
        ({"WAYLAND_DISPLAY": "wayland-0", **X11}, False),
        ({"XDG_SESSION_TYPE": "x11", **X11}, True),
        ({"XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": "xcb"}, True),
    ],
)
def test_uses_xcb_follows_qt_platform_choice(env: dict[str, str], expected: bool) -> None:
    assert sl.uses_xcb(env, platform="linux", frozen=False) is expected


def test_not_checked_elsewhere_or_frozen() -> None:
    assert not sl.uses_xcb(X11, platform="win32", frozen=False)
    assert not sl.uses_xcb(X11, platform="darwin", frozen=False)
    assert not sl.uses_xcb(X11, platform="linux", frozen=True)  # the package brings its own
    never = _loader(set(sl.WINDOW_LIBRARIES))
    assert sl.missing_window_libraries({"QT_QPA_PLATFORM": "offscreen"}, never, "linux", False) == []


def test_missing_libraries_are_found_in_table_order() -> None:
    load = _loader({"libxcb-keysyms.so.1", "libxcb-icccm.so.4"})
    assert sl.missing_window_libraries(X11, load, "linux", False) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert sl.missing_window_libraries(X11, _loader(set()), "linux", False) == []


def test_a_missing_dependency_is_reported_not_the_library_that_needs_it() -> None:
    load = _loader({"libxcb.so.1"}, {"libxcb-icccm.so.4": "libxcb.so.1", "libxcb-cursor.so.0": "libxcb.so.1"})
    assert sl.missing_libraries(tuple(sl.WINDOW_LIBRARIES), load) == ["libxcb.so.1"]
    # A dependency outside the table: the library that needs it is reported.
    load = _loader(set(), {"libxcb-cursor.so.0": "libfoo.so.9"})
    assert sl.missing_libraries(tuple(sl.WINDOW_LIBRARIES), load) == ["libxcb-cursor.so.0"]


def test_message_is_one_line_with_the_install_command() -> None:
    libs = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    msg = sl.missing_message(libs, is_root=False, has_apt=True)
    assert "\n" not in msg
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in msg
    assert msg.endswith("install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    as_root = sl.missing_message(libs, is_root=True, has_apt=True)
    assert as_root.endswith("install them with: apt-get install libxcb-icccm4 libxcb-keysyms1")
    other = sl.missing_message(libs, is_root=False, has_apt=False)
    assert "apt-get" not in other and "\n" not in other
    assert other.endswith("(Debian/Ubuntu: libxcb-icccm4 libxcb-keysyms1)")


def test_every_library_has_a_package_and_each_package_is_listed_once() -> None:
    assert all(lib.startswith("lib") and ".so." in lib for lib in sl.WINDOW_LIBRARIES)
    assert sl.packages_for(["libxcb-icccm.so.4", "libxcb-icccm.so.4"]) == ["libxcb-icccm4"]
    assert len(set(sl.WINDOW_LIBRARIES.values())) == len(sl.WINDOW_LIBRARIES)


def test_the_table_covers_what_qt_xcb_links_to() -> None:
    """Every library outside Qt that the installed xcb plugin needs (readelf -d) is in the table."""
    qt = pytest.importorskip("PySide6")
    plugin = Path(qt.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file() or not sys.platform.startswith("linux"):
        pytest.skip("no xcb plugin in this PySide6")
    needed = _needed(plugin) | _needed(plugin.parents[2] / "lib" / "libQt6XcbQpa.so.6")
    system = {n for n in needed if not n.startswith("libQt6")} - {
        "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libgthread-2.0.so.0", "libdl.so.2",
        "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2",
    }
    assert system <= set(sl.WINDOW_LIBRARIES), sorted(system - set(sl.WINDOW_LIBRARIES))


def _needed(elf: Path) -> set[str]:
    """DT_NEEDED entries of an ELF file, from its dynamic section (no readelf needed)."""
    import struct

    data = elf.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "64-bit ELF expected"
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    dynamic = next(s for s in sections if s[1] == 6)  # SHT_DYNAMIC
    strtab = sections[dynamic[6]]  # sh_link: its string table
    names = set()
    for off in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, val = struct.unpack_from("<qQ", data, off)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            start = strtab[4] + val
            names.add(data[start:data.index(b"\0", start)].decode())
    return names


def test_script_prints_debian_packages() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "nst_desktop" / "system_libs.py"), "--all"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == sl.packages_for(list(sl.WINDOW_LIBRARIES))


def test_entry_point_prints_one_line_and_exits_1_before_qt() -> None:
    """``nst-desktop`` with a library missing: one line on stderr, status 1, Qt never imported."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for Linux")
    code = textwrap.dedent(
        """
        import sys
        import nst_desktop.system_libs as sl
        def load(name):  # every library is there but one
            if name == "libxcb-keysyms.so.1":
                raise OSError(name + ": cannot open shared object file: No such file or directory")
        sl._dlopen = load
        from nst_desktop.__main__ import main
        rc = main([])
        assert "PySide6" not in sys.modules and "nst_desktop.ui" not in sys.modules, "Qt was imported"
        raise SystemExit(rc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = ":0"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("nst-desktop: cannot open a window: missing system libraries libxcb-keysyms.so.1; ")
    assert lines[0].endswith(("apt-get install libxcb-keysyms1", "(Debian/Ubuntu: libxcb-keysyms1)"))


def test_self_test_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """--self-test (offscreen, no window) never reaches the check."""
    import nst_desktop.__main__ as entry

    called = []
    monkeypatch.setattr(sl, "missing_window_libraries", lambda *a, **k: called.append(1) or ["libx.so.1"])
    monkeypatch.setattr("nst_desktop.selftest.run_self_test", lambda: 0)
    assert entry.main(["--self-test"]) == 0
    assert not called


def test_a_window_start_with_a_library_missing_returns_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nst_desktop.__main__ as entry

    monkeypatch.setattr(sl, "_dlopen", _loader({"libxcb-cursor.so.0"}))
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert entry.main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("nst-desktop: cannot open a window: missing system libraries libxcb-cursor.so.0; ")

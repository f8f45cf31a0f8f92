"""The one source of truth for the application's name, version and identifiers.

The package metadata (pyproject.toml reads the version from here), the PyInstaller
spec, the .desktop entry, the AppStream metainfo and the About box all use these.
"""

from __future__ import annotations

from pathlib import Path

APP_NAME = "NST Desktop"
APP_VERSION = "0.1.0"
APP_ID = "io.github.nst_desktop.NSTDesktop"  # reverse-DNS id: .desktop, metainfo, Qt
APP_EXECUTABLE = "nst-desktop"
APP_SUMMARY = "Paint a photo in the style of a painting"
ORGANIZATION = "NST Desktop"
APP_DESCRIPTION = (
    "Drop a photo and a painting into the window, press Stylize, watch the picture being painted, "
    "and save it. NST Desktop implements the neural style transfer of Gatys, Ecker and Bethge on VGG19. "
    "It works offline from the first run: the original Caffe VGG19 weights come bundled.",
    "It runs on NVIDIA GPUs, Apple GPUs and the CPU. Every saved image carries the settings that made it "
    "in its metadata.",
)  # paragraphs, for the AppStream metainfo and installers
APP_DEVELOPER = "The NST Desktop developers"
APP_DEVELOPER_ID = "io.github.nst_desktop"  # AppStream <developer id=...>
APP_HOMEPAGE = "https://github.com/nst-desktop/nst-desktop"  # io.github.nst_desktop <-> github.com/nst-desktop
APP_BUGTRACKER = APP_HOMEPAGE + "/issues"
APP_LICENSE = "MIT"  # SPDX id of the code's licence (also in pyproject.toml)
APP_METADATA_LICENSE = "CC0-1.0"  # SPDX id of the AppStream metainfo's own licence
APP_COPYRIGHT = "Copyright (c) 2026 The NST Desktop developers"
APP_RELEASE_DATE = "2026-11-27"  # of APP_VERSION (YYYY-MM-DD), for the metainfo's <releases>
APP_CATEGORIES = ("Graphics", "2DGraphics", "RasterGraphics")  # freedesktop.org main and additional categories
APP_KEYWORDS = ("style transfer", "painting", "photo", "art", "neural", "filter")



def icon_svg_path() -> Path:
    """Path of the application icon (SVG), from the top-level ``resources/`` folder.

    ``resources/`` is installed as the package ``nst_desktop.resources`` (see
    pyproject.toml), so this works from a source checkout, an installed wheel and
    the frozen app alike.
    """
    from importlib.resources import files

    return Path(str(files("nst_desktop.resources").joinpath("nst-desktop.svg")))

#: The image formats the app opens, the one list: Pillow's format name -> (MIME type, file extensions).
#: Only these decoders ever read a file (``Image.open(..., formats=...)``, see engine/image/images.py), whatever
#: its name or content claims; the file dialogs, folder scans, .desktop MimeType= and installers use it too.
IMAGE_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "JPEG": ("image/jpeg", (".jpg", ".jpeg")),
    "PNG": ("image/png", (".png",)),
    "WEBP": ("image/webp", (".webp",)),
    "TIFF": ("image/tiff", (".tif", ".tiff")),
    "BMP": ("image/bmp", (".bmp",)),
    "GIF": ("image/gif", (".gif",)),
}
IMAGE_MIME_TYPES = tuple(mime for mime, _ in IMAGE_FORMATS.values())
IMAGE_EXTENSIONS = tuple(ext for _, exts in IMAGE_FORMATS.values() for ext in exts)

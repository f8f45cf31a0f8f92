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



def icon_svg_path() -> Path:
    """Path of the application icon (SVG), from the top-level ``resources/`` folder.

    ``resources/`` is installed as the package ``nst_desktop.resources`` (see
    pyproject.toml), so this works from a source checkout, an installed wheel and
    the frozen app alike.
    """
    from importlib.resources import files

    return Path(str(files("nst_desktop.resources").joinpath("nst-desktop.svg")))

# Image types the app opens (for file dialogs, .desktop MimeType= and installers).
IMAGE_MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/tiff",
    "image/bmp",
    "image/gif",
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")

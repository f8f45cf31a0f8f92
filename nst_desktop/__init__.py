"""NST Desktop: paint a photo in the style of a painting (Gatys et al. 2016)."""

from nst_desktop.app_info import APP_VERSION as __version__
from nst_desktop.quiet import silence_optional_numpy_warning

# Before anything imports torch: its NumPy warning is noise for users of the CLI and app.
silence_optional_numpy_warning()

__all__ = ["__version__"]

"""NST Desktop: paint a photo in the style of a painting (Gatys et al. 2016)."""

from nst_desktop.app_info import APP_VERSION as __version__

__all__ = ["__version__"]

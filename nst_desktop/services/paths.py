"""Per-user folders (platformdirs). Tests point them elsewhere with XDG_CONFIG_HOME / XDG_CACHE_HOME."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir

from nst_desktop.app_info import APP_NAME


def config_dir() -> Path:
    """Folder of the settings file (e.g. ``~/.config/NST Desktop``)."""
    return Path(user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Folder of downloaded weights and crash-recovery files (e.g. ``~/.cache/NST Desktop``)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))

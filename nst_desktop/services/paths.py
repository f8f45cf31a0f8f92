"""Per-user folders (platformdirs). Tests point them elsewhere with XDG_CONFIG_HOME, XDG_CACHE_HOME,
XDG_STATE_HOME and XDG_DATA_HOME."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir, user_data_dir, user_log_dir

from nst_desktop.app_info import APP_NAME


def config_dir() -> Path:
    """Folder of the settings file (e.g. ``~/.config/NST Desktop``)."""
    return Path(user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Folder of downloaded weights and crash-recovery files (e.g. ``~/.cache/NST Desktop``)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Folder of the error log (e.g. ``~/.local/state/NST Desktop/log``: platformdirs follows
    ``XDG_STATE_HOME`` on Linux; ``~/Library/Logs`` on macOS, ``%LOCALAPPDATA%`` on Windows)."""
    return Path(user_log_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Folder of the user's work kept between sessions, e.g. the Queue (``~/.local/share/NST Desktop``:
    platformdirs follows ``XDG_DATA_HOME`` on Linux; ``~/Library/Application Support`` on macOS,
    ``%LOCALAPPDATA%`` on Windows)."""
    return Path(user_data_dir(APP_NAME, appauthor=False))

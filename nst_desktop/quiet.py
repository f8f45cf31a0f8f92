"""Silence third-party start-up noise that users cannot act on. Call before importing torch."""

from __future__ import annotations

import warnings


def silence_optional_numpy_warning() -> None:
    """torch warns at import when NumPy is absent; NST Desktop does not use NumPy."""
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)

"""Fixtures of the UI tests."""

from __future__ import annotations

import pytest

from nst_desktop.ui.main_window import MainWindow
from tests.ui.helpers import make_window


@pytest.fixture
def window(qtbot) -> MainWindow:
    return make_window(qtbot)

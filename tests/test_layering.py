"""The layers import only downwards: engine (torch + Pillow) → services → ui (Qt)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "nst_desktop"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(folder: str) -> list[Path]:
    return sorted((PKG / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("engine"), ids=lambda p: str(p.relative_to(PKG)))
def test_engine_imports_no_qt_services_or_ui(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[0] == "PySide6"
           or n.startswith(("nst_desktop.services", "nst_desktop.ui"))}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _files("services"), ids=lambda p: str(p.relative_to(PKG)))
def test_services_import_no_qt_or_ui(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[0] == "PySide6" or n.startswith("nst_desktop.ui")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_check_sees_imports() -> None:
    """Guard against a check that passes because it finds nothing."""
    assert "torch" in _imports(PKG / "engine" / "stylize.py")
    assert any(n.startswith("PySide6") for n in _imports(PKG / "ui" / "worker.py"))


#: The modules that make a window (the window's helpers are handed its parts, not the window).
WINDOW_MAKERS = {"main_window.py", "app.py", "screenshot.py"}


@pytest.mark.parametrize("path", [p for p in _files("ui") if p.name not in WINDOW_MAKERS],
                         ids=lambda p: str(p.relative_to(PKG)))
def test_window_helpers_do_not_import_the_window(path: Path) -> None:
    assert "nst_desktop.ui.main_window" not in _imports(path), f"{path.name} imports main_window"

"""The house's layout: every package is installed, every package's public names resolve, no module is long."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "nst_desktop"


def _packages() -> list[str]:
    return sorted(".".join(p.parent.relative_to(ROOT).parts) for p in PKG.rglob("__init__.py"))


def test_every_package_is_installed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert set(_packages()) <= listed, "add them to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.parametrize("package", [p for p in _packages() if p.startswith("nst_desktop.engine")])
def test_public_names_resolve(package: str) -> None:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", [])
    for name in names:
        assert getattr(module, name) is not None, f"{package}.{name}"


#: About 500 lines is a sign a module holds two jobs.
MAX_LINES = 500


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_is_long(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"

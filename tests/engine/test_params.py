"""StyleParams: frozen, one definition per choice, and the optimiser table covering every name."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from nst_desktop.engine import params as P
from nst_desktop.engine.optim import optimizers as optim

ENGINE = Path(P.__file__).resolve().parent


def test_style_params_are_frozen() -> None:
    """A run's parameters cross threads (window -> worker): changed ones are new objects."""
    p = P.StyleParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.size = 64  # type: ignore[misc]
    q = dataclasses.replace(p, size=64)
    assert q.size == 64 and p.size == 512


@pytest.mark.parametrize(
    ("field", "choices"),
    [("optimizer", P.OPTIMIZERS), ("pooling", P.POOLINGS), ("precision", P.PRECISIONS),
     ("preserve_colors", P.PRESERVE_COLORS)],
)
def test_each_choice_is_a_literal_type_and_its_tuple(field: str, choices: tuple[str, ...]) -> None:
    hint = get_type_hints(P.StyleParams, vars(P))[field]
    assert get_args(hint) == choices
    assert getattr(P.StyleParams(), field) in choices
    bad = dataclasses.replace(P.StyleParams(), **{field: "no-such-choice"})
    with pytest.raises(ValueError, match="no-such-choice"):
        bad.validate()


def test_the_optimiser_table_has_every_optimiser_and_only_those() -> None:
    assert tuple(optim.OPTIMIZERS) == P.OPTIMIZERS
    assert [name for name, o in optim.OPTIMIZERS.items() if o.stateful] == ["lbfgs"]


def test_no_engine_module_is_over_500_lines() -> None:
    """Issue 14: modules that can be read (the engine once had a 1,064-line stylize.py)."""
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in ENGINE.glob("*.py")}
    assert "stylize.py" in sizes
    assert {name: n for name, n in sizes.items() if n > 500} == {}

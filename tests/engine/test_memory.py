"""Peak-memory model: monotone in size, and largest_fitting_long_side is its inverse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_desktop.engine.plan import memory
from nst_desktop.engine.plan.memory import estimate_for_long_side, estimate_peak_bytes, largest_fitting_long_side

MiB = 2**20
GiB = 2**30


def test_estimate_is_monotone_in_size() -> None:
    for optimizer in ("lbfgs", "adam"):
        values = [estimate_for_long_side(s, (3, 4), optimizer) for s in range(16, 4097, 16)]
        assert all(b > a for a, b in zip(values, values[1:])), optimizer
        assert all(
            estimate_peak_bytes(h, w + 1, optimizer) > estimate_peak_bytes(h, w, optimizer)
            for h, w in ((1, 1), (100, 100), (1000, 3000))
        )


def test_estimate_grows_with_pixels_not_faster() -> None:
    small = estimate_peak_bytes(512, 512) - estimate_peak_bytes(0, 0)
    big = estimate_peak_bytes(1024, 1024) - estimate_peak_bytes(0, 0)
    assert big == pytest.approx(4 * small, rel=1e-6)


def test_estimate_magnitudes_are_plausible() -> None:
    # VGG19 to relu5_1 with autograd at 512 x 384 keeps a few hundred MiB; 4K needs many GiB.
    assert 100 * MiB < estimate_peak_bytes(384, 512) < 2 * GiB
    assert estimate_peak_bytes(2160, 3840) > 4 * GiB


def test_adam_needs_less_than_lbfgs() -> None:
    assert estimate_peak_bytes(512, 512, "adam") < estimate_peak_bytes(512, 512, "lbfgs")
    assert memory.optimiser_bytes_per_pixel("adam") < memory.optimiser_bytes_per_pixel("lbfgs")


def test_nothing_fits_a_tiny_budget() -> None:
    assert largest_fitting_long_side(10 * MiB, (3, 4)) is None
    assert largest_fitting_long_side(0, (1, 1)) is None


def test_fits_example() -> None:
    fits = largest_fitting_long_side(8 * GiB, (3, 4))
    assert fits is not None and fits % 16 == 0
    assert 1024 <= fits <= 8192


@settings(max_examples=300, deadline=None)
@given(
    budget=st.integers(min_value=0, max_value=64 * GiB),
    h=st.integers(min_value=1, max_value=5000),
    w=st.integers(min_value=1, max_value=5000),
    optimizer=st.sampled_from(["lbfgs", "adam"]),
    multiple=st.sampled_from([1, 8, 16, 64]),
)
def test_largest_fitting_fits_the_budget(budget: int, h: int, w: int, optimizer: str, multiple: int) -> None:
    fits = largest_fitting_long_side(budget, (h, w), optimizer, multiple)
    if fits is None:
        assert estimate_for_long_side(multiple, (h, w), optimizer) > budget
        return
    assert fits % multiple == 0 and fits >= multiple
    assert estimate_for_long_side(fits, (h, w), optimizer) <= budget


@pytest.mark.parametrize(
    "aspect",
    [(1, 1), (3, 4), (4, 3), (9, 16), (2, 3), (1, 10)],
)
def test_largest_fitting_is_the_largest(aspect: tuple[int, int]) -> None:
    """The estimate at the answer fits; at the next multiple of 16 it does not."""
    for budget in range(200 * MiB, 24 * GiB, 7 * MiB):
        fits = largest_fitting_long_side(budget, aspect)
        assert fits is not None
        assert estimate_for_long_side(fits, aspect) <= budget < estimate_for_long_side(fits + 16, aspect), budget


def test_largest_fitting_portrait_example() -> None:
    budget = 736_100_352  # a 2:3 portrait: 592 px is returned, 608 px fits too
    fits = largest_fitting_long_side(budget, (3, 2))
    assert fits is not None
    assert estimate_for_long_side(fits + 16, (3, 2)) > budget


def test_cuda_graph_estimate_is_larger_and_still_monotone() -> None:
    sizes = [(192, 256), (384, 512), (768, 1024), (1536, 2048)]
    eager = [estimate_peak_bytes(h, w, "lbfgs") for h, w in sizes]
    graphs = [estimate_peak_bytes(h, w, "lbfgs", graphs=True) for h, w in sizes]
    assert all(g > e for g, e in zip(graphs, eager, strict=True))
    assert graphs == sorted(graphs)
    assert estimate_peak_bytes(384, 512, "adam", graphs=True) == estimate_peak_bytes(384, 512, "adam")
    budget = estimate_peak_bytes(768, 1024, "lbfgs", graphs=True)
    fits = memory.largest_fitting_long_side(budget, (3, 4), "lbfgs", graphs=True)
    assert fits is not None and 1000 <= fits <= 1024
    assert memory.largest_fitting_long_side(budget, (3, 4), "lbfgs") > fits


def test_cpu_and_bfloat16_estimates() -> None:
    """A bfloat16 network keeps half-size activations; CPUs have a smaller fixed part than GPUs."""
    for h, w in ((192, 256), (384, 512), (768, 1024)):
        cuda = estimate_peak_bytes(h, w)
        cpu = estimate_peak_bytes(h, w, device_type="cpu")
        cpu_half = estimate_peak_bytes(h, w, device_type="cpu", half=True)
        assert cpu_half < cpu < cuda
        assert cuda - cpu == 160 * MiB - 64 * MiB  # the same per pixel, another fixed part
    per_pixel = estimate_peak_bytes(1000, 1000, device_type="cpu") - estimate_peak_bytes(0, 0, device_type="cpu")
    per_pixel_half = (estimate_peak_bytes(1000, 1000, device_type="cpu", half=True)
                      - estimate_peak_bytes(0, 0, device_type="cpu", half=True))
    assert 0.6 < per_pixel_half / per_pixel < 0.8  # activations halve; indices and the optimiser do not
    assert estimate_peak_bytes(0, 0, device_type="mps") == estimate_peak_bytes(0, 0)


@settings(max_examples=200, deadline=None)
@given(
    budget=st.integers(min_value=0, max_value=64 * GiB),
    h=st.integers(min_value=1, max_value=5000),
    w=st.integers(min_value=1, max_value=5000),
    half=st.booleans(),
)
def test_largest_fitting_on_a_cpu_is_the_largest(budget: int, h: int, w: int, half: bool) -> None:
    fits = largest_fitting_long_side(budget, (h, w), device_type="cpu", half=half)

    def est(side: int) -> int:
        return estimate_for_long_side(side, (h, w), device_type="cpu", half=half)

    if fits is None:
        assert est(16) > budget
        return
    assert est(fits) <= budget < est(fits + 16)
    assert fits >= (largest_fitting_long_side(budget, (h, w)) or 0)  # a GPU's fixed part is larger


def test_cpu_peak_measurement_sees_an_allocation() -> None:
    """bench's CPU peak (Linux: peak resident memory, reset through /proc/self/clear_refs)."""
    import sys

    import torch

    from nst_desktop.engine.measure.bench import cpu_peak_since, reset_cpu_peak

    base = reset_cpu_peak()
    if base is None:
        pytest.skip("the peak resident memory cannot be reset here" if sys.platform.startswith("linux")
                    else "Linux only")
    block = torch.ones(32 * MiB // 4)  # 32 MiB, written
    grown = cpu_peak_since(base)
    del block
    assert 28 * MiB <= grown < 512 * MiB
    assert cpu_peak_since(None) == 0

"""Coarse-to-fine schedule: sizes ascending to the target, the whole step budget used,
every stage at least one step, most steps at the small sizes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_desktop.engine.params import StyleInputs
from nst_desktop.engine.plan import schedule
from nst_desktop.engine.plan.schedule import Stage, plan, split_steps, stage_sizes


def test_default_plan_at_512() -> None:
    stages = plan(512, 300)
    assert [s.long_side for s in stages] == [256, 362, 512]
    assert sum(s.steps for s in stages) == 300
    steps = [s.steps for s in stages]
    assert steps == sorted(steps, reverse=True)
    assert steps[0] > steps[-1]


def test_small_target_is_one_stage() -> None:
    assert plan(64, 50) == [Stage(64, 50)]
    assert plan(256, 300) == [Stage(256, 300)]
    assert [s.long_side for s in plan(362, 300)] == [256, 362]  # above the start: two sizes


def test_without_coarse_to_fine() -> None:
    assert plan(2048, 300, coarse_to_fine=False) == [Stage(2048, 300)]


def test_tiny_budget_drops_the_smallest_sizes() -> None:
    assert plan(1024, 1) == [Stage(1024, 1)]
    stages = plan(1024, 3)
    assert [s.long_side for s in stages][-1] == 1024
    assert len(stages) == 3 and all(s.steps == 1 for s in stages)


def test_start_size() -> None:
    stages = plan(96, 40, start=32)
    assert stages[-1].long_side == 96
    assert stages[0].long_side <= 32
    assert sum(s.steps for s in stages) == 40


def test_split_steps_sums_to_budget() -> None:
    assert split_steps([100], 7) == [7]
    assert sum(split_steps([128, 181, 256], 100)) == 100
    assert split_steps([128, 256], 2) == [1, 1]


@settings(max_examples=300, deadline=None)
@given(
    target=st.integers(min_value=32, max_value=8192),
    budget=st.integers(min_value=1, max_value=5000),
    start=st.integers(min_value=32, max_value=512),
)
def test_plan_properties(target: int, budget: int, start: int) -> None:
    stages = plan(target, budget, start)
    sizes = [s.long_side for s in stages]
    steps = [s.steps for s in stages]
    assert sizes[-1] == target
    assert all(a < b for a, b in zip(sizes, sizes[1:])), sizes  # strictly ascending
    assert sum(steps) == budget
    assert all(n >= 1 for n in steps), steps
    assert steps == sorted(steps, reverse=True), steps  # never more steps at a bigger size
    if len(stages) > 1:
        assert sum(steps[:-1]) >= steps[-1]  # most steps at the smaller sizes
        if budget >= schedule.MIN_STEPS_PER_STAGE * len(stages) * 2:
            assert steps[0] > steps[-1]
        for a, b in zip(sizes, sizes[1:]):
            assert 1.2 < b / a < 1.6, sizes  # about sqrt(2) apart
    full = stage_sizes(target, start)
    if target > start:
        assert start / math.sqrt(2) - 1 <= full[0] <= start + 1, full
        assert sizes == full[len(full) - len(sizes):]  # a small budget only drops the smallest sizes
    else:
        assert full == [target]


@pytest.mark.parametrize("budget", [150, 300, 800])
def test_quality_presets_fit_a_4k_schedule(budget: int) -> None:
    stages = plan(4096, budget)
    assert stages[-1] == Stage(4096, stages[-1].steps)
    assert all(s.steps >= schedule.MIN_STEPS_PER_STAGE for s in stages)


def test_default_start_size_by_device() -> None:
    assert schedule.default_start("cpu") == 256
    assert schedule.default_start("cuda") == 256
    assert schedule.default_start("mps") == 256


def test_cpu_plans_double_the_size_and_gpu_plans_grow_by_sqrt2() -> None:
    cpu = schedule.plan_for("cpu", 512, 32)
    assert [s.long_side for s in cpu] == [256, 512]
    assert sum(s.steps for s in cpu) == 32 and cpu[0].steps > cpu[1].steps >= 10
    assert [s.long_side for s in schedule.plan_for("cpu", 1024, 72)] == [256, 512, 1024]
    assert [s.long_side for s in schedule.plan_for("cpu", 256, 72)] == [256]
    assert [s.long_side for s in schedule.plan_for("cuda", 512, 300)] == [256, 362, 512]
    assert schedule.plan_for("cpu", 512, 32, start=128)[0].long_side == 128
    assert schedule.plan_for("mps", 512, 300) == plan(512, 300)


def test_float32_cpus_spend_more_of_their_budget_at_the_first_size() -> None:
    """The presets as measured (see schedule.CPU_FP32_SHAPE); bfloat16 CPUs and GPUs keep their split."""
    from nst_desktop.engine.params import preset_steps

    fp32 = {q: [s.steps for s in schedule.plan_for("cpu", 512, preset_steps(q, "cpu", False), half=False)]
            for q in ("fast", "balanced")}
    assert fp32 == {"fast": [14, 8], "balanced": [44, 18]}
    assert schedule.plan_for("cpu", 512, 32, half=True) == schedule.plan_for("cpu", 512, 32)
    assert [s.steps for s in schedule.plan_for("cpu", 512, 72)] == [42, 30]
    assert schedule.plan_for("cuda", 512, 300, half=False) == schedule.plan_for("cuda", 512, 300)
    work = schedule.pixel_steps("cpu", 512, (1, 1), 22, half=False)
    assert work == round((14 + schedule.SIZE_SETUP_STEPS) * 256 * 256 + (8 + schedule.SIZE_SETUP_STEPS) * 512 * 512)


def test_a_float32_run_is_planned_with_the_float32_split() -> None:
    from nst_desktop.engine.params import StyleParams
    from nst_desktop.engine.plan import sizing

    params = StyleParams(size=512, steps=22, start_size=256, memory_limit_mb=4000)
    fp32 = sizing.plan_run(params, (512, 512), "cpu", False, 4_000_000_000, False)
    bf16 = sizing.plan_run(params, (512, 512), "cpu", True, 4_000_000_000, False)
    assert [s.steps for s in fp32.stages] == [14, 8] and [s.steps for s in bf16.stages] == [13, 9]


@settings(max_examples=200, deadline=None)
@given(target=st.integers(min_value=32, max_value=8192), budget=st.integers(min_value=1, max_value=2000))
def test_cpu_plan_properties(target: int, budget: int) -> None:
    stages = schedule.plan_for("cpu", target, budget)
    sizes = [s.long_side for s in stages]
    assert sizes[-1] == target and sum(s.steps for s in stages) == budget
    assert all(s.steps >= 1 for s in stages)
    for a, b in zip(sizes, sizes[1:]):
        assert 1.9 < b / a < 2.1, sizes
    if len(stages) == len(stage_sizes(target, 256, 2.0)):
        assert sizes[0] <= 256


@pytest.mark.slow
def test_automatic_start_size_is_resolved_and_recorded(bundled_weights) -> None:
    from nst_desktop.engine.params import StyleParams
    from nst_desktop.engine.stylize import stylize
    from tests.helpers import make_content, make_style

    reports = []
    params = StyleParams(size=200, steps=12, device="cpu", seed=0, preview_every=0)
    assert params.start_size == 0
    res = stylize(StyleInputs(make_content((100, 75)), make_style()), params, bundled_weights,
                  on_progress=reports.append)
    assert res.metadata["params"]["start_size"] == 256
    sizes = sorted({max(p.size_hw) for p in reports if p.phase == "optimise"})
    assert sizes == [200]  # at or below the first size: one size
    reports.clear()
    params = StyleParams(size=200, steps=12, device="cpu", seed=0, preview_every=0, start_size=50)
    res = stylize(StyleInputs(make_content((100, 75)), make_style()), params, bundled_weights,
                  on_progress=reports.append)
    assert res.metadata["params"]["start_size"] == 50
    assert sorted({max(p.size_hw) for p in reports if p.phase == "optimise"}) == [50, 100, 200]  # doubling on CPUs


def test_every_preset_budget_names_its_preset() -> None:
    """A result records its step count; Open Settings from Image and the history map it back to
    a preset, which needs each budget (on any device type) to belong to one preset only."""
    from nst_desktop.engine.params import (
        CPU_FP32_QUALITY_PRESETS,
        CPU_QUALITY_PRESETS,
        QUALITY_PRESETS,
        preset_for_steps,
        preset_steps,
    )

    budgets = [*QUALITY_PRESETS.values(), *CPU_QUALITY_PRESETS.values(), *CPU_FP32_QUALITY_PRESETS.values()]
    assert len(set(budgets)) == len(budgets)
    for device_type in ("cpu", "cuda", "mps"):
        for bf16 in (True, False):
            for name in QUALITY_PRESETS:
                assert preset_for_steps(preset_steps(name, device_type, bf16)) == name
    assert [preset_steps(n, "cuda") for n in ("fast", "balanced", "best")] == sorted(QUALITY_PRESETS.values())
    assert [preset_steps(n, "cpu", bf16=False) for n in ("fast", "balanced", "best")] == sorted(
        CPU_FP32_QUALITY_PRESETS.values())
    for name in QUALITY_PRESETS:  # float32 steps cost more: smaller budgets
        assert preset_steps(name, "cpu", bf16=False) < preset_steps(name, "cpu", bf16=True)


def test_zero_steps_is_the_devices_balanced_budget(bundled_weights) -> None:
    from nst_desktop.engine.net.precision import cpu_auto_bf16
    from nst_desktop.engine.params import (
        CPU_FP32_QUALITY_PRESETS,
        CPU_QUALITY_PRESETS,
        StyleParams,
        preset_for_steps,
        preset_steps,
    )
    from nst_desktop.engine.stylize import stylize
    from tests.helpers import make_content, make_style

    assert preset_steps("balanced", "cpu") == CPU_QUALITY_PRESETS["balanced"]
    assert preset_for_steps(CPU_QUALITY_PRESETS["fast"]) == "fast" and preset_for_steps(7) is None
    assert preset_for_steps(True) is None
    cancel = __import__("threading").Event()
    cancel.set()  # only the resolved parameters matter here
    res = stylize(StyleInputs(make_content((40, 30)), make_style()),
                  StyleParams(size=40, device="cpu", preview_every=0), bundled_weights, cancel=cancel)
    table = CPU_QUALITY_PRESETS if cpu_auto_bf16() else CPU_FP32_QUALITY_PRESETS
    assert res.metadata["params"]["steps"] == table["balanced"]
    res = stylize(StyleInputs(make_content((40, 30)), make_style()), StyleParams(size=40, device="cpu", preview_every=0,
                  precision="fp32"), bundled_weights, cancel=cancel)
    assert res.metadata["params"]["steps"] == CPU_FP32_QUALITY_PRESETS["balanced"]

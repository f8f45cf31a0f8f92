"""The optimisation with the real bundled weights at 64-96 px: it stylises, keeps the aspect
ratio, follows the coarse-to-fine schedule, is deterministic, and cancels promptly."""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageChops, ImageStat

from nst_desktop.engine.errors import EngineError, ImageError
from nst_desktop.engine.image.images import pil_to_tensor, read_metadata, resize_long_side, save_image, scaled_size
from nst_desktop.engine.image.inputs import working_hw
from nst_desktop.engine.net import losses
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import Progress, RunOptions, StyleInputs, StyleParams, StyleResult
from nst_desktop.engine.plan import schedule
from nst_desktop.engine.stylize import stylize
from tests.helpers import make_content, make_style


def _params(**kwargs: object) -> StyleParams:
    base: dict[str, object] = {"device": "cpu", "seed": 0, "preview_every": 0}
    base.update(kwargs)
    return StyleParams(**base)  # type: ignore[arg-type]


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two RGB images, in 0-255 units."""
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def _style_and_content_loss(
    net: VGGFeatures, image: Image.Image, content: Image.Image, style: Image.Image
) -> tuple[float, float]:
    """Losses of ``image`` against targets made at its own size (as the engine's final stage does)."""
    long_side = max(image.size)
    with torch.no_grad():
        t = losses.make_targets(
            net(pil_to_tensor(resize_long_side(content, long_side))),
            net(pil_to_tensor(resize_long_side(style, long_side))),
        )
        f = net(pil_to_tensor(image))
        return float(losses.style_loss(f, t)), float(losses.content_loss(f, t))


@pytest.fixture(scope="module")
def net(bundled_weights: VGGWeights) -> VGGFeatures:
    return VGGFeatures(bundled_weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS])


@dataclass
class Run:
    content: Image.Image
    style: Image.Image
    params: StyleParams
    result: StyleResult
    reports: list[Progress] = field(default_factory=list)


@pytest.fixture(scope="module")
def main_run(bundled_weights: VGGWeights) -> Run:
    """One L-BFGS run shared by many tests: 96x64 content to 90 px, coarse to fine from 32 px, 40 steps."""
    content, style = make_content((96, 64)), make_style((80, 80))
    params = _params(size=90, steps=40, start_size=32, preview_every=5)
    reports: list[Progress] = []
    result = stylize(StyleInputs(content, style), params, bundled_weights, on_progress=reports.append)
    return Run(content, style, params, result, reports)


# --- the shared run --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_aspect_ratio_kept(main_run: Run) -> None:
    assert main_run.result.image.size == (90, 60)
    assert main_run.result.image.mode == "RGB"


def test_result_is_finite(main_run: Run) -> None:
    r = main_run.result
    assert math.isfinite(r.content_loss) and math.isfinite(r.style_loss)
    assert all(math.isfinite(p.loss) for p in main_run.reports if p.phase == "optimise")
    t = pil_to_tensor(r.image)
    assert bool(torch.isfinite(t).all())
    lo, hi = ImageStat.Stat(r.image).extrema[0]
    assert hi - lo > 50  # not a flat (e.g. all-NaN turned grey) picture


def test_result_differs_visibly_from_content(main_run: Run) -> None:
    base = resize_long_side(main_run.content, 90)
    assert _mean_abs_diff(main_run.result.image, base) > 15


@pytest.mark.slow
def test_style_loss_falls_by_at_least_half(main_run: Run, net: VGGFeatures) -> None:
    before, _ = _style_and_content_loss(net, resize_long_side(main_run.content, 90), main_run.content, main_run.style)
    after, content_after = _style_and_content_loss(net, main_run.result.image, main_run.content, main_run.style)
    assert after <= 0.5 * before, (before, after)
    assert content_after < 5  # still the same scene, not the style image pasted over it


def test_all_steps_done_not_cancelled(main_run: Run) -> None:
    r = main_run.result
    assert not r.cancelled
    assert r.steps_done == 40
    assert r.elapsed_s > 0


def test_schedule_plan_ends_at_target(main_run: Run) -> None:
    stages = schedule.plan_for("cpu", 90, 40, start=32)
    assert len(stages) > 1
    assert stages[-1].long_side == 90
    assert sum(s.steps for s in stages) == 40


def test_progress_follows_the_schedule_to_the_target(main_run: Run) -> None:
    out_hw = (60, 90)
    # Sizes below 16 px are run enlarged (working_hw).
    expected = [working_hw(scaled_size(out_hw, s.long_side)) for s in schedule.plan_for("cpu", 90, 40, start=32)]
    seen: list[tuple[int, int]] = []
    for p in main_run.reports:
        if not seen or seen[-1] != p.size_hw:
            seen.append(p.size_hw)
    assert seen == expected
    assert seen[-1] == out_hw
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(seen, seen[1:]))
    last = main_run.reports[-1]
    assert last.size_hw == out_hw and last.stage == last.stages - 1 and last.stages == len(expected)


def test_progress_reports(main_run: Run) -> None:
    reports = main_run.reports
    optimise = [p for p in reports if p.phase == "optimise"]
    assert {p.phase for p in reports} == {"targets", "optimise"}
    assert sum(p.phase == "targets" for p in reports) == len(schedule.plan_for("cpu", 90, 40, start=32))
    steps = [p.step for p in optimise]
    assert steps == list(range(1, 41))  # one report per loss evaluation
    assert all(p.total == 40 for p in reports)
    elapsed = [p.elapsed_s for p in reports]
    assert elapsed == sorted(elapsed)
    assert all(p.eta_s is None or p.eta_s >= 0 for p in reports)
    assert optimise[-1].eta_s == pytest.approx(0, abs=1e-6)


def test_previews(main_run: Run) -> None:
    with_preview = [p for p in main_run.reports if p.preview is not None]
    assert [p.step for p in with_preview] == list(range(5, 41, 5))
    for p in with_preview:
        assert p.preview.mode == "RGB"
        assert p.preview.size == (p.size_hw[1], p.size_hw[0])


def test_metadata(main_run: Run, tmp_path: Path) -> None:
    meta = main_run.result.metadata
    assert meta["program"] == "NST Desktop"
    assert meta["params"]["seed"] == 0
    assert meta["params"]["size"] == 90 and meta["params"]["steps"] == 40
    assert meta["steps_done"] == 40 and meta["cancelled"] is False
    assert "bundled" in meta["weights_name"]
    json.dumps(meta)  # embeddable
    out = save_image(main_run.result.image, tmp_path / "r.png", meta)
    assert read_metadata(out) == json.loads(json.dumps(meta))


# --- more runs ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_deterministic_with_seed(bundled_weights: VGGWeights) -> None:
    """Noise init: the seed a run records reproduces it pixel for pixel; another seed does not."""
    content, style = make_content((96, 64)), make_style((80, 80))
    first = stylize(StyleInputs(content, style), _params(size=64, steps=8, init="noise", seed=None), bundled_weights)
    seed = first.metadata["params"]["seed"]
    assert isinstance(seed, int)
    again = stylize(StyleInputs(content, style), _params(size=64, steps=8, init="noise", seed=seed), bundled_weights)
    assert again.image.tobytes() == first.image.tobytes()
    other = stylize(StyleInputs(content, style), _params(size=64, steps=8, init="noise", seed=seed + 1),
                    bundled_weights)
    assert _mean_abs_diff(other.image, first.image) > 1


def _optimiser_run(bundled_weights: VGGWeights, net: VGGFeatures, optimizer: str, steps: int) -> StyleResult:
    """A 64 px run with ``optimizer`` for ``steps`` steps that ends, reports every step and at least
    lowers the style loss to 0.6 of the photo's (the checks every optimiser passes)."""
    content, style = make_content((96, 64)), make_style((80, 80))
    reports: list[Progress] = []
    r = stylize(StyleInputs(content, style), _params(size=64, steps=steps, optimizer=optimizer), bundled_weights,
                reports.append)
    assert r.image.size == (64, 43)
    assert r.steps_done == steps and not r.cancelled
    assert math.isfinite(r.style_loss)
    before, _ = _style_and_content_loss(net, resize_long_side(content, 64), content, style)
    after, _ = _style_and_content_loss(net, r.image, content, style)
    assert after <= 0.6 * before, (before, after)
    assert [p.step for p in reports if p.phase == "optimise"] == list(range(1, steps + 1))
    return r


@pytest.mark.slow
def test_adam(bundled_weights: VGGWeights, net: VGGFeatures) -> None:
    r = _optimiser_run(bundled_weights, net, "adam", 20)
    assert _mean_abs_diff(r.image, resize_long_side(make_content((96, 64)), 64)) > 10


@pytest.mark.slow
def test_lbfgs_wolfe(bundled_weights: VGGWeights, net: VGGFeatures) -> None:
    """The reference optimiser (torch's L-BFGS with strong-Wolfe line search) runs end to end on the
    network: its gradient comes back channels-last, and torch's LBFGS flattens it with ``view``."""
    _optimiser_run(bundled_weights, net, "lbfgs-wolfe", 12)


@pytest.mark.slow
def test_noise_init(bundled_weights: VGGWeights) -> None:
    """After one small Adam step from noise the picture is still noise: the init was used."""
    content, style = make_content((96, 64)), make_style((80, 80))
    r = stylize(StyleInputs(content, style), _params(size=64, steps=1, optimizer="adam", init="noise"), bundled_weights)
    tv = float(losses.tv_loss(pil_to_tensor(r.image)))
    assert tv > 5 * float(losses.tv_loss(pil_to_tensor(resize_long_side(content, 64))))


@pytest.mark.slow
def test_init_from_image_file(bundled_weights: VGGWeights, tmp_path: Path) -> None:
    """A start image of another size is resized to the output; a few small Adam steps stay near it."""
    start = tmp_path / "start.png"
    Image.new("RGB", (50, 50), (220, 20, 20)).save(start)
    content, style = make_content((96, 64)), make_style((80, 80))
    r = stylize(StyleInputs(content, style), _params(size=64, steps=3, optimizer="adam", init=str(start)),
                bundled_weights)
    assert r.image.size == (64, 43)
    red = Image.new("RGB", r.image.size, (220, 20, 20))
    assert _mean_abs_diff(r.image, red) < 20
    assert _mean_abs_diff(r.image, resize_long_side(content, 64)) > 60
    assert r.metadata["params"]["init"] == str(start)


def test_init_from_missing_file(bundled_weights: VGGWeights, tmp_path: Path) -> None:
    missing = tmp_path / "gone.png"
    with pytest.raises(ImageError, match="does not exist"):
        stylize(StyleInputs(make_content(), make_style()), _params(size=64, steps=2, init=str(missing)),
                bundled_weights)


@pytest.mark.slow
def test_portrait_aspect(bundled_weights: VGGWeights) -> None:
    r = stylize(StyleInputs(make_content((64, 96)), make_style()), _params(size=90, steps=2), bundled_weights)
    assert r.image.size == (60, 90)


@pytest.mark.slow
def test_without_coarse_to_fine(bundled_weights: VGGWeights) -> None:
    reports: list[Progress] = []
    r = stylize(StyleInputs(make_content((96, 64)), make_style()),
                _params(size=90, steps=3, start_size=32, coarse_to_fine=False), bundled_weights, reports.append)
    assert {p.size_hw for p in reports} == {(60, 90)}
    assert r.image.size == (90, 60)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["content", "style"])
def test_extreme_aspect_ratio(bundled_weights: VGGWeights, which: str) -> None:
    wide = Image.effect_noise((400, 40), 60).convert("RGB")
    content, style = (wide, make_style()) if which == "content" else (make_content(), wide)
    try:
        r = stylize(StyleInputs(content, style), _params(size=128, steps=2), bundled_weights)
    except (EngineError, ValueError):
        return  # refusing with a readable message is fine too
    assert r.image.size == ((128, 13) if which == "content" else (128, 85))


# --- cancellation ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cancel_from_another_thread_returns_within_a_second(bundled_weights: VGGWeights) -> None:
    cancel = threading.Event()
    set_at: list[float] = []
    started = threading.Event()

    def canceller() -> None:
        started.wait(60)
        time.sleep(0.05)  # land in the middle of an evaluation
        set_at.append(time.perf_counter())
        cancel.set()

    thread = threading.Thread(target=canceller, daemon=True)
    thread.start()

    def on_progress(p: Progress) -> None:
        if p.phase == "optimise" and p.step == 3:
            started.set()

    content, style = make_content((96, 64)), make_style((80, 80))
    r = stylize(StyleInputs(content, style), _params(size=64, steps=500), bundled_weights, on_progress, cancel)
    returned_at = time.perf_counter()
    thread.join(5)
    assert set_at, "the run finished before it could be cancelled"
    assert returned_at - set_at[0] < 1.0
    assert r.cancelled
    assert 3 <= r.steps_done < 500
    assert r.image.size == (64, 43) and r.image.mode == "RGB"
    assert r.metadata["cancelled"] is True and r.metadata["steps_done"] == r.steps_done


@pytest.mark.slow
def test_cancel_adam_midway(bundled_weights: VGGWeights) -> None:
    cancel = threading.Event()

    def on_progress(p: Progress) -> None:
        if p.phase == "optimise" and p.step == 2:
            cancel.set()

    r = stylize(StyleInputs(make_content(), make_style()), _params(size=64, steps=500, optimizer="adam"),
                bundled_weights, on_progress, cancel)
    assert r.cancelled and r.steps_done == 2
    assert r.image.size == (64, 43)


def test_cancelled_before_start_returns_the_content(bundled_weights: VGGWeights) -> None:
    cancel = threading.Event()
    cancel.set()
    content = make_content((96, 64))
    t0 = time.perf_counter()
    r = stylize(StyleInputs(content, make_style()), _params(size=64, steps=500), bundled_weights, cancel=cancel)
    assert time.perf_counter() - t0 < 5
    assert r.cancelled and r.steps_done == 0
    assert _mean_abs_diff(r.image, resize_long_side(content, 64)) < 1


# --- bad parameters ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"size": 10}, "size"),
        ({"size": 100_000}, "size"),
        ({"style_strength": 0.0}, "style strength"),
        ({"steps": -1}, "steps"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"pooling": "min"}, "pooling"),
        ({"seed": -1}, "seed"),
        ({"style_scale": 10.0}, "style scale"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters(bundled_weights: VGGWeights, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stylize(StyleInputs(make_content(), make_style()), _params(**kwargs), bundled_weights)


class _CancelFrom(threading.Event):
    """A cancel flag that reads as set from its ``n``-th ``is_set()`` on: a cancel that lands at
    exactly that read. ``reads`` counts the reads."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.reads = n, 0

    def is_set(self) -> bool:
        self.reads += 1
        return self.reads >= self.n


@pytest.mark.slow
def test_a_late_cancel_marks_the_result_and_its_metadata_alike(bundled_weights: VGGWeights) -> None:
    """Bug 7: the cancel flag was read twice at the end of a run (for the metadata, then for the
    result), so a cancel between the two marked a run as stopped in one and finished in the other.
    Wherever the cancel lands among the last reads, both say the same."""
    content, style = make_content((48, 32)), make_style((32, 32))
    params = StyleParams(size=32, steps=2, device="cpu", seed=0, preview_every=0, coarse_to_fine=False)
    never = _CancelFrom(10**9)
    stylize(StyleInputs(content, style), params, bundled_weights, cancel=never)
    reads = never.reads
    assert reads >= 2
    marked = []
    for n in range(max(1, reads - 2), reads + 2):
        res = stylize(StyleInputs(content, style), params, bundled_weights, cancel=_CancelFrom(n))
        assert res.cancelled == res.metadata["cancelled"], (n, reads)
        marked.append(res.cancelled)
    assert marked[0] and not marked[-1]  # the cancel landed before, during and after the end of a run


class _PullTowards:
    """An extra loss pulling the image towards one colour, weighted heavily: records the sizes asked for."""

    def __init__(self, rgb: tuple[float, float, float], weight: float) -> None:
        self.rgb, self.weight, self.sizes = rgb, weight, []

    def at(self, hw: tuple[int, int], device: torch.device):
        self.sizes.append(hw)
        target = torch.tensor(self.rgb, device=device).view(1, 3, 1, 1)
        return lambda x: self.weight * ((x - target) ** 2).mean()


@pytest.mark.slow  # runs at 96 px
def test_an_extra_loss_is_added_to_the_objective_at_every_size(bundled_weights: VGGWeights) -> None:
    content, style = make_content((96, 64)), make_style()
    params = StyleParams(device="cpu", seed=0, preview_every=0, size=96, steps=24, start_size=48)
    pull = _PullTowards((1.0, 0.0, 1.0), weight=3000.0)
    pulled = stylize(StyleInputs(content, style), params, bundled_weights, options=RunOptions(extra_loss=pull))
    plain = stylize(StyleInputs(content, style), params, bundled_weights)
    assert len(pull.sizes) == 2 and pull.sizes[-1] == working_hw((64, 96))
    magenta = torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1, 1)

    def distance(img: Image.Image) -> float:
        return float((pil_to_tensor(img) - magenta).abs().mean())

    assert distance(pulled.image) < 0.5 * distance(plain.image)

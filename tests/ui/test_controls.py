"""Controls panel, estimates and the result view's zoom and comparison."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize

from nst_desktop.engine.device.devices import DeviceInfo
from nst_desktop.engine.params import CPU_QUALITY_PRESETS, QUALITY_PRESETS, preset_steps
from nst_desktop.engine.plan import memory, schedule
from nst_desktop.services.jobs import (
    estimate_run,
    fixed_steps,
    format_bytes,
    format_duration,
    measured_rate,
    pixel_steps,
    runs_half,
    suggested_output_name,
)
from nst_desktop.services.settings import Settings
from nst_desktop.ui.control_choices import (
    STRENGTH_SLIDER_MAX,
    auto_device_id,
    position_to_strength,
    strength_to_position,
)
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.result_view import ResultView
from tests.helpers import make_content

CPU = DeviceInfo("cpu", "CPU (2 cores)", 16_000_000_000)
SMALL_GPU = DeviceInfo("cuda:0", "GPU 0: Tiny", 300_000_000)
#: The Fast budget on this CPU (its own with or without native bfloat16).
CPU_FAST = preset_steps("fast", "cpu", runs_half("cpu"))


@pytest.fixture
def panel(qtbot) -> ControlsPanel:
    p = ControlsPanel([CPU], cpu_cores=2)
    qtbot.addWidget(p)
    return p


def test_strength_slider_is_log_scale() -> None:
    assert position_to_strength(0) == pytest.approx(0.01)
    assert position_to_strength(STRENGTH_SLIDER_MAX) == pytest.approx(100)
    assert position_to_strength(STRENGTH_SLIDER_MAX // 2) == pytest.approx(1.0)
    assert position_to_strength(300) == pytest.approx(10.0)
    for s in (0.01, 0.05, 1.0, 3.16, 100.0):
        assert position_to_strength(strength_to_position(s)) == pytest.approx(s, rel=0.03)


def test_params_follow_the_widgets(panel: ControlsPanel) -> None:
    panel.size_spin.setValue(640)
    panel.strength_slider.setValue(250)
    panel.quality_combo.setCurrentIndex(panel.quality_combo.findData("fast"))
    panel.init_combo.setCurrentIndex(panel.init_combo.findData("noise"))
    panel.seed_spin.setValue(99)
    p = panel.params(preview_every=4)
    assert (p.size, p.steps, p.init, p.seed, p.device, p.weights, p.preview_every) == (
        640, CPU_FAST, "noise", 99, "auto", "bundled", 4
    )
    assert p.style_strength == pytest.approx(10 ** 0.5, rel=0.01)
    p.validate()
    s = Settings()
    panel.store_settings(s)
    assert (s.size, s.quality, s.init, s.seed) == (640, "fast", "noise", 99)


def test_seed_applies_only_to_the_noise_start(panel: ControlsPanel) -> None:
    panel.init_combo.setCurrentIndex(panel.init_combo.findData("content"))
    assert not panel.seed_spin.isEnabled() and not panel.new_seed_button.isEnabled()
    assert "only matters" in panel.seed_spin.toolTip()
    panel.init_combo.setCurrentIndex(panel.init_combo.findData("noise"))
    assert panel.seed_spin.isEnabled() and "seed" in panel.seed_spin.toolTip().lower()
    seeds = set()
    for _ in range(3):
        panel.new_seed_button.click()
        seeds.add(panel.seed_spin.value())
    assert len(seeds) > 1


def test_device_choice_disabled_without_gpu(panel: ControlsPanel, qtbot) -> None:
    assert not panel.device_combo.isEnabled()
    assert "No GPU" in panel.device_combo.toolTip()
    gpu_panel = ControlsPanel([CPU, SMALL_GPU], cpu_cores=2)
    qtbot.addWidget(gpu_panel)
    assert gpu_panel.device_combo.isEnabled()
    assert [gpu_panel.device_combo.itemData(i) for i in range(gpu_panel.device_combo.count())] == [
        "auto", "cpu", "cuda:0"
    ]
    assert "GPU 0: Tiny" in gpu_panel.device_combo.itemText(0)
    assert auto_device_id([CPU, SMALL_GPU]) == "cuda:0" and auto_device_id([CPU]) == "cpu"


def test_quality_budgets_follow_the_device(qtbot) -> None:
    """CPUs have their own budgets: the labels, the run's steps and the estimate change with the device."""
    panel = ControlsPanel([CPU, SMALL_GPU], cpu_cores=2)
    qtbot.addWidget(panel)
    panel.size_spin.setValue(64)  # fits the small GPU
    panel.quality_combo.setCurrentIndex(panel.quality_combo.findData("fast"))
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    assert panel.params().steps == CPU_FAST
    assert f"({CPU_FAST} steps)" in panel.quality_combo.currentText()
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cuda:0"))
    assert panel.params().steps == QUALITY_PRESETS["fast"]
    assert f"({QUALITY_PRESETS['fast']} steps)" in panel.quality_combo.currentText()
    assert panel.quality_combo.currentData() == "fast"  # the preset itself is kept
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("auto"))  # auto picks the GPU
    assert panel.params().steps == QUALITY_PRESETS["fast"]
    for steps in (CPU_QUALITY_PRESETS["best"], QUALITY_PRESETS["best"]):  # settings from a saved image
        panel.quality_combo.setCurrentIndex(0)
        assert panel.apply_run_params({"steps": steps}) == []
        assert panel.quality_combo.currentData() == "best"


def test_running_locks_controls_with_a_reason(panel: ControlsPanel) -> None:
    panel.set_running(True)
    for w in (panel.size_spin, panel.strength_slider, panel.quality_combo, panel.weights_combo):
        assert not w.isEnabled() and "while painting" in w.toolTip()
    panel.set_running(False)
    assert panel.size_spin.isEnabled() and "while painting" not in panel.size_spin.toolTip()


def test_estimate_shows_memory_time_and_says_it_is_an_estimate(panel: ControlsPanel) -> None:
    panel.set_content_aspect((300, 400))
    panel.size_spin.setValue(800)
    text = panel.estimate_label.text()
    mem = memory.estimate_for_long_side(800, (300, 400), "lbfgs", device_type="cpu", half=runs_half("cpu"))
    assert "800 × 600 px" in text
    assert format_bytes(mem) in text
    assert "Time: known after the first run" in text and "Time: about" not in text  # no guessed number
    panel.set_measuring("cpu")
    assert "Time: measuring this computer's speed…" in panel.estimate_label.text()
    panel.set_tested_rate("cpu", 1e-6)
    assert "Time: about" in panel.estimate_label.text() and "on the CPU" in panel.estimate_label.text()
    panel.set_measured_rates({"cpu": 1e-6})
    assert "from your earlier runs" in panel.estimate_label.text()


def test_estimate_warns_when_memory_will_not_fit(qtbot) -> None:
    panel = ControlsPanel([CPU, SMALL_GPU], cpu_cores=2)
    qtbot.addWidget(panel)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cuda:0"))
    panel.size_spin.setValue(2048)  # too large for the GPU whole: tiled, or refused with the size that fits
    text = panel.estimate_label.text()
    assert "Painted in tiles of" in text or ("Too large" in text and "px fits" in text)
    panel.size_spin.setValue(64)
    assert "Too large" not in panel.estimate_label.text() and "tiles" not in panel.estimate_label.text()


def test_time_estimate_grows_with_size_and_steps() -> None:
    small = estimate_run(256, (3, 4), 150, "cpu", 2)
    big = estimate_run(1024, (3, 4), 150, "cpu", 2)
    more = estimate_run(256, (3, 4), 800, "cpu", 2)
    gpu = estimate_run(1024, (3, 4), 150, "cuda:0", 2)
    assert small.seconds < big.seconds and small.seconds < more.seconds and gpu.seconds < big.seconds
    assert not small.measured
    rate = measured_rate(512, (512, 512), 300, 120.0)
    assert rate == pytest.approx(120.0 / pixel_steps(512, (512, 512), 300))
    assert estimate_run(512, (1, 1), 300, "cpu", 2, {"cpu": rate}).seconds == pytest.approx(120.0)
    assert measured_rate(48, (32, 48), 10, 5.0) is None  # too small to say anything


def test_the_fixed_part_of_a_step_is_paid_per_step_and_per_size_setup() -> None:
    """128 px runs took 2x their estimate: a step's fixed part, folded into a rate per pixel at
    512 px, was 12 times too small there."""
    plain = estimate_run(128, (1, 1), 32, "cpu", 2, tested_rates={"cpu": 1e-5})
    fixed = estimate_run(128, (1, 1), 32, "cpu", 2, tested_rates={"cpu": 1e-5}, step_seconds={"cpu": 0.1})
    assert fixed.seconds - plain.seconds == pytest.approx(0.1 * (32 + schedule.SIZE_SETUP_STEPS))
    assert fixed.measured
    # a guessed rate takes no measured fixed part (and is not shown)
    guess = estimate_run(128, (1, 1), 32, "cpu", 2)
    assert estimate_run(128, (1, 1), 32, "cpu", 2, step_seconds={"cpu": 0.1}).seconds == guess.seconds
    # a run's measured rate is what is left after the fixed part
    rate = measured_rate(512, (512, 512), 300, 120.0, "cpu", per_step_s=0.1)
    steps = fixed_steps(512, 300, 0, "cpu")
    assert rate == pytest.approx((120.0 - 0.1 * steps) / pixel_steps(512, (512, 512), 300))
    assert estimate_run(512, (1, 1), 300, "cpu", 2, {"cpu": rate},
                        step_seconds={"cpu": 0.1}).seconds == pytest.approx(120.0)


def test_formatting_helpers() -> None:
    assert format_duration(0.2) == "1 s" and format_duration(59) == "59 s"
    assert format_duration(150) == "2 min 30 s" and format_duration(3 * 3600 + 600) == "3 h 10 min"
    assert format_duration(80) == "1 min 20 s" and format_duration(120.4) == "2 min"
    assert format_duration(12 * 60 + 7) == "12 min"  # long times to the minute
    assert format_bytes(850_000_000) == "850 MB" and format_bytes(3_200_000_000) == "3.2 GB"
    assert suggested_output_name("photo.jpg", "/art/Starry Night.png") == "photo-in-style-of-Starry-Night.png"
    assert suggested_output_name("", "", ".jpg") == "image-in-style-of-image.jpg"


def test_result_view_zoom_and_compare(qtbot) -> None:
    view = ResultView()
    view.resize(500, 400)
    qtbot.addWidget(view)
    view.show()
    assert not view.compare_action.isEnabled() and "Nothing to compare" in view.compare_button.toolTip()
    view.show_image(pil_to_qimage(make_content((1200, 800))))
    view.set_before(pil_to_qimage(make_content((1200, 800))))
    assert view.compare_action.isEnabled() and view.compare_button.isEnabled()
    # Fit: the whole image inside the view.
    rect = view.canvas.image_rect()
    assert rect.width() <= view.scroll.viewport().width() and rect.width() / rect.height() == pytest.approx(1.5)
    # 100 %: one image pixel per device pixel.
    view.zoom_actual()
    dpr = view.canvas.devicePixelRatioF()
    assert view.canvas.size() == QSize(round(1200 / dpr), round(800 / dpr))
    assert view.actual_button.isChecked() and not view.fit_button.isChecked()
    view.zoom_in()
    assert view.zoom == pytest.approx(1.25)
    view.zoom_fit()
    assert view.zoom is None and view.fit_button.isChecked()
    # Compare: a toggle; the split is set by dragging its line (test_compare.py).
    assert view.canvas.effective_split() == 0.0
    view.compare_button.click()
    assert view.compare_action.isChecked() and view.canvas.effective_split() == pytest.approx(0.5)
    view.set_split(0.4)
    assert view.canvas.effective_split() == pytest.approx(0.4)
    view.canvas.grab()  # paints both halves without error
    view.compare_button.click()
    assert view.canvas.effective_split() == 0.0


def test_result_view_draws_previews_at_output_size(qtbot) -> None:
    view = ResultView()
    qtbot.addWidget(view)
    view.show_image(pil_to_qimage(make_content((60, 40))), QSize(600, 400))
    view.zoom_actual()
    dpr = view.canvas.devicePixelRatioF()
    assert view.canvas.size() == QSize(round(600 / dpr), round(400 / dpr))


def test_the_recoloured_start_is_off_while_colours_keep_the_photos(panel: ControlsPanel) -> None:
    """Issue 35: "Start from: Photo in the painting's colours" stayed while Colours kept the photo's."""
    init, colours = panel.init_combo, panel.preserve_combo
    palette = init.model().item(init.findData("palette"))
    assert colours.currentText() == "The painting's" and init.currentData() == "palette" and palette.isEnabled()
    colours.setCurrentIndex(colours.findData("luminance"))
    assert not palette.isEnabled() and "photo as it is" in palette.toolTip()
    assert init.currentData() == "content" and panel.params().init == "content"  # what the engine starts from
    colours.setCurrentIndex(colours.findData("match"))
    assert not palette.isEnabled() and init.currentData() == "content"
    colours.setCurrentIndex(colours.findData("none"))
    assert palette.isEnabled() and init.currentData() == "palette"  # the choice comes back
    colours.setCurrentIndex(colours.findData("luminance"))
    init.setCurrentIndex(init.findData("noise"))
    colours.setCurrentIndex(colours.findData("none"))
    assert init.currentData() == "noise"  # a later choice is kept
    assert [colours.itemText(i) for i in range(colours.count())][0] == "The painting's"
    assert all("Off" not in colours.itemText(i) for i in range(colours.count()))

"""The side panel of run settings: size, style strength, quality, start, seed, device, weights.

It turns its widgets into :class:`StyleParams` and back into :class:`Settings`, shows
an estimate of memory and time for the chosen size and device, and disables what
does not apply with a tooltip that says why. Its choices, scales and tooltips are
:mod:`~nst_desktop.ui.control_choices`'; the estimate's wording :mod:`~nst_desktop.ui.estimate_text`'s.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.engine import QUALITY_PRESETS, StyleParams, preset_steps
from nst_desktop.engine.device import DeviceInfo
from nst_desktop.engine.params import MAX_SIZE, MAX_STYLE_SCALE, MIN_SIZE, MIN_STYLE_SCALE
from nst_desktop.services.jobs import RunEstimate, device_type, estimate_run, format_bytes, runs_half
from nst_desktop.services.settings import MAX_SEED, Settings
from nst_desktop.ui.control_choices import (
    CONTROL_TIPS,
    INIT_CHOICES,
    PRESERVE_COLOR_CHOICES,
    STRENGTH_SLIDER_MAX,
    STRENGTH_TICKS_PER_DECADE,
    auto_device_id,
    position_to_strength,
    quality_label,
    strength_to_position,
    weights_status,
)
from nst_desktop.ui.elided import ElidedComboBox
from nst_desktop.ui.estimate_text import ENGINE_LOADING, estimate_text
from nst_desktop.ui.print_size import PrintSizeDialog
from nst_desktop.ui.saved_params import restorable_params
from nst_desktop.ui.wrapping_check import WrappingCheckBox

#: Why the recoloured start is off while Colours keeps the photo's.
PALETTE_UNUSED = "Colours keeps the photo's: the painting starts from the photo as it is"
WHILE_RUNNING = "Cannot be changed while painting; press Cancel first."
SEED_UNUSED = (
    "The seed only matters when starting from random noise; starting from the photo is always the same"
)
ONLY_CPU = "No GPU was found (CUDA or Apple MPS): the CPU is the only device"


class ControlsPanel(QWidget):
    """Widgets for every run setting. ``changed`` fires on any change; ``weightsChosen(str)``
    when the user picks a weights source (the window may need to download it)."""

    changed = Signal()
    weightsChosen = Signal(str)

    def __init__(
        self, devices: Sequence[DeviceInfo], cpu_cores: int, parent: QWidget | None = None, engine_ready: bool = True,
    ) -> None:
        """``engine_ready`` False: the engine (torch) is still loading, so the presets' steps and
        the estimate, which depend on how it runs the network, are shown once
        :meth:`engine_loaded` says it is there (with the devices it found)."""
        super().__init__(parent)
        self.devices = list(devices)
        self.cpu_cores = cpu_cores
        self.engine_ready = engine_ready
        self._wanted_device = "auto"
        self._aspect_hw: tuple[int, int] | None = None
        self._rates: dict[str, float] = {}
        self._tested_rates: dict[str, float] = {}
        self._step_seconds: dict[str, float] = {}
        self._measuring: str | None = None
        self._running = False
        self._weights_ready: dict[str, bool] = {"bundled": True, "torchvision": False}

        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_SIZE, MAX_SIZE)
        self.size_spin.setSingleStep(64)
        self.size_spin.setSuffix(" px")
        self.size_spin.setAccelerated(True)
        self.print_button = QPushButton("Print Size…")
        self.print_button.setToolTip("Choose the output size from a print's width and height at a DPI")
        self.print_button.clicked.connect(self.choose_print_size)
        self.seamless_check = WrappingCheckBox("Seamless texture")
        self.seamless_check.setToolTip("Paint a texture that repeats without a visible edge (wallpapers, "
                                       "game textures); its sides become multiples of 16 px")
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setObjectName("estimateLabel")
        self.estimate_label.setTextFormat(Qt.TextFormat.RichText)

        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(0, STRENGTH_SLIDER_MAX)
        self.strength_slider.setPageStep(STRENGTH_TICKS_PER_DECADE // 4)
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(48)
        self.strength_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.preserve_combo = ElidedComboBox()
        for label, value in PRESERVE_COLOR_CHOICES:
            self.preserve_combo.addItem(label, value)

        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(MIN_STYLE_SCALE, MAX_STYLE_SCALE)
        self.scale_spin.setSingleStep(0.25)
        self.scale_spin.setDecimals(2)
        self.scale_spin.setSuffix("×")
        self.scale_spin.setValue(1.0)
        self.objects_check = WrappingCheckBox("Leave out objects")  # short: two lines in the narrowest column
        self.objects_check.box.setAccessibleName("Leave out the painting's objects")  # in the Scene row: whose
        self.layers_check = WrappingCheckBox("Clean scene")

        self.quality_combo = ElidedComboBox()
        for key in QUALITY_PRESETS:  # labelled with the chosen device's budgets in _refresh
            self.quality_combo.addItem(quality_label(key, None), key)

        self.init_combo = ElidedComboBox()
        for label, value in INIT_CHOICES:
            self.init_combo.addItem(label, value)
        #: The recoloured start was chosen and gave way while Colours keeps the photo's.
        self._palette_wanted = False

        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, MAX_SEED)
        self.seed_spin.setMinimumWidth(60)  # narrower than ten digits; grows with the panel
        self.new_seed_button = QPushButton("New seed")
        self.new_seed_button.clicked.connect(self.new_seed)

        self.device_combo = ElidedComboBox()
        self._fill_devices()

        self.weights_combo = ElidedComboBox()
        self.weights_combo.addItem("Bundled VGG19 (Caffe, 8-bit)", "bundled")
        self.weights_combo.addItem("torchvision VGG19", "torchvision")
        self.weights_status = QLabel()
        self.weights_status.setWordWrap(True)

        for combo in (self.quality_combo, self.init_combo, self.device_combo, self.weights_combo,
                      self.preserve_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength_slider, 1)
        strength_row.addWidget(self.strength_label)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.new_seed_button)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_spin, 1)
        size_row.addWidget(self.print_button)
        form.addRow("Output size", size_row)
        form.addRow(self.estimate_label)
        form.addRow("Style strength", strength_row)
        form.addRow("Colours", self.preserve_combo)
        # Checkboxes share rows: a row of their own made the column scroll on an 800 px screen. Each
        # text fits two lines in the narrowest column (a 792 px window).
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale_spin)
        scale_row.addWidget(self.seamless_check, 1)
        form.addRow("Brush scale", scale_row)
        scene_row = QHBoxLayout()  # the two ways of keeping the painting's objects out of the photo
        scene_row.addWidget(self.objects_check, 1)
        scene_row.addWidget(self.layers_check, 1)
        form.addRow("Scene", scene_row)
        form.addRow("Quality", self.quality_combo)
        form.addRow("Start from", self.init_combo)
        form.addRow("Seed", seed_row)
        form.addRow("Device", self.device_combo)
        form.addRow("Weights", self.weights_combo)
        form.addRow(self.weights_status)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)

        self._tips = {getattr(self, name): tip for name, tip in CONTROL_TIPS.items()}
        self.apply_settings(Settings())
        self.size_spin.valueChanged.connect(self._on_changed)
        self.seamless_check.toggled.connect(self._on_changed)
        self.strength_slider.valueChanged.connect(self._on_changed)
        self.quality_combo.currentIndexChanged.connect(self._on_changed)
        self.preserve_combo.currentIndexChanged.connect(self._on_changed)
        self.scale_spin.valueChanged.connect(self._on_changed)
        self.objects_check.toggled.connect(self._on_changed)
        self.layers_check.toggled.connect(self._on_changed)
        self.init_combo.currentIndexChanged.connect(self._on_changed)
        self.seed_spin.valueChanged.connect(self._on_changed)
        self.device_combo.currentIndexChanged.connect(self._on_device_chosen)
        self.device_combo.currentIndexChanged.connect(self._on_changed)
        self.weights_combo.activated.connect(self._on_weights_activated)

    def _fill_devices(self) -> None:
        self.device_combo.clear()
        auto = next(d for d in self.devices if d.id == auto_device_id(self.devices)) if self.devices else None
        self.device_combo.addItem(f"Auto ({auto.label if auto else 'CPU'})", "auto")
        for d in self.devices:
            mem = f", {format_bytes(d.memory_bytes)}" if d.memory_bytes and d.id != "cpu" else ""
            self.device_combo.addItem(f"{d.label}{mem}", d.id)

    def engine_loaded(self, devices: Sequence[DeviceInfo]) -> None:
        """The engine is loaded and found ``devices``: list them (the settings' device chosen again
        if it is among them) and show the presets' steps and the estimate."""
        self.devices = list(devices)
        self.device_combo.blockSignals(True)
        self._fill_devices()
        _select(self.device_combo, self._wanted_device)
        self.device_combo.blockSignals(False)
        self.engine_ready = True
        self._on_changed()

    # --- values ----------------------------------------------------------------
    @property
    def style_strength(self) -> float:
        return position_to_strength(self.strength_slider.value())

    def device_id(self) -> str:
        """The chosen device id, with "auto" resolved (for estimates)."""
        chosen = self.device_combo.currentData()
        return auto_device_id(self.devices) if chosen == "auto" else chosen

    def quality_steps(self) -> int:
        """The chosen quality preset's step budget on the chosen device (CPUs have their own)."""
        device_id = self.device_id()
        return preset_steps(self.quality_combo.currentData(), device_type(device_id), runs_half(device_id))

    @property
    def layer_weights(self) -> str:
        """The style layers' weights the Clean scene checkbox stands for: ticked "fine", else "even"."""
        return "fine" if self.layers_check.isChecked() else "even"

    def show_layer_weights(self, choice: str) -> None:
        """Tick Clean scene for the ``choice`` "fine", untick it for "even"."""
        self.layers_check.setChecked(choice == "fine")

    def apply_run_params(self, p: dict[str, object]) -> list[str]:
        """Show the settings of a saved run (``metadata["params"]``); returns the names of those
        that could not be restored (out of range or unknown). Device and weights are kept; the
        styles and their weights are the Style list's (see the main window)."""
        values, skipped = restorable_params(p)
        if "size" in values:
            self.size_spin.setValue(int(values["size"]))
        if "style_strength" in values:
            self.strength_slider.setValue(strength_to_position(values["style_strength"]))
        if "style_scale" in values:
            self.scale_spin.setValue(values["style_scale"])
        if "seed" in values:
            self.seed_spin.setValue(int(values["seed"]))
        if "seamless" in values:
            self.seamless_check.setChecked(values["seamless"])
        if "leave_out_objects" in values:
            self.objects_check.setChecked(values["leave_out_objects"])
        if "layer_weights" in values:
            self.show_layer_weights(values["layer_weights"])
        for key, combo in (("init", self.init_combo), ("preserve_colors", self.preserve_combo),
                           ("quality", self.quality_combo)):
            if key in values:
                _select(combo, values[key])
        self._refresh()
        return skipped

    def params(self, preview_every: int = 10) -> StyleParams:
        """The run parameters the widgets describe (seed only matters for the noise start)."""
        return StyleParams(
            size=self.size_spin.value(),
            style_strength=self.style_strength,
            style_scale=self.scale_spin.value(),
            preserve_colors=self.preserve_combo.currentData(),
            steps=self.quality_steps(),
            init=self.init_combo.currentData(),
            seed=self.seed_spin.value(),
            device=self.device_combo.currentData(),
            weights=self.weights_combo.currentData(),
            preview_every=preview_every,
            seamless=self.seamless_check.isChecked(),
            leave_out_objects=self.objects_check.isChecked(),
            layer_weights=self.layer_weights,
        )

    def apply_settings(self, s: Settings) -> None:
        """Show the values of ``s`` (unknown device/weights fall back to the first entry)."""
        self.size_spin.setValue(s.size)
        self.strength_slider.setValue(strength_to_position(s.style_strength))
        _select(self.quality_combo, s.quality)
        _select(self.init_combo, s.init)
        self.seed_spin.setValue(s.seed)
        _select(self.device_combo, s.device)
        self._wanted_device = s.device  # listed once the engine has found the GPUs, if it is one
        _select(self.weights_combo, s.weights)
        _select(self.preserve_combo, s.preserve_colors)
        self.scale_spin.setValue(s.style_scale)
        self.seamless_check.setChecked(s.seamless)
        self.objects_check.setChecked(s.leave_out_objects)
        self.show_layer_weights(s.layer_weights)
        self._rates = dict(s.seconds_per_pixel_step)
        self._step_seconds = dict(s.seconds_per_step)
        self._refresh()

    def store_settings(self, s: Settings) -> None:
        """Write the widgets' values into ``s``."""
        s.size = self.size_spin.value()
        s.style_strength = self.style_strength
        s.quality = self.quality_combo.currentData()
        s.init = self.init_combo.currentData()
        s.seed = self.seed_spin.value()
        s.device = self.device_combo.currentData() if self.engine_ready else self._wanted_device
        s.weights = self.weights_combo.currentData()
        s.preserve_colors = self.preserve_combo.currentData()
        s.style_scale = self.scale_spin.value()
        s.seamless = self.seamless_check.isChecked()
        s.leave_out_objects = self.objects_check.isChecked()
        s.layer_weights = self.layer_weights

    def choose_print_size(self) -> None:
        """Ask for a print's size and DPI and set the output size to its long side in pixels."""
        dialog = PrintSizeDialog(self._aspect_hw, self)
        if dialog.exec() == PrintSizeDialog.DialogCode.Accepted:
            self.size_spin.setValue(dialog.long_side())

    def select_weights(self, source: str) -> None:
        _select(self.weights_combo, source)
        self._refresh()

    def set_weights_ready(self, source: str, ready: bool) -> None:
        """Tell the panel whether ``source``'s weights are on disk (changes the status line)."""
        self._weights_ready[source] = ready
        self._refresh()

    def set_content_aspect(self, aspect_hw: tuple[int, int] | None) -> None:
        """The content's (height, width) for the estimate (None: none loaded yet)."""
        self._aspect_hw = aspect_hw
        self._refresh()

    def set_measured_rates(self, rates: dict[str, float]) -> None:
        """Seconds per pixel-step measured per device (from settings)."""
        self._rates = dict(rates)
        self._refresh()

    def set_tested_rate(self, device_id: str, rate: float) -> None:
        """Seconds per pixel-step on ``device_id`` from the speed test (used until a run measures one)."""
        self._tested_rates[device_id] = rate
        self._refresh()

    def set_step_seconds(self, seconds: dict[str, float]) -> None:
        """The fixed part of a step's seconds per device (the speed test's; see :func:`estimate_run`)."""
        self._step_seconds = dict(seconds)
        self._refresh()

    def set_measuring(self, device_id: str | None) -> None:
        """The speed test is measuring ``device_id`` (None: no test is going)."""
        self._measuring = device_id
        self._refresh()

    def estimate(self) -> RunEstimate | None:
        """The estimate of a run with the current settings, or None while the engine loads."""
        return self.estimate_for(self.size_spin.value(), self._aspect_hw or (3, 4), self.quality_steps(),
                                 self.seamless_check.isChecked())

    def estimate_for(self, size: int, aspect_hw: tuple[int, int], steps: int,
                     seamless: bool = False) -> RunEstimate | None:
        """The estimate of a run of ``steps`` at ``size`` px on the chosen device with the rates
        known here (the queue's items too); None while the engine loads."""
        if not self.engine_ready:
            return None
        device_id = self.device_id()
        info = self._device_info(device_id)
        return estimate_run(size, aspect_hw, steps, device_id, self.cpu_cores, self._rates,
                            tested_rates=self._tested_rates, seamless=seamless, step_seconds=self._step_seconds,
                            device_memory_bytes=info.memory_bytes if info and device_id != "cpu" else None)

    def set_running(self, running: bool) -> None:
        """Lock every control while a run is going (with a tooltip saying why)."""
        self._running = running
        self._refresh()

    def seed_used(self) -> bool:
        """True if the seed matters to the next run (it starts from noise)."""
        return self.init_combo.currentData() == "noise"

    @Slot()
    def new_seed(self) -> None:
        """Pick a fresh random seed (nothing while the seed is unused: the start is the photo)."""
        if self.seed_used():
            self.seed_spin.setValue(secrets.randbelow(MAX_SEED + 1))

    # --- internals -----------------------------------------------------------
    @Slot()
    def _on_changed(self) -> None:
        self._refresh()
        self.changed.emit()

    @Slot(int)
    def _on_device_chosen(self, _index: int) -> None:
        self._wanted_device = self.device_combo.currentData()

    @Slot(int)
    def _on_weights_activated(self, _index: int) -> None:
        self._refresh()
        self.changed.emit()
        self.weightsChosen.emit(self.weights_combo.currentData())

    def _refresh(self) -> None:
        self.strength_label.setText(f"{self.style_strength:.3g}×")
        for widget, tip in self._tips.items():
            widget.setEnabled(not self._running)
            widget.setToolTip(WHILE_RUNNING if self._running else tip)
        if not self._running:
            if self.init_combo.currentData() != "noise":
                for w in (self.seed_spin, self.new_seed_button):
                    w.setEnabled(False)
                    w.setToolTip(SEED_UNUSED)
            if len(self.devices) <= 1:
                self.device_combo.setEnabled(False)
                self.device_combo.setToolTip(ONLY_CPU)
        self._update_init_choices()
        weights = self.weights_combo.currentData()
        self.weights_status.setText(weights_status(weights, bool(self._weights_ready.get(weights))))
        kind = device_type(self.device_id())
        for i in range(self.quality_combo.count()):
            key = self.quality_combo.itemData(i)  # the steps depend on the number format the engine runs in:
            steps = preset_steps(key, kind, runs_half(self.device_id())) if self.engine_ready else None
            self.quality_combo.setItemText(i, quality_label(key, steps))
        self.estimate_label.setText(self._estimate_text() if self.engine_ready else ENGINE_LOADING)

    def _update_init_choices(self) -> None:
        """The recoloured start only applies with the painting's colours: while Colours keeps the
        photo's it is disabled (with a tooltip), and the photo as it is is shown instead, which is
        what the engine then starts from; the recoloured start comes back with the painting's colours."""
        applies = self.preserve_combo.currentData() == "none"
        item = self.init_combo.model().item(self.init_combo.findData("palette"))
        item.setEnabled(applies)
        item.setToolTip("" if applies else PALETTE_UNUSED)
        current = self.init_combo.currentData()
        self.init_combo.blockSignals(True)
        if not applies and current == "palette":
            self._palette_wanted = True
            _select(self.init_combo, "content")
        elif applies and self._palette_wanted:
            self._palette_wanted = False
            if current == "content":
                _select(self.init_combo, "palette")
        self.init_combo.blockSignals(False)

    def _device_info(self, device_id: str) -> DeviceInfo | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def _estimate_text(self) -> str:
        est = self.estimate()
        assert est is not None  # the engine is loaded
        device_id = self.device_id()
        return estimate_text(est, device_id, self._device_info(device_id), self._aspect_hw, self._measuring,
                             self.seamless_check.isChecked())


def _select(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    combo.setCurrentIndex(index if index >= 0 else 0)

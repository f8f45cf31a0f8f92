"""What a run is given and what it reports: plain dataclasses passed down to the engine.

:class:`StyleInputs` (the pictures), :class:`StyleParams` (the settings), :class:`RunOptions`
(continuing, keeping state or 16-bit pixels, an extra loss); :class:`Progress` and :class:`StyleResult`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from PIL import Image

if TYPE_CHECKING:  # torch modules: this one is imported before torch is loaded
    from nst_desktop.engine.net.objective import ExtraLoss
    from nst_desktop.engine.resume import Resume

#: Step budgets of the quality presets (evaluations of the loss and its gradient, summed
#: over all sizes) on GPUs and other accelerators (MPS). Their schedule (``schedule.GPU_SHAPE``:
#: sizes √2 apart from 256 px, no history carried between sizes), run on a CPU with cat.jpg,
#: reached these losses relative to the 300-step reference's (night / mosaic):
#: 512 px: 100 steps 0.978x / 1.041x, 210 steps 0.923x / 0.975x, 300 steps 0.919x (night);
#: 1024 px (night): 100 steps 1.133x, 210 steps 0.941x, 300 steps 0.920x.
#: An earlier H100 measurement (older engine) gave 1.14x with 150 steps at 1024 px and 0.93x
#: with 300. Balanced is 210 (was 300) and Fast 100 (was 150): inside their targets (1.1x,
#: 1.5x) in 70 % of the time. The budgets differ from the CPU ones, so that a result's step
#: count names its preset.
QUALITY_PRESETS: dict[str, int] = {"fast": 100, "balanced": 210, "best": 800}
#: The same presets' budgets on CPUs, whose schedule spends its steps where they pay there
#: (see ``schedule.CPU_SHAPE``): on cat.jpg x night.jpg at 512 px (2-core AMX CPU), Fast
#: reached 1.2-1.3x and Balanced 1.0-1.05x the loss of the reference run (targets 1.5x
#: and 1.1x); the GPU budgets would take 4-10 times as long there.
CPU_QUALITY_PRESETS: dict[str, int] = {"fast": 32, "balanced": 72, "best": 200}
#: The presets on CPUs whose network runs in float32 (no native bfloat16: most laptops, or
#: ``precision="fp32"``), where a step costs several times as much: the smallest budgets that
#: keep the quality targets on the reference pairs (judge's measures, 512 px, seed 1; the
#: closest pair is tubingen x starry night, whose Fast target is style <= 1.08 and colour
#: <= 3.34 and Balanced target style <= 0.94 and colour <= 2.57): 18 steps 1.17 / 3.36,
#: 22 steps 1.05 / 3.28, 26 steps 0.79 / 3.05; 50 steps 0.60 / 2.62, 56 steps 0.58 / 2.57,
#: 62 steps 0.55 / 2.46. The other pairs met their targets with room at 18 and 50 steps.
#: (Measured with the split of the time, 13+9 and 36+26 steps at 256 + 512 px; float32 CPUs
#: now spend them as 14+8 and 44+18, see ``schedule.CPU_FP32_SHAPE``.)
CPU_FP32_QUALITY_PRESETS: dict[str, int] = {"fast": 22, "balanced": 62, "best": 170}
DEFAULT_QUALITY = "balanced"


def preset_steps(quality: str, device_type: str, bf16: bool = True) -> int:
    """Step budget of a quality preset ("fast", "balanced", "best") on a device type ("cpu",
    "cuda", "mps"); on CPUs ``bf16`` says whether the network runs in bfloat16 there (see
    :meth:`precision.Precision.choose`)."""
    if device_type != "cpu":
        return QUALITY_PRESETS[quality]
    return (CPU_QUALITY_PRESETS if bf16 else CPU_FP32_QUALITY_PRESETS)[quality]


def preset_for_steps(steps: object) -> str | None:
    """The quality preset whose budget (on any device type) is ``steps``, else ``None``."""
    if isinstance(steps, bool):
        return None
    for table in (QUALITY_PRESETS, CPU_QUALITY_PRESETS, CPU_FP32_QUALITY_PRESETS):
        for name, n in table.items():
            if n == steps:
                return name
    return None

# Each choice is named once, as a Literal type; its tuple of values is derived from it.
#: "lbfgs": L-BFGS on the device, no line search (see engine/optim/device_lbfgs.py); "lbfgs-wolfe":
#: torch.optim.LBFGS with strong-Wolfe line search (the benchmark's reference); "adam".
OptimizerName = Literal["lbfgs", "lbfgs-wolfe", "adam"]
OPTIMIZERS: tuple[OptimizerName, ...] = get_args(OptimizerName)
#: The named start images ("init" may also be the path of an image file): "palette" (the
#: photo recoloured to the painting's colour mean and covariance; the photo itself when
#: colours are preserved), "content" (the photo) or "noise" (around mid-grey).
InitName = Literal["palette", "content", "noise"]
INITS: tuple[InitName, ...] = get_args(InitName)
#: The network's pooling layers: "max" (as trained) or "average" (see :mod:`vgg`).
PoolingName = Literal["max", "average"]
POOLINGS: tuple[PoolingName, ...] = get_args(PoolingName)
#: How the style layers are weighted (see :data:`nst_desktop.engine.net.losses.LAYER_WEIGHTS`).
LayerWeightsName = Literal["fine", "even"]
LAYER_WEIGHTS: tuple[LayerWeightsName, ...] = get_args(LayerWeightsName)
#: The layer weights of results and presets made before the choice (they have no such field).
LAYER_WEIGHTS_BEFORE: LayerWeightsName = "even"
#: Network precision (see :meth:`nst_desktop.engine.net.precision.Precision.choose`).
PrecisionName = Literal["auto", "fp32", "tf32", "bf16"]
PRECISIONS: tuple[PrecisionName, ...] = get_args(PrecisionName)
#: Colour preservation methods (see :mod:`nst_desktop.engine.image.color`).
PreserveColors = Literal["none", "luminance", "match"]
PRESERVE_COLORS: tuple[PreserveColors, ...] = get_args(PreserveColors)
#: Phases a progress report can be in.
Phase = Literal["weights", "targets", "optimise"]
#: Limits of the style scale (style image long side / output long side).
MIN_STYLE_SCALE, MAX_STYLE_SCALE = 0.25, 4.0

#: Limits of the user-facing knobs.
MIN_SIZE, MAX_SIZE = 32, 8192
MIN_STYLE_STRENGTH, MAX_STYLE_STRENGTH = 0.01, 100.0
MIN_STEPS, MAX_STEPS = 1, 100_000
MIN_TV_WEIGHT, MAX_TV_WEIGHT = 0.0, 1e6
#: Forced tile side (px, a multiple of TILE_MULTIPLE; 0: tiles only where a size does not fit,
#: see engine/plan/memory.py) and the memory budget (MB; 0: what the device has free).
MIN_TILE, MAX_TILE, TILE_MULTIPLE = 64, 8192, 16
MAX_MEMORY_LIMIT_MB = 1 << 24
#: Seeds are stored in the result's metadata as JSON integers and given to torch: 0 to 2**63-1.
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class StyleParams:
    """Everything that determines a stylisation (besides the two images).

    Frozen: a run's parameters cross from the window's thread to the worker's; derive
    changed ones with ``dataclasses.replace``. The CLI takes its defaults from here.

    size: long side of the output, px; the aspect ratio of the content is kept.
    style_strength: multiplies the style term; 1.0 is the tuned default. Users see it
        on a log scale (0.01 … 100).
    steps: total budget of loss evaluations over all sizes of the schedule; 0 picks the
        Balanced preset's budget for the device (:func:`preset_steps`), which the
        result's metadata records.
    optimizer: "lbfgs" (on-device L-BFGS, unit steps), "lbfgs-wolfe" (torch's L-BFGS with
        strong-Wolfe line search) or "adam" (output = EMA of iterates).
    init: "palette" (the photo in the painting's colours, see :func:`color.in_palette`;
        with ``preserve_colors`` the photo itself), "content", "noise", or the path of an
        image to start from.
    seed: random seed (noise init); ``None`` picks one, which the result records.
    device: "auto", "cpu", "cuda", "cuda:N" or "mps".
    weights: "bundled", "torchvision" or the path of a weights file.
    pooling: "max" or "average".
    tv_weight: weight of the total-variation term (0 disables it).
    coarse_to_fine: optimise at smaller sizes first (default) or only at ``size``.
    start_size: long side of the first size of the coarse-to-fine schedule, px; 0 picks
        the device's default (:func:`schedule.default_start`: 256 px).
    style_scale: the style image's long side relative to the output's (brush size).
    preview_every: a preview image is reported every this many steps (0: never).
    precision: "auto" (TF32 convolutions on CUDA, bfloat16 on CPUs with AMX, fp32
        elsewhere), "fp32", "tf32" or "bf16"
        (the network in bfloat16 on GPUs and CPUs that support it; Gram matrices and
        losses stay fp32).
    preserve_colors: "none"; "luminance" (style transferred on luma only, the photo's
        chroma kept); or "match" (the style's colour mean and covariance matched to the
        photo's before the run). See :mod:`nst_desktop.engine.image.color`.
    tile: inner side of the tiles, px (a multiple of 16), to optimise in tiles at every size
        larger than it; 0 (default): tiles only where a size does not fit ``memory_limit_mb``
        (see :mod:`nst_desktop.engine.tiling.objective`).
    memory_limit_mb: the memory a run may use, MB (10^6 bytes); 0: 90 % of what the device has free.
    seamless: the result tiles without a visible edge when repeated (wrap-around: its
        sides are then multiples of 16 px).
    leave_out_objects: leave the painting's one-off objects (a face, eyes, an animal) out of its
        style (default): its deep Gram targets (relu3_1..relu5_1) are weighted by where the
        painting recurs (see :mod:`nst_desktop.engine.net.recurring`), so only its recurring
        brushwork is painted; a painting that is all brushwork keeps every place. Off: the plain
        Gram targets (results made before this option were all made so).
    layer_weights: how the five style layers weigh in the style term
        (:data:`nst_desktop.engine.net.losses.LAYER_WEIGHTS`): "fine" (default), each layer half
        the one above it, relu1_1 most, for a clean scene with fewer pieces of the painting; "even",
        all five alike (Gatys et al. 2016), as results made before this option.
    """

    size: int = 512
    style_strength: float = 1.0
    steps: int = 0
    optimizer: OptimizerName = "lbfgs"
    init: InitName | str = "palette"
    seed: int | None = None
    device: str = "auto"
    weights: str = "bundled"
    pooling: PoolingName = "max"
    tv_weight: float = 0.0
    coarse_to_fine: bool = True
    start_size: int = 0
    style_scale: float = 1.0
    preview_every: int = 10
    precision: PrecisionName = "auto"
    preserve_colors: PreserveColors = "none"
    tile: int = 0
    memory_limit_mb: int = 0
    seamless: bool = False
    leave_out_objects: bool = True
    layer_weights: LayerWeightsName = "fine"

    def validate(self) -> None:
        """Raise ``ValueError`` with a readable message for an out-of-range value."""
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px, not {self.size}")
        if not MIN_STYLE_STRENGTH <= self.style_strength <= MAX_STYLE_STRENGTH:
            raise ValueError(
                f"style strength must be between {MIN_STYLE_STRENGTH} and {MAX_STYLE_STRENGTH}, "
                f"not {self.style_strength}"
            )
        if self.steps != 0 and not MIN_STEPS <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps must be 0 (the device's Balanced preset) or between {MIN_STEPS} and "
                             f"{MAX_STEPS}, not {self.steps}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be {' or '.join(map(repr, POOLINGS))}, not {self.pooling!r}")
        if self.layer_weights not in LAYER_WEIGHTS:
            raise ValueError(f"layer weights must be {' or '.join(map(repr, LAYER_WEIGHTS))}, "
                             f"not {self.layer_weights!r}")
        if not MIN_TV_WEIGHT <= self.tv_weight <= MAX_TV_WEIGHT:
            raise ValueError(
                f"tv weight must be between {MIN_TV_WEIGHT:g} and {MAX_TV_WEIGHT:.0e}, not {self.tv_weight}"
            )
        if not MIN_STYLE_SCALE <= self.style_scale <= MAX_STYLE_SCALE:
            raise ValueError(
                f"style scale must be between {MIN_STYLE_SCALE:g} and {MAX_STYLE_SCALE:g}, not {self.style_scale}"
            )
        if self.preserve_colors not in PRESERVE_COLORS:
            raise ValueError(
                f"preserve colours must be one of {', '.join(PRESERVE_COLORS)}, not {self.preserve_colors!r}"
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and 2**63-1, not {self.seed}")
        if self.start_size != 0 and not MIN_SIZE <= self.start_size <= MAX_SIZE:
            raise ValueError(f"start size must be 0 (automatic) or between {MIN_SIZE} and {MAX_SIZE} px")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.preview_every < 0:
            raise ValueError("preview interval must be 0 or more")
        if self.tile != 0 and not (MIN_TILE <= self.tile <= MAX_TILE and self.tile % TILE_MULTIPLE == 0):
            raise ValueError(f"tile size must be 0 (automatic) or a multiple of {TILE_MULTIPLE} between "
                             f"{MIN_TILE} and {MAX_TILE} px, not {self.tile}")
        if not 0 <= self.memory_limit_mb <= MAX_MEMORY_LIMIT_MB:
            raise ValueError(f"memory limit must be 0 (automatic) or up to {MAX_MEMORY_LIMIT_MB} MB, "
                             f"not {self.memory_limit_mb}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StyleInputs:
    """The pictures a run paints from: RGB Pillow images of any size, checked when made.

    ``paintings``: one image or several (kept as a tuple). With several, ``style_weights``
    (relative; default 1 each; kept as a tuple of floats) blend them: the style targets are the
    weighted mean of their Gram matrices, ``G = sum w_i G_i / sum w_i``, and a weight of 0 leaves
    that painting out entirely. Weights must be finite and >= 0, with a positive sum.

    Spatial control (Gatys et al. 2017): ``masks`` gives one mask image per painting (white =
    paint this style here, black = not; any mode, resized to the content); ``keep_mask`` (white =
    keep) marks pixels that keep the photo, and so do pixels that no mask covers (see
    :mod:`nst_desktop.engine.image.masks`). Raises ``ValueError``.
    """

    content: Image.Image
    paintings: Sequence[Image.Image]
    style_weights: Sequence[float] | None = None
    masks: Sequence[Image.Image] | None = None
    keep_mask: Image.Image | None = None

    def __post_init__(self) -> None:
        paintings = (self.paintings,) if isinstance(self.paintings, Image.Image) else tuple(self.paintings)
        if not paintings:
            raise ValueError("at least one style image is needed")
        weights = (1.0,) * len(paintings) if self.style_weights is None else tuple(float(w) for w in self.style_weights)
        if len(weights) != len(paintings):
            raise ValueError(f"{len(paintings)} style images but {len(weights)} style weights")
        if any(not math.isfinite(w) or w < 0 for w in weights):
            raise ValueError(f"style weights must be finite and 0 or more, not {list(weights)}")
        if sum(weights) <= 0:
            raise ValueError("at least one style weight must be above 0")
        masks = None if self.masks is None else tuple(self.masks)
        if masks is not None and len(masks) != len(paintings):
            raise ValueError(f"{len(paintings)} style images but {len(masks)} masks: give one mask per style")
        object.__setattr__(self, "paintings", paintings)  # frozen: the checked forms, set once here
        object.__setattr__(self, "style_weights", weights)
        object.__setattr__(self, "masks", masks)


@dataclass(frozen=True)
class RunOptions:
    """How a run starts and what it keeps, beyond its settings.

    ``resume``: continue from an earlier result (:class:`~nst_desktop.engine.resume.Resume`): its image
    replaces ``StyleParams.init`` as the starting image, and its optimiser state, if any, goes on (see
    :mod:`nst_desktop.engine.resume`). ``keep_state``: return the run's own optimiser state as
    ``StyleResult.state`` (on the CPU), for a later continue. ``extra_loss``: a term added to the
    objective at every size (:class:`~nst_desktop.engine.net.objective.ExtraLoss`, e.g. video's
    temporal loss). ``keep_pixels``: also return the result in 16 bits per channel
    (``StyleResult.pixels16``).
    """

    resume: Resume | None = None
    keep_state: bool = False
    extra_loss: ExtraLoss | None = None
    keep_pixels: bool = False


@dataclass
class Progress:
    """One progress report of a run.

    step/total: loss evaluations done / budgeted, over all sizes.
    stage/stages: index (0-based) of the current size in the schedule / their number.
    size_hw: (height, width) of the current size, px.
    content_loss/style_loss/loss: the latest values (see :mod:`losses`).
    elapsed_s/eta_s: seconds since the start / estimated seconds left.
    preview: the current image as RGB Pillow image, or ``None`` on steps without one.
    phase: "weights", "targets" or "optimise".
    """

    step: int
    total: int
    stage: int
    stages: int
    size_hw: tuple[int, int]
    content_loss: float
    style_loss: float
    loss: float
    elapsed_s: float
    eta_s: float | None
    preview: Image.Image | None = None
    phase: Phase = "optimise"
    #: Within a step of a tiled size: the tile just done (1-based) and the step's tiles (0: untiled).
    tile: int = 0
    tiles: int = 0


@dataclass
class StyleResult:
    """What a run returns. ``image`` is the full-resolution RGB result.

    ``cancelled`` is True if the run was stopped early (``image`` is then the best so
    far). ``metadata`` holds everything needed to reproduce it (embedded on save).
    ``state`` is the L-BFGS state at the end (on the CPU), only when the run was asked
    to keep it; pass it as ``RunOptions(resume=Resume(image, state))`` to continue
    (see :class:`nst_desktop.engine.resume.Resume`).
    """

    image: Image.Image
    cancelled: bool
    steps_done: int
    content_loss: float
    style_loss: float
    elapsed_s: float
    metadata: dict[str, Any] = field(default_factory=dict)
    state: Any = field(default=None, repr=False, compare=False)
    #: The result before rounding to 8 bits, ``(3, H, W)`` uint16 on the CPU, when the run was asked
    #: for it (``RunOptions(keep_pixels=True)``: a 16-bit TIFF, see engine/image/tiff16.py); else None.
    pixels16: Any = field(default=None, repr=False, compare=False)

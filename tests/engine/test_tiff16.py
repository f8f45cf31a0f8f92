"""16-bit TIFF with the sRGB profile: the samples come back exactly, with the settings and the profile."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from nst_desktop import cli
from nst_desktop.engine.errors import ImageError
from nst_desktop.engine.image.images import pil_to_tensor, read_metadata
from nst_desktop.engine.image.tiff16 import ROWS_PER_STRIP, save_tiff16, srgb_profile
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import RunOptions, StyleInputs, StyleParams
from nst_desktop.engine.stylize import stylize
from tests.helpers import make_content, make_style


def _read(path: Path) -> tuple[dict[int, object], torch.Tensor]:
    """A minimal reader of this writer's files: the tags, and the samples as (H, W, 3) int32."""
    data = path.read_bytes()
    assert data[:4] == b"II*\0"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (n,) = struct.unpack_from("<H", data, ifd)
    sizes = {3: 2, 4: 4, 2: 1, 7: 1, 5: 8}
    tags: dict[int, object] = {}
    for i in range(n):
        tag, kind, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * i)
        if sizes[kind] * count <= 4:
            raw = data[ifd + 2 + 12 * i + 8 : ifd + 2 + 12 * i + 8 + sizes[kind] * count]
        else:
            raw = data[value : value + sizes[kind] * count]
        fmt = {3: "H", 4: "I"}.get(kind)
        tags[tag] = list(struct.unpack(f"<{count}{fmt}", raw)) if fmt else raw
    w, h = tags[256][0], tags[257][0]  # type: ignore[index]
    samples = b"".join(zlib.decompress(data[o : o + c]) for o, c in zip(tags[273], tags[279], strict=True))  # type: ignore[arg-type]
    values = torch.tensor(struct.unpack(f"<{w * h * 3}H", samples), dtype=torch.int32).view(h, w, 3)
    return tags, values


def test_the_samples_profile_and_settings_come_back(tmp_path: Path) -> None:
    h, w = ROWS_PER_STRIP * 2 + 7, 33  # several strips, the last one short
    gen = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 65536, (3, h, w), generator=gen, dtype=torch.int32).to(torch.uint16)
    path = tmp_path / "print.tif"
    save_tiff16(pixels, path, {"params": {"size": 33}})
    tags, values = _read(path)
    assert tags[258] == [16, 16, 16] and tags[277] == [3] and tags[262] == [2]
    assert tags[34675] == srgb_profile()
    assert torch.equal(values, pixels.to(torch.int32).permute(1, 2, 0))
    assert read_metadata(path) == {"params": {"size": 33}}
    assert Image.open(path).size == (w, h)  # other readers open it too
    assert not list(tmp_path.glob("*.part"))


def test_float_pixels_are_rounded_to_16_bits(tmp_path: Path) -> None:
    pixels = torch.tensor([0.0, 0.5, 1.0, 1.5, -1.0, 1 / 65535]).view(3, 1, 2)
    save_tiff16(pixels, tmp_path / "f.tif")
    _tags, values = _read(tmp_path / "f.tif")
    assert values.permute(2, 0, 1).reshape(-1).tolist() == [0, 32768, 65535, 65535, 0, 1]


def test_a_failed_save_names_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "print.tif"
    with pytest.raises(ImageError, match="no-such-folder"):
        save_tiff16(torch.zeros(3, 4, 4), missing)
    assert not missing.parent.exists()


def test_a_run_keeps_its_16_bit_pixels_when_asked(bundled_weights: VGGWeights) -> None:
    params = StyleParams(device="cpu", seed=0, preview_every=0, size=64, steps=3, coarse_to_fine=False)
    result = stylize(StyleInputs(make_content((64, 48)), make_style()), params, bundled_weights,
                     options=RunOptions(keep_pixels=True))
    assert result.pixels16 is not None and result.pixels16.shape == (3, 48, 64)
    eight = pil_to_tensor(result.image)[0]
    assert float((result.pixels16.to(torch.float32) / 65535 - eight).abs().max()) <= 0.5 / 255 + 1e-6
    assert stylize(StyleInputs(make_content((64, 48)), make_style()), params, bundled_weights).pixels16 is None


def test_cli_bit_depth_16_needs_a_tiff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    make_content((64, 48)).save(content)
    make_style().save(style)
    assert cli.main(["stylize", str(content), str(style), "-o", str(tmp_path / "o.png"), "--bit-depth", "16"]) == 1
    assert "TIFF only" in capsys.readouterr().err
    out = tmp_path / "o.tif"
    assert cli.main(["stylize", str(content), str(style), "-o", str(out), "--bit-depth", "16", "--size", "48",
                     "--steps", "2", "--device", "cpu", "--quiet"]) == 0
    tags, _values = _read(out)
    assert tags[258] == [16, 16, 16] and read_metadata(out)["params"]["size"] == 48

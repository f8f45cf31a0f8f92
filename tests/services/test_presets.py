"""Presets stored per user and as files: round trips, and every field of an untrusted file checked
with one line naming the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nst_desktop.services import presets as ps
from nst_desktop.services.presets import Preset, PresetError, PresetStyle


def _preset(name: str = "Night", **kw) -> Preset:
    values = dict(name=name, size=256, style_strength=2.5, style_scale=1.5, preserve_colors="luminance",
                  quality="fast", init="noise", seed=1234, seamless=False, device="cpu", weights="bundled",
                  styles=(PresetStyle("/art/night.png", 1.0), PresetStyle("/art/wave.png", 0.25)))
    values.update(kw)
    return Preset(**values)


def test_store_round_trip_in_the_user_config_folder() -> None:
    assert ps.load_presets().presets == ()
    a, b = _preset(), _preset("Sea", seed=7)
    path = ps.save_presets((a, b))
    assert path.parent == ps.paths.config_dir() and path.name == "presets.json"
    assert ps.load_presets().presets == (a, b)
    c = _preset("Night", size=512)
    assert ps.with_preset((a, b), c) == (c, b)  # same name: replaced in its place
    assert ps.unused_name((a, b), "Night") == "Night (2)"


def test_file_round_trip(tmp_path: Path) -> None:
    p = ps.write_preset_file(_preset(), tmp_path / "night.json")
    assert ps.read_preset_file(p) == _preset()
    data = json.loads(p.read_text())
    assert data["format"] == "nst-desktop-preset" and data["version"] == 1


def _file(tmp_path: Path, preset: object, name: str = "bad.json", **outer) -> Path:
    body = {"format": "nst-desktop-preset", "version": 1, "preset": preset, **outer}
    p = tmp_path / name
    p.write_text(json.dumps(body))
    return p


@pytest.mark.parametrize(("change", "words"), [
    ({"size": 10}, "'size' must be a whole number from 32"),
    ({"size": 256.0}, "'size' must be a whole number"),
    ({"style_strength": float("nan")}, "'style_strength'"),
    ({"style_strength": True}, "'style_strength'"),
    ({"style_scale": 9}, "'style_scale'"),
    ({"preserve_colors": "sepia"}, "'preserve_colors' must be one of"),
    ({"quality": "ultra"}, "'quality'"),
    ({"init": 3}, "'init'"),
    ({"seed": -1}, "'seed'"),
    ({"seamless": "yes"}, "'seamless' must be true or false"),
    ({"leave_out_objects": 1}, "'leave_out_objects' must be true or false"),
    ({"layer_weights": "deep"}, "'layer_weights'"),
    ({"device": "tpu"}, "'device'"),
    ({"weights": "/tmp/evil.pth"}, "'weights'"),
    ({"name": ""}, "the name is empty"),
    ({"name": "a\nb"}, "control characters"),
    ({"name": "x" * 81}, "longer than 80"),
    ({"styles": [{"path": "relative.png", "weight": 1}]}, "not absolute"),
    ({"styles": [{"path": "/a.png", "weight": 2}]}, "weight must be a number from 0 to 1"),
    ({"styles": [{"path": "/a.png"}]}, "exactly a 'path' and a 'weight'"),
    ({"styles": [{"path": "/a.png", "weight": 1}] * 9}, "at most 8"),
    ({"extra": 1}, "unknown field 'extra'"),
])
def test_every_field_of_a_preset_file_is_checked(tmp_path: Path, change: dict, words: str) -> None:
    data = _preset().to_dict()
    data.update(change)
    with pytest.raises(PresetError) as err:
        ps.read_preset_file(_file(tmp_path, data))
    text = str(err.value)
    assert text.startswith("'bad.json' is not a usable preset: ") and words in text and "\n" not in text


def test_a_preset_file_from_before_leave_out_objects_is_read_with_it_off(tmp_path: Path) -> None:
    data = _preset(leave_out_objects=True).to_dict()
    assert data["leave_out_objects"] is True
    assert ps.read_preset_file(_file(tmp_path, data, "new.json")).leave_out_objects is True
    del data["leave_out_objects"]
    assert ps.read_preset_file(_file(tmp_path, data, "old.json")) == _preset()


def test_a_preset_file_from_before_layer_weights_is_read_with_all_layers_alike(tmp_path: Path) -> None:
    data = _preset(layer_weights="fine").to_dict()
    assert ps.read_preset_file(_file(tmp_path, data, "new.json")).layer_weights == "fine"
    del data["layer_weights"]
    assert ps.read_preset_file(_file(tmp_path, data, "old.json")).layer_weights == "even"


def test_missing_fields_and_wrong_files(tmp_path: Path) -> None:
    data = _preset().to_dict()
    del data["seed"]
    cases = [
        (_file(tmp_path, data, "a.json"), "has no 'seed'"),
        (_file(tmp_path, _preset().to_dict(), "b.json", more=1), "unknown fields"),
        (_file(tmp_path, [1, 2], "c.json"), "does not hold a preset object"),
    ]
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"format": "nst-desktop-preset", "version": 9, "preset": {}}))
    cases.append((newer, "newer version"))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"version": 3, "size": 512}))
    cases.append((settings, "not an NST Desktop preset file"))
    png = tmp_path / "photo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    cases.append((png, "not a text (JSON) file"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ')
    cases.append((broken, "not valid JSON"))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 30_000 + "]" * 30_000)
    cases.append((deep, "not valid JSON"))
    huge = tmp_path / "huge.json"
    huge.write_text(" " * (ps.MAX_PRESET_FILE_BYTES + 1))
    cases.append((huge, "larger than 64 KB"))
    cases.append((tmp_path, "is not a file"))
    cases.append((tmp_path / "gone.json", "does not exist"))
    for path, words in cases:
        with pytest.raises(PresetError) as err:
            ps.read_preset_file(path)
        assert words in str(err.value) and f"'{path.name}'" in str(err.value) and "\n" not in str(err.value)


def test_a_damaged_store_loses_only_the_damaged_presets(tmp_path: Path) -> None:
    store = tmp_path / "presets.json"
    good = _preset().to_dict()
    store.write_text(json.dumps({"version": 1, "presets": [good, {**good, "name": "B", "size": "big"}]}))
    loaded = ps.load_presets(store)
    assert loaded.presets == (_preset(),) and "1 preset(s)" in (loaded.problem or "")
    store.write_text("not json")
    loaded = ps.load_presets(store)
    assert loaded.presets == () and "cannot be used" in (loaded.problem or "")
    assert store.read_text() == "not json"  # left for the user

"""Settings file: defaults, round trip, broken files kept aside, atomic writes."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_desktop.services import paths
from nst_desktop.services import settings as S
from nst_desktop.services.settings import (
    MAX_RECENT,
    MAX_STYLES,
    SETTINGS_VERSION,
    Settings,
    StyleEntry,
    load_settings,
    remember_recent,
    save_settings,
    settings_path,
)


def test_settings_file_is_in_the_config_dir(tmp_path: Path) -> None:
    # conftest points XDG_CONFIG_HOME into a temp folder.
    assert settings_path().name == "settings.json"
    assert "config" in str(settings_path())


def test_missing_file_gives_defaults_without_problem() -> None:
    res = load_settings()
    assert res.settings == Settings()
    assert res.problem is None and res.backup is None


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    s = Settings(
        window_geometry="AAEC",
        splitters={"main": [300, 600, 320], "inputs": [1, 2]},
        last_open_dir="/pictures",
        last_save_dir="/out",
        size=1024,
        style_strength=3.16,
        quality="best",
        init="noise",
        seed=123456,
        device="cpu",
        weights="torchvision",
        recent_content=["/a.png", "/b.jpg"],
        recent_style=["/s.png"],
        seconds_per_pixel_step={"cpu": 1.2e-5},
        zoom="100",
    )
    p = save_settings(s)
    assert p == settings_path()
    data = json.loads(p.read_text())
    assert data["version"] == SETTINGS_VERSION
    back = load_settings()
    assert back.problem is None
    assert back.settings == s


@pytest.mark.parametrize(
    ("content", "word"),
    [
        ("{not json", "corrupt"),
        ("", "empty"),
        ("   \n", "empty"),
        ("[1, 2, 3]", "settings object"),
        (json.dumps({"size": 100}), "version"),
        (json.dumps({"version": SETTINGS_VERSION + 1, "size": 100}), "newer version"),
    ],
)
def test_broken_file_gives_defaults_and_is_kept(content: str, word: str) -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(content)
    res = load_settings()
    assert res.settings == Settings()
    assert res.problem is not None and word in res.problem and str(p) in res.problem
    assert res.backup is not None and res.backup.name.startswith("settings.json.broken-")
    assert res.backup.parent == p.parent
    assert res.backup.read_text() == content
    # Loading again keeps a second copy instead of overwriting the first.
    res2 = load_settings()
    assert res2.backup is not None and res2.backup != res.backup and res.backup.exists()


def test_binary_garbage_is_handled() -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    res = load_settings()
    assert res.settings == Settings() and res.problem and res.backup and res.backup.exists()


def test_bad_values_fall_back_one_by_one() -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(
        json.dumps(
            {
                "version": SETTINGS_VERSION,
                "size": 10,  # below the minimum
                "style_strength": 2.5,  # fine
                "quality": "ultra",
                "seed": -1,
                "device": 7,
                "weights": "torchvision",  # fine
                "recent_content": "not a list",
                "recent_style": ["/x.png", 3],
                "splitters": {"main": [1, -5]},
                "seconds_per_pixel_step": {"cpu": -1},
                "zoom": "200",
                "unknown_key": 1,
            }
        )
    )
    res = load_settings()
    d = Settings()
    s = res.settings
    assert res.problem is None
    assert s.style_strength == 2.5 and s.weights == "torchvision"
    assert (s.size, s.quality, s.seed, s.device) == (d.size, d.quality, d.seed, d.device)
    assert s.recent_content == [] and s.recent_style == [] and s.splitters == {}
    assert s.seconds_per_pixel_step == {} and s.zoom == "fit"


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings(Settings(size=640))
    p = settings_path()
    before = p.read_text()

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "replace", boom)  # the atomic write both files use
    with pytest.raises(OSError):
        save_settings(Settings(size=2048))
    assert p.read_text() == before
    assert sorted(os.listdir(p.parent)) == ["settings.json"]


def test_remember_recent_moves_to_front_and_caps() -> None:
    items: list[str] = []
    for i in range(MAX_RECENT + 5):
        items = remember_recent(items, f"/img{i}.png")
    assert len(items) == MAX_RECENT and items[0] == f"/img{MAX_RECENT + 4}.png"
    items = remember_recent(items, items[3])
    assert items[0] == f"/img{MAX_RECENT + 1}.png" and len(set(items)) == len(items)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(32, 8192),
    strength=st.floats(0.01, 100, allow_nan=False),
    quality=st.sampled_from(["fast", "balanced", "best"]),
    seed=st.integers(0, 2**31 - 1),
    recent=st.lists(st.text(min_size=1, max_size=30), max_size=MAX_RECENT),
    geometry=st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
)
def test_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory, size: int, strength: float, quality: str, seed: int,
    recent: list[str], geometry: str,
) -> None:
    path = tmp_path_factory.mktemp("prop") / "settings.json"
    s = Settings(size=size, style_strength=strength, quality=quality, seed=seed, recent_content=recent,
                 window_geometry=geometry)
    save_settings(s, path)
    assert load_settings(path).settings == s


def test_artist_controls_round_trip_and_fall_back_one_by_one() -> None:
    s = Settings(preserve_colors="match", style_scale=2.25,
                 styles=[StyleEntry("/a.png", 1.0), StyleEntry("", 0.25), StyleEntry("/c.jpg", 0.0)])
    save_settings(s)
    assert json.loads(settings_path().read_text())["styles"][1] == {"path": "", "weight": 0.25}
    assert load_settings().settings == s
    p = settings_path()
    for bad in ({"preserve_colors": "sepia", "style_scale": 9.0, "styles": [{"path": "/a.png", "weight": 1.5}]},
                {"preserve_colors": 1, "style_scale": True, "styles": [{"path": 3, "weight": 0.5}]},
                {"preserve_colors": None, "style_scale": "2", "styles": "a.png"},
                {"styles": [{"path": "/a.png", "weight": float("nan")}]},
                {"styles": [{"path": "/a.png", "weight": True}]},
                {"styles": [["/a.png", 0.5]]},
                {"styles": [{"path": f"/{i}.png", "weight": 1.0} for i in range(MAX_STYLES + 1)]}):
        p.write_text(json.dumps({"version": SETTINGS_VERSION, "size": 640, **bad}))
        back = load_settings().settings
        assert back.size == 640  # the good value survives
        assert (back.preserve_colors, back.style_scale, back.styles) == ("none", 1.0, [])


@pytest.mark.parametrize(("blend", "weights"), [(0.3, [1.0, 0.3 / 0.7]), (0.5, [1.0, 1.0]), (0.8, [0.25, 1.0]),
                                                 (1.0, [0.0, 1.0]), (0, [1.0, 0.0])])
def test_version_1_file_is_migrated(blend: float, weights: list[float]) -> None:
    """A file of the previous version (one style, an optional second one and the blend) still loads:
    its blend becomes the remembered weights of the first two rows of the Style list."""
    p = settings_path()
    p.parent.mkdir(parents=True)
    old = {"version": 1, "size": 640, "seed": 9, "blend": blend, "preserve_colors": "luminance", "style_scale": 2.0,
           "recent_style": ["/s2.png", "/s1.png"]}
    p.write_text(json.dumps(old))
    res = load_settings()
    assert res.problem is None and res.backup is None
    s = res.settings
    assert (s.size, s.seed, s.preserve_colors, s.style_scale) == (640, 9, "luminance", 2.0)
    assert [e.path for e in s.styles] == ["", ""]
    assert [e.weight for e in s.styles] == pytest.approx(weights)
    assert s.recent_style == ["/s2.png", "/s1.png"]
    save_settings(s)
    data = json.loads(p.read_text())
    assert data["version"] == SETTINGS_VERSION == 3 and "blend" not in data and len(data["styles"]) == 2


def test_version_1_file_without_or_with_a_bad_blend() -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    for extra in ({}, {"blend": "half"}, {"blend": 1.5}, {"blend": None}):
        p.write_text(json.dumps({"version": 1, "size": 700, **extra}))
        s = load_settings().settings
        assert s.size == 700 and s.styles == []
    assert S.migrate({"version": 2, "blend": 0.3}) == {"version": 3, "blend": 0.3}  # only version 1 has a blend


@pytest.mark.parametrize(("old", "new"), [("content", "palette"), ("noise", "noise"), (None, "palette")])
def test_version_2_file_gets_the_new_default_start(old: str | None, new: str) -> None:
    """Version 2's default start, the photo, becomes version 3's, the photo in the painting's
    colours; a chosen noise start is kept."""
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"version": 2, "size": 640, **({"init": old} if old else {})}))
    res = load_settings()
    assert res.problem is None and res.settings.init == new and res.settings.size == 640


def _load_with(**fields: object) -> Settings:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": SETTINGS_VERSION, **fields}), encoding="utf-8")
    res = load_settings()
    assert res.problem is None
    return res.settings


def test_out_of_range_splitters_and_speeds_fall_back_one_by_one() -> None:
    """Splitter sizes of 10**12 made QSplitter.setSizes overflow on every start; a speed of 1e300 s
    per pixel-step was taken as a measurement. Each bad entry is left out, the good ones kept."""
    s = _load_with(splitters={"main": [10**12, 5, 5], "inputs": [300, 460]},
                   seconds_per_pixel_step={"cpu": 1e300, "cuda:0": 2e-9, "mps": 0.0})
    assert s.splitters == {"inputs": [300, 460]}
    assert s.seconds_per_pixel_step == {"cuda:0": 2e-9}


def test_over_long_texts_fall_back_to_defaults() -> None:
    long = "x" * (S.MAX_TEXT + 1)
    s = _load_with(last_open_dir=long, window_geometry=long, device="cuda" + "0" * 100,
                   recent_content=["/a.png", long], styles=[{"path": long, "weight": 1.0}],
                   splitters={f"s{n}": [1, 2] for n in range(100)})
    assert s.last_open_dir == "" and s.window_geometry == "" and s.device == "auto"
    assert s.recent_content == ["/a.png"] and s.styles == []
    assert len(s.splitters) == S.MAX_ENTRIES


def test_a_huge_settings_file_is_moved_aside_unread() -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(S.MAX_FILE_BYTES + 1)  # sparse; one of gigabytes was read whole before
    res = load_settings()
    assert res.settings == Settings() and "too large" in res.problem
    assert not path.exists() and res.backup is not None and res.backup.stat().st_size == S.MAX_FILE_BYTES + 1

"""Planning a batch: inputs, sweeps, items, output names and what counts as already done (no engine runs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nst_desktop.engine import StyleParams, read_metadata, save_image
from nst_desktop.services import batch as B
from tests.helpers import make_content, make_style


def _steps(quality: str) -> int:
    return {"fast": 10, "balanced": 20, "best": 30}[quality]


@pytest.fixture
def files(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    photos = tmp_path / "photos"
    styles = tmp_path / "styles"
    photos.mkdir()
    styles.mkdir()
    ps = []
    for name in ("b.png", "a.jpg", "c.webp"):
        make_content((40, 30)).save(photos / name)
        ps.append(photos / name)
    (photos / "notes.txt").write_text("not an image")
    (photos / ".hidden.png").write_bytes(b"")
    ss = []
    for name in ("x.png", "y.png"):
        make_style((30, 30)).save(styles / name)
        ss.append(styles / name)
    return ps, ss


def test_expand_inputs_takes_a_folders_images_in_name_order_and_names_what_is_missing(tmp_path, files) -> None:
    photos, _ = files
    got, problems = B.expand_inputs([photos[0].parent, photos[0], tmp_path / "nope.png"], "photo")
    assert [p.name for p in got] == ["a.jpg", "b.png", "c.webp"]  # the file named again counts once
    assert problems == [f"photo '{tmp_path / 'nope.png'}': no such file or folder"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert B.expand_inputs([empty], "painting")[1][0].startswith(f"painting folder '{empty}': no images")


def test_parse_sweep_reads_values_with_the_settings_own_limits() -> None:
    assert B.parse_sweep("style-strength=0.5,1,2,1") == B.Sweep("style-strength", (0.5, 1.0, 2.0))
    assert B.parse_sweep("brush-scale=0.5,1").name == "style-scale"
    assert B.parse_sweep("quality=fast,best").values == ("fast", "best")
    assert B.parse_sweep("colours=none,luminance").values == ("none", "luminance")
    assert B.parse_sweep("seed=1,2").values == (1, 2)
    for text, fragment in [("speed=1,2", "unknown setting 'speed'"), ("style-strength", "NAME=V1,V2"),
                           ("style-strength=1,x", "'x' is not a valid value"),
                           ("style-scale=9", "style scale must be between"), ("quality=ultra", "not one of"),
                           ("preserve-colors=sepia", "preserve colours must be one of"),
                           ("seed=1.5", "'1.5' is not a valid value")]:
        with pytest.raises(ValueError, match=fragment):
            B.parse_sweep(text)


def test_plan_every_combination_or_pairs_in_a_fixed_order(files) -> None:
    photos, styles = files
    items = B.plan_items(photos, styles, StyleParams(size=64), _steps, "fast")
    assert [(i.photo.name, i.style.name) for i in items] == [
        ("b.png", "x.png"), ("b.png", "y.png"), ("a.jpg", "x.png"), ("a.jpg", "y.png"),
        ("c.webp", "x.png"), ("c.webp", "y.png")]
    assert {i.params.steps for i in items} == {10}  # the fast preset, resolved
    pairs = B.plan_items(photos[:2], styles, StyleParams(steps=7), _steps, pairs=True)
    assert [(i.photo.name, i.style.name, i.params.steps) for i in pairs] == [("b.png", "x.png", 7),
                                                                           ("a.jpg", "y.png", 7)]
    with pytest.raises(ValueError, match="as many photos as paintings, not 3 and 2"):
        B.plan_items(photos, styles, StyleParams(), _steps, pairs=True)


def test_plan_sweeps_every_combination_of_two_settings(files) -> None:
    photos, styles = files
    sweeps = [B.parse_sweep("style-strength=0.5,1,2"), B.parse_sweep("quality=fast,best")]
    items = B.plan_items(photos[:1], styles[:1], StyleParams(size=48), _steps, "balanced", sweeps)
    assert [(i.params.style_strength, i.params.steps) for i in items] == [
        (0.5, 10), (0.5, 30), (1.0, 10), (1.0, 30), (2.0, 10), (2.0, 30)]
    assert items[1].sweep == (("style-strength", 0.5), ("quality", "best"))
    assert items[1].output_name() == "b-in-style-of-x-style-strength-0.5-quality-best.png"
    with pytest.raises(ValueError, match="cannot be combined with --steps"):
        B.plan_items(photos, styles, StyleParams(steps=5), _steps, sweeps=sweeps)
    with pytest.raises(ValueError, match="given twice"):
        B.plan_items(photos, styles, StyleParams(), _steps, sweeps=[sweeps[0], sweeps[0]])
    with pytest.raises(ValueError, match="at most 2"):
        B.plan_items(photos, styles, StyleParams(), _steps, sweeps=[*sweeps, B.parse_sweep("seed=1")])


def _result(path: Path, item: B.BatchItem, **changes: object) -> None:
    """A file as a finished run of ``item`` leaves it (its settings as run, inputs), with ``changes``."""
    params = item.params.to_dict()
    params.update(seed=params["seed"] if params["seed"] is not None else 1234, start_size=256)
    meta = {"program": "NST Desktop", "params": params, "cancelled": False, "inputs": item.inputs()}
    meta.update(changes)
    save_image(make_content((20, 16)), path, meta)


def test_outputs_never_overwrite_another_picture_and_a_matching_result_is_done(tmp_path, files) -> None:
    photos, styles = files
    out = tmp_path / "out"
    out.mkdir()
    items = B.plan_items(photos[:1], styles, StyleParams(size=64, seed=3), _steps, "fast")
    (out / "b-in-style-of-x.png").write_bytes(b"someone else's picture")
    _result(out / "b-in-style-of-y.png", items[1])
    planned = B.assign_outputs(items, out, lambda p: _read(p))
    assert [(p.output.name, p.done) for p in planned] == [("b-in-style-of-x-2.png", False),
                                                          ("b-in-style-of-y.png", True)]
    forced = B.assign_outputs(items, out, _read, force=True)
    assert [(p.output.name, p.done) for p in forced] == [("b-in-style-of-x-2.png", False),
                                                         ("b-in-style-of-y.png", False)]


def test_photos_of_the_same_name_in_two_folders_get_two_files(tmp_path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        make_content((20, 20)).save(tmp_path / folder / "img.png")
    make_style((20, 20)).save(tmp_path / "s.png")
    items = B.plan_items([tmp_path / "one" / "img.png", tmp_path / "two" / "img.png"], [tmp_path / "s.png"],
                         StyleParams(steps=5), _steps)
    planned = B.assign_outputs(items, tmp_path, _read)
    assert [p.output.name for p in planned] == ["img-in-style-of-s.png", "img-in-style-of-s-2.png"]
    _result(planned[1].output, items[1])  # the second finished first: a rerun finds each its own file
    again = B.assign_outputs(items, tmp_path, _read)
    assert [(p.output.name, p.done) for p in again] == [("img-in-style-of-s.png", False),
                                                        ("img-in-style-of-s-2.png", True)]


def test_matches_compares_inputs_and_every_setting(tmp_path, files) -> None:
    photos, styles = files
    item = B.plan_items(photos[:1], styles[:1], StyleParams(size=64), _steps, "fast")[0]
    path = tmp_path / "r.png"
    _result(path, item)
    assert B.matches(read_metadata(path), item)  # the run's seed (none was asked for) matches
    assert not B.matches(read_metadata(path), dataclasses.replace(item, style=styles[1]))
    assert not B.matches(read_metadata(path), dataclasses.replace(item, params=dataclasses.replace(
        item.params, style_strength=2.0)))
    assert not B.matches(read_metadata(path), dataclasses.replace(item, params=dataclasses.replace(
        item.params, seed=5)))
    _result(path, item, cancelled=True)
    assert not B.matches(read_metadata(path), item)
    params = {**item.params.to_dict(), "size": 48}
    _result(path, item, params=params, requested_size=64)  # made smaller after running out of memory
    assert B.matches(read_metadata(path), item)
    assert not B.matches(None, item) and not B.matches({"cancelled": False}, item)


def _read(path: Path) -> dict | None:
    from nst_desktop.services.batch_run import read_meta

    return read_meta(path)


def test_item_record_holds_input_style_output_settings_and_seconds(files) -> None:
    photos, styles = files
    item = B.plan_items(photos[:1], styles[:1], StyleParams(), _steps, sweeps=[B.parse_sweep("seed=4")])[0]
    rec = B.item_record(item, Path("out/x.png"), 1.234)
    assert rec["input"] == str(photos[0]) and rec["style"] == str(styles[0]) and rec["output"] == "out/x.png"
    assert rec["settings"]["seed"] == 4 and rec["sweep"] == {"seed": 4} and rec["seconds"] == 1.23


def test_names_longer_than_the_file_system_allows_are_shortened_and_stay_unique(tmp_path: Path) -> None:
    limit = B.name_max(tmp_path)
    photos = [tmp_path / ("p" * 239 + f"{k}.png") for k in (1, 2)] + [tmp_path / ("é" * 120 + ".png")]
    for photo in photos:  # 244 bytes each: the results' names would be longer than 255
        make_content((24, 18)).save(photo)
    style = tmp_path / "painting.png"
    make_style((24, 24)).save(style)
    items = [B.BatchItem(photo, style, StyleParams(steps=2)) for photo in photos]
    out = tmp_path / "out"
    out.mkdir()
    planned = B.assign_outputs(items, out, lambda path: None)
    names = [p.output.name for p in planned]
    assert len(set(names)) == 3 and all(len(n.encode()) <= limit - B.NAME_ROOM_BYTES for n in names), names
    assert names[2].startswith("é" * 10) and names[0].endswith(".png")
    for p in planned:
        save_image(make_content((24, 18)), p.output, {})
    again = B.assign_outputs(items, out, lambda path: None)  # taken: -2 still fits
    assert [p.output.name for p in again] == [n.replace(".png", "-2.png") for n in names]
    assert B.fit_name("short", ".png", limit) == "short"
    assert B.fit_name("x" * 300, ".png", 60) == B.fit_name("x" * 300, ".png", 60)  # the same every run

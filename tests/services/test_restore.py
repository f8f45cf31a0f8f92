"""The restore service: what a result's metadata gives back, without Qt."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_desktop.engine import save_image
from nst_desktop.services.restore import (
    CONTENT,
    RestorePlan,
    load_offered,
    plan_from_metadata,
    read_plan,
    settings_plan,
    weights_to_percent,
)
from tests.helpers import make_content, make_style


def test_weights_become_percents_of_the_largest() -> None:
    assert weights_to_percent([0.5, 0.25], 2) == [100, 50]
    assert weights_to_percent([1, 2, 3], 2) == [100, 100]  # wrong length
    assert weights_to_percent([0, 0], 2) == [100, 100]
    assert weights_to_percent(["x", True], 2) == [100, 100]


def test_no_settings_is_an_empty_plan() -> None:
    assert not plan_from_metadata(None).has_settings
    assert not plan_from_metadata({"params": "nope"}).has_settings
    assert settings_plan({}) == RestorePlan(None)


def test_found_and_missing_inputs(tmp_path: Path) -> None:
    photo, painting, gone = tmp_path / "photo.png", tmp_path / "painting.png", tmp_path / "gone.png"
    make_content().save(photo)
    make_style().save(painting)
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    meta = {"params": {"seed": 3}, "style_weights": [1.0, 0.5, 0.25],
            "inputs": {"content": str(photo), "styles": [str(gone), str(painting), str(not_image)]}}
    plan = plan_from_metadata(meta)
    assert plan.params == {"seed": 3} and plan.weights == (100, 50, 25)
    assert [(o.path, o.percent, o.index) for o in plan.offered] == [(photo, 100, CONTENT), (painting, 50, 1)]
    assert plan.missing == (f"{gone} (not found)",
                            f"'{not_image}' is a text file, not an image NST Desktop opens (JPEG, PNG, WebP, "
                            "TIFF, BMP, GIF)")
    assert plan.masks is None and plan.keep is None and plan.regions_error is None
    content, styles, problems = load_offered(plan.offered)
    assert content == photo and [(s.path, s.percent, s.index) for s in styles] == [(painting, 50, 1)]
    assert styles[0].image.size == make_style().size and problems == []
    with pytest.raises(AttributeError):
        plan.params = {}  # type: ignore[misc] - frozen


def test_bad_regions_give_a_reason_not_an_exception() -> None:
    plan = plan_from_metadata({"params": {}, "regions": "not a record"})
    assert plan.has_settings and plan.regions_error and plan.masks is None


def test_read_plan_reads_a_saved_result(tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    save_image(make_content((32, 24)), out, {"params": {"seed": 9}})
    assert read_plan(out).params == {"seed": 9}

"""The local queue with the real weights at 32 px: a vanished file and a failed save fail their item, the rest go on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nst_desktop.engine import read_metadata
from nst_desktop.services import batch as B
from nst_desktop.services.batch_run import Cancelled, Eta, read_meta, run_local
from tests.helpers import make_content, make_style, small_engine_params


@pytest.mark.slow
def test_a_vanished_photo_and_an_unwritable_result_fail_their_items_and_the_queue_goes_on(
        tmp_path, bundled_weights) -> None:
    photos = [tmp_path / f"p{i}.png" for i in range(3)]
    for p in photos:
        make_content((40, 30)).save(p)
    style = tmp_path / "s.png"
    make_style((30, 30)).save(style)
    out = tmp_path / "out"
    out.mkdir()
    items = B.plan_items(photos, [style], small_engine_params(size=32, steps=4), lambda q: 4)
    planned = B.assign_outputs(items, out, read_meta)
    photos[0].unlink()  # vanished after it was planned
    (out / planned[1].output.name).mkdir()  # a folder where the result goes: it cannot be written
    seen = []
    outcomes = run_local(planned, seen.append, bundled_weights)
    assert seen == outcomes
    assert [o.ok for o in outcomes] == [False, False, True]
    assert outcomes[0].message == f"{photos[0]} x {style}: the photo '{photos[0]}' no longer exists"
    beside = planned[1].output.with_name(planned[1].output.stem + "-unsaved.png")  # kept, and the line says where
    assert outcomes[1].message.startswith(f"{photos[1]} x {style}: cannot save '{planned[1].output}' (")
    assert outcomes[1].message.endswith(f"; the result is kept as '{beside}' instead")
    assert read_metadata(beside)["inputs"]["content"] == photos[1].name  # file names only by default
    assert read_metadata(planned[2].output)["inputs"]["content"] == photos[2].name
    assert sorted(p.name for p in out.iterdir()) == sorted([planned[1].output.name, beside.name,
                                                            planned[2].output.name])

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_local(B.assign_outputs(items[2:], tmp_path, read_meta), seen.append, bundled_weights, cancel=cancel)


def test_eta_is_the_wall_time_per_work_of_finished_items_times_the_work_left() -> None:
    items = [B.BatchItem(Path(n), Path(n), small_engine_params(size=s, steps=10))
             for n, s in [("a", 64), ("b", 64), ("c", 128)]]
    eta = Eta(items, start=100.0)
    assert eta.seconds_left(105.0) is None
    eta.finished(items[0], ok=True)
    assert eta.seconds_left(110.0) == pytest.approx(10.0 * 5)  # 1 + 4 units left at 10 s a unit
    eta.finished(items[2], ok=False)  # failed: out of the queue, not a measure of speed
    assert eta.seconds_left(110.0) == pytest.approx(10.0)

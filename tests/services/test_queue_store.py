"""The window's queue file: round trip, restart of a half-done item, corrupt and foreign files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nst_desktop.engine import StyleParams
from nst_desktop.services import paths
from nst_desktop.services import queue_store as Q
from nst_desktop.services.batch import BatchItem, parse_sweep, plan_items


def _items(tmp_path: Path, n_photos: int = 2) -> list[BatchItem]:
    photos = [tmp_path / f"p{i}.png" for i in range(n_photos)]
    styles = [tmp_path / "s.jpg"]
    return plan_items(photos, styles, StyleParams(size=64, steps=3, seed=5), lambda q: 7,
                      sweeps=[parse_sweep("style-strength=0.5,2")])


def test_the_file_is_in_the_users_data_folder_set_by_the_test() -> None:
    assert str(Q.queue_path()).startswith(os.environ["XDG_DATA_HOME"])
    assert Q.load_queue().queue.items == []  # no file: an empty queue, no problem
    assert Q.load_queue().problem is None


def test_round_trip_keeps_items_order_states_and_settings(tmp_path: Path) -> None:
    q = Q.Queue()
    added = q.add(_items(tmp_path), tmp_path / "out")
    assert [i.sweep for i in added[:2]] == [(("style-strength", 0.5),), (("style-strength", 2.0),)]
    q.update(added[0].id, state="done", output=tmp_path / "out" / "a.png", seconds=1.5)
    q.update(added[1].id, state="failed", message="p0.png x s.jpg: the photo 'p0.png' no longer exists")
    q.move(added[3].id, -3)
    Q.save_queue(q)
    back = Q.load_queue()
    assert back.problem is None
    assert back.queue.items == q.items and back.queue.groups == q.groups
    assert back.queue.items[0].id == added[3].id
    assert back.queue.items[1].params == StyleParams(size=64, steps=3, seed=5, style_strength=0.5)
    # ids are never reused, also after a reload
    more = back.queue.add(_items(tmp_path, 1), tmp_path)
    assert {i.id for i in more}.isdisjoint({i.id for i in q.items} | {g.id for g in q.groups})


def test_a_half_done_item_restarts_and_a_finished_one_is_never_next(tmp_path: Path) -> None:
    q = Q.Queue()
    a, b, c, d = q.add(_items(tmp_path), tmp_path)
    q.update(a.id, state="done", output=tmp_path / "a.png")
    q.update(b.id, state="failed", message="bad")
    q.update(c.id, state="running")
    Q.save_queue(q)  # as if the app died now
    back = Q.load_queue().queue
    assert back.get(c.id).state == "running"
    assert back.restart_running() == 1
    assert back.get(c.id).state == "waiting" and back.next_waiting().id == c.id
    back.update(c.id, state="done")
    assert back.next_waiting().id == d.id
    back.update(d.id, state="done")
    assert back.next_waiting() is None
    assert back.group_finished(a.group)
    assert back.counts() == {"waiting": 0, "running": 0, "done": 3, "failed": 1}


@pytest.mark.parametrize("text, why", [
    ('{"version": 1, "items": [', "is corrupt"),
    ("", "is empty"),
    ("[1, 2]", "does not hold a queue"),
    ('{"version": 99, "items": []}', "newer version"),
    ('{"items": []}', "no valid version"),
])
def test_a_corrupt_file_gives_an_empty_queue_a_message_and_is_kept(text: str, why: str) -> None:
    p = Q.queue_path()
    p.parent.mkdir(parents=True)
    p.write_text(text, encoding="utf-8")
    loaded = Q.load_queue()
    assert loaded.queue.items == []
    assert why in loaded.problem and str(p) in loaded.problem and "\n" not in loaded.problem
    assert loaded.backup is not None and loaded.backup.read_text(encoding="utf-8") == text
    assert loaded.backup.name in loaded.problem


def test_a_bad_item_is_left_out_and_named_the_others_kept(tmp_path: Path) -> None:
    q = Q.Queue()
    q.add(_items(tmp_path), tmp_path)
    data = json.loads(q.to_json())
    data["items"][1]["params"]["size"] = "big"
    data["items"][2]["state"] = "exploded"
    p = Q.queue_path()
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps(data), encoding="utf-8")
    loaded = Q.load_queue()
    assert [i.id for i in loaded.queue.items] == [q.items[0].id, q.items[3].id]
    assert "2 record(s)" in loaded.problem and "item 2: params.size" in loaded.problem
    assert loaded.backup is not None and json.loads(loaded.backup.read_text()) == data


def test_out_of_range_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="size must be"):
        Q.params_from_json({"size": 5})
    with pytest.raises(ValueError, match="wrong type"):
        Q.params_from_json({"seamless": "yes"})
    assert Q.params_from_json({"seed": None, "style_strength": 2}) == StyleParams(seed=None, style_strength=2.0)


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    q = Q.Queue()
    q.add(_items(tmp_path), tmp_path)
    p = Q.save_queue(q)
    before = p.read_text()
    q.clear_finished()
    q.remove(q.items[0].id)

    def fail(*_a: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "replace", fail)  # the atomic write both files use
    with pytest.raises(OSError):
        Q.save_queue(q)
    assert p.read_text() == before
    assert [f.name for f in p.parent.iterdir()] == [p.name]  # no temporary file left


def test_move_remove_and_clear_finished(tmp_path: Path) -> None:
    q = Q.Queue()
    a, b, c, d = q.add(_items(tmp_path), tmp_path)
    assert not q.move(a.id, -1) and q.move(a.id, 1)
    assert [i.id for i in q.items] == [b.id, a.id, c.id, d.id]
    assert q.move(b.id, 10) and q.items[-1].id == b.id
    q.update(c.id, state="done")
    q.update(d.id, state="failed")
    assert q.clear_finished() == 2 and {i.id for i in q.items} == {a.id, b.id}
    q.remove(a.id)
    q.remove(b.id)
    assert q.items == [] and q.groups == []


def test_unique_path_never_names_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "contact-sheet.png").write_bytes(b"x")
    p = Q.unique_path(tmp_path, "contact-sheet", taken=[tmp_path / "contact-sheet-2.png"])
    assert p == tmp_path / "contact-sheet-3.png"

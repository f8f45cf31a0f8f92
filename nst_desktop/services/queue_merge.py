"""Three-way merge of the Queue: one window's changes onto the queue file another window changed.

Every window keeps the queue as it last read or wrote the file (the *base*). When it saves, it
reads the file again under the lock (*theirs*) and applies its own changes since the base
(*ours*) to it, item by item, so that two windows adding, moving, finishing or removing items
never lose one another's work:

- an item one side added is kept; one side removed is removed (a removal is deliberate);
- an item both sides kept takes, field by field, what changed on either side (ours where both
  changed the same field);
- the order is ours where we moved items, else theirs; items new to the other side follow;
- an id both sides gave to different new records (possible only after a failed write) is given
  a fresh number on our side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TypeVar

from nst_desktop.services.queue_store import Queue, QueueGroup, QueueItem

_Record = TypeVar("_Record", QueueItem, QueueGroup)


def _three_way(base: _Record, ours: _Record, theirs: _Record) -> _Record:
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    changed = {f.name: getattr(ours, f.name) for f in dataclasses.fields(ours)
               if getattr(ours, f.name) != getattr(base, f.name)}
    return dataclasses.replace(theirs, **changed)


def _merge_records(base: dict[int, _Record], ours: dict[int, _Record], theirs: dict[int, _Record]
                   ) -> dict[int, _Record]:
    merged: dict[int, _Record] = {}
    for key in [*ours, *(k for k in theirs if k not in ours)]:
        if key in base:
            if key in ours and key in theirs:
                merged[key] = _three_way(base[key], ours[key], theirs[key])
        else:
            merged[key] = ours[key] if key in ours else theirs[key]
    return merged


def _renumbered(base: Queue, ours: Queue, theirs: Queue) -> Queue:
    """``ours`` with its new ids that ``theirs`` also gave to new records moved to fresh numbers."""
    base_ids = {i.id for i in base.items} | {g.id for g in base.groups}
    their_new = ({i.id for i in theirs.items} | {g.id for g in theirs.groups}) - base_ids
    our_new = ({i.id for i in ours.items} | {g.id for g in ours.groups}) - base_ids
    clashes = sorted(our_new & their_new)
    if not clashes:
        return ours
    every = base_ids | their_new | our_new
    top = max([ours.next_id, theirs.next_id, *(n + 1 for n in every)])
    fresh = {old: top + n for n, old in enumerate(clashes)}
    new_groups = {g.id for g in ours.groups} - base_ids
    items = [dataclasses.replace(i, id=fresh.get(i.id, i.id),
                                 group=fresh.get(i.group, i.group) if i.group in new_groups else i.group)
             if i.id not in base_ids else i for i in ours.items]
    groups = [dataclasses.replace(g, id=fresh.get(g.id, g.id)) for g in ours.groups]
    return Queue(items, groups, top + len(clashes))


def _relative(order: Iterable[int], keep: set[int]) -> list[int]:
    return [k for k in order if k in keep]


def merge(base: Queue, ours: Queue, theirs: Queue) -> Queue:
    """A new queue: ``theirs`` with the changes from ``base`` to ``ours`` applied (see the module
    docstring). The arguments are not changed."""
    ours = _renumbered(base, ours, theirs)
    b_items, o_items, t_items = ({i.id: i for i in q.items} for q in (base, ours, theirs))
    items = _merge_records(b_items, o_items, t_items)
    groups = _merge_records(*({g.id: g for g in q.groups} for q in (base, ours, theirs)))
    common = set(b_items) & set(o_items) & set(t_items)
    we_moved = _relative(o_items, common) != _relative(b_items, common)
    first, second = (o_items, t_items) if we_moved else (t_items, o_items)
    order = _relative(first, set(items))
    placed = set(order)
    order += [k for k in second if k in items and k not in placed]
    merged_items = [items[k] for k in order]
    for item in merged_items:  # a group record lost on one side: make one, as reading the file does
        groups.setdefault(item.group, QueueGroup(item.group, item.out_dir))
    every = [*items, *groups]
    next_id = max([ours.next_id, theirs.next_id, *(n + 1 for n in every)])
    queue = Queue(merged_items, list(groups.values()), next_id)
    queue._drop_empty_groups()
    return queue

"""The time left of a run as the window shows it: the engine's count, steadied over the first steps.

The engine's own count (:meth:`engine.progress.Tracker.eta`) divides the time so far by the work
done, so at the first steps it holds the run's start (loading the network, the first size's
targets) spread over a step or two: it said "18 min left" at step 1 of a run that took 5.5 min.
The estimate shown when Stylize was pressed knows those costs; :func:`time_left` trusts it at
first and hands over to the engine's count as the run goes on.
"""

from __future__ import annotations

#: Share of the run (by the engine's count) after which the engine's time left is taken alone.
TRUST_ENGINE_AFTER = 0.3
#: Without an estimate from before the run: share of the run before any time left is shown.
SHOW_AFTER = 0.1


def time_left(engine_left_s: float | None, elapsed_s: float, estimate_s: float | None = None) -> float | None:
    """Seconds left to show, or None (not yet known).

    ``engine_left_s``: the engine's count (None before the first step); ``elapsed_s``: the run's
    seconds so far; ``estimate_s``: the whole run's estimate when it started (None: none measured
    on this computer). The share done is the engine's, ``elapsed / (elapsed + left)``; until
    :data:`TRUST_ENGINE_AFTER` of it, the shown time moves from the estimate's (what is left of
    it, never less than its share still to do) to the engine's, slowly at first.
    """
    if engine_left_s is None or engine_left_s != engine_left_s:  # None or NaN
        return None
    engine_left_s = max(0.0, engine_left_s)
    done = elapsed_s / (elapsed_s + engine_left_s) if elapsed_s + engine_left_s > 0 else 1.0
    if estimate_s is None:
        return engine_left_s if done >= SHOW_AFTER else None
    planned_left = max(estimate_s - elapsed_s, estimate_s * (1.0 - done))
    trust = min(1.0, done / TRUST_ENGINE_AFTER) ** 2  # little at the first steps, whose count is the least sure
    return trust * engine_left_s + (1.0 - trust) * planned_left

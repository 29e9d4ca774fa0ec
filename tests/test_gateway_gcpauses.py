"""/readyz reads the garbage collector's pauses, which a gc callback appends to whenever a
collection runs, including in the middle of the walk that summarises them: the walk must work on
a copy (it raised "deque mutated during iteration" and /readyz answered 500 in the benchmark)."""
from __future__ import annotations

import gc
import time

from cti.gateway.app import GcPauses


def test_a_collection_during_the_summary_does_not_break_it() -> None:
    g = GcPauses()
    for _ in range(900):
        g.pauses.append((time.time(), 0.001, 0))
    threshold = gc.get_threshold()
    gc.callbacks.append(g)
    gc.set_threshold(1)                       # a collection at (almost) every allocation
    try:
        summaries = [g.summary(0.0) for _ in range(2000)]
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(g)
    assert len(g.pauses) == 1000                # collections did run and append meanwhile
    assert all(s["collections"] >= 900 for s in summaries)
    assert g.summary(time.time() + 60)["collections"] == 0

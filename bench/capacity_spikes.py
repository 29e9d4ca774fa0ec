"""What ran in the long blocks of a capacity point (``python -m bench.bench_capacity --spikes``).

:func:`instrument` wraps the parts of our side that run in a block (each trunk stack's turn,
each component's service and the contact centre's sub-parts, the model's publishing, the bus
poll, housekeeping) with the thread's CPU clock, far-end time taken out, and hooks
``gc.callbacks`` so a collector pass is charged to the block it ran in with its generation.
Times are inclusive (a part's time contains the parts it called, a collection contains
nothing but is also inside whatever part it interrupted). :meth:`BlockParts.report` gives a
histogram of block costs, the mean of each part per block and what ran in the longest blocks
beside the median block, so a spike reads as "gen 2, 18 ms" or "journal flush, 6 ms".
"""
from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

#: parts that never run inside one another: the block's cost less theirs is the loop's own
#: work and the driver's per-block work (board.advance less the far end)
TOP_LEVEL = ("trunk ", "component ", "publish ", "board events", "housekeeping", "bus poll")
BINS_MS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, float("inf"))


class BlockParts:
    """Per-block CPU of named parts of our side (thread CPU clock, far end out)."""

    def __init__(self, far: Any) -> None:
        self.far = far                      #: the bench's Meter (its ``total`` is far-end CPU)
        self.cur: dict[str, float] = {}
        self.blocks: list[tuple[float, dict[str, float]]] = []
        self._gc_t0 = 0.0
        self._on = False

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        clock, far = time.thread_time, self.far

        def timed(*a: Any, **k: Any) -> Any:
            t0, f0 = clock(), far.total
            try:
                return fn(*a, **k)
            finally:
                if self._on:
                    cur = self.cur
                    cur[name] = cur.get(name, 0.0) + (clock() - t0) - (far.total - f0)
        return timed

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_t0 = time.thread_time()
        elif self._on:
            key = f"gc gen {info.get('generation', -1)}"
            self.cur[key] = self.cur.get(key, 0.0) + time.thread_time() - self._gc_t0

    def start(self) -> None:
        gc.callbacks.append(self._gc)
        self._on = True
        self.cur = {}

    def stop(self) -> None:
        self._on = False
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)

    def end_block(self, cost: float) -> None:
        if self._on:
            top = sum(v for k, v in self.cur.items() if k.startswith(TOP_LEVEL))
            self.cur["other: the loop, the driver's block"] = cost - top
            self.blocks.append((cost, self.cur))
            self.cur = {}

    def report(self, top: int = 12) -> dict[str, Any]:
        """Histogram of block costs (ms bins), each part's mean and p99 per block (ms) and how
        many blocks it ran in, the longest ``top`` blocks with their parts (ms)."""
        costs = [c for c, _ in self.blocks]
        hist: dict[str, int] = {}
        lo = 0.0
        for hi in BINS_MS:
            hist[f"{lo:g}-{hi:g}"] = sum(1 for c in costs if lo <= 1e3 * c < hi)
            lo = hi
        names = sorted({k for _, parts in self.blocks for k in parts})
        n = max(1, len(self.blocks))
        parts: dict[str, dict[str, float]] = {}
        for k in names:
            xs = sorted(p.get(k, 0.0) for _, p in self.blocks)
            parts[k] = {"mean_ms": 1e3 * sum(xs) / n, "p99_ms": 1e3 * xs[min(len(xs) - 1, int(0.99 * len(xs)))],
                        "max_ms": 1e3 * xs[-1], "blocks": sum(1 for _, p in self.blocks if k in p)}
        longest = sorted(range(len(self.blocks)), key=lambda i: -self.blocks[i][0])[:top]
        med = statistics.median(costs) if costs else 0.0
        per_second = [round(1e3 * statistics.mean(costs[i:i + 50]), 2) for i in range(0, len(costs), 50)]
        return {"blocks": len(costs), "median_ms": 1e3 * med, "hist": hist, "parts": parts,
                "per_second_ms": per_second,
                "longest": [{"block": i, "ms": 1e3 * self.blocks[i][0],
                             "parts": {k: round(1e3 * v, 2) for k, v in
                                       sorted(self.blocks[i][1].items(), key=lambda kv: -kv[1]) if v >= 1e-4}}
                            for i in longest]}


def instrument(srv: Any, far: Any) -> BlockParts:
    """Wrap the parts of ``srv`` (a started CtiServer) that run per block; returns the ledger."""
    bp = BlockParts(far)
    for adapter in srv.model.adapters:
        adapter.service = bp.wrap(f"trunk {adapter.signalling}", adapter.service)
    for c in srv.components:
        name = getattr(c, "name", type(c).__name__)
        c.service = bp.wrap(f"component {name}", c.service)
        if name == "contact":
            for obj, attr, label in ((c.engine, "service", "acd service"), (c, "publish_stats", "stats"),
                                     (c.taps, "drain", "taps drain"), (c.audio, "tick", "bridges"),
                                     (c, "_feed_recordings", "recordings"), (c.ivr, "tick", "ivr"),
                                     (c, "_dial_tick", "dialler")):
                setattr(obj, attr, bp.wrap(f"contact: {label}", getattr(obj, attr)))
    srv.flush_model = bp.wrap("publish (model events, CDRs)", srv.flush_model)
    srv._board_events = bp.wrap("board events", srv._board_events)
    srv._housekeeping = bp.wrap("housekeeping", srv._housekeeping)
    srv.bus.poll = bp.wrap("bus poll", srv.bus.poll)
    if hasattr(srv.bus, "flush"):
        srv.bus.flush = bp.wrap("bus flush (journal hand-off)", srv.bus.flush)
    return bp


def print_report(rep: dict[str, Any]) -> None:
    print(f"{rep['blocks']} blocks, median {rep['median_ms']:.2f} ms; histogram (ms: blocks): "
          + ", ".join(f"{k}: {v}" for k, v in rep["hist"].items() if v))
    print("mean block cost per second of the window, ms: " + " ".join(f"{x:.1f}" for x in rep.get("per_second_ms", [])))
    print(f"{'part':44s} {'mean':>7s} {'p99':>7s} {'max':>7s} {'blocks':>7s}")
    for k, v in sorted(rep["parts"].items(), key=lambda kv: -kv[1]["mean_ms"]):
        print(f"{k:44s} {v['mean_ms']:7.2f} {v['p99_ms']:7.2f} {v['max_ms']:7.2f} {v['blocks']:7d}")
    heap = rep.get("heap")
    if heap:
        print(f"heap after the window: {heap['objects']} objects tracked by the collector, {heap['frozen']} "
              f"frozen; a full collection took {heap['full_collection_ms']:.1f} ms")
    for b in rep["longest"]:
        print(f"block {b['block']:5d} {b['ms']:6.2f} ms: "
              + ", ".join(f"{k} {v:.2f}" for k, v in list(b["parts"].items())[:8]))

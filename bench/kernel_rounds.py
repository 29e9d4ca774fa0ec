"""Same-run comparison of kernels in alternating rounds: CPU time of this thread, medians and spreads.

The DTMF and MF benches time each implementation for ``seconds`` of this thread's CPU time
(``time.thread_time``: what the other processes of a shared machine do is not counted, as
it is in wall time), one implementation after the other, for several rounds. Each round
gives every implementation a rate and every one a ratio against the reference measured in
that same round; the tables show the median rate, and the notes the median, lowest and
highest per-round ratio, so a noisy round shows as a spread, not as a wrong figure.

    rates = alternate({"ours": fn, "spandsp": ref_fn}, rounds=5, seconds=0.5)
    s = spread(rates["ours"], rates["spandsp"])     # Spread(median, lo, hi, ratio, ratio_lo, ratio_hi)
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["cpu_rate", "alternate", "Spread", "spread"]


def cpu_rate(fn: Callable[[], float], seconds: float) -> float:
    """Units per CPU second of this thread: ``fn()`` (returning the units it did) called until
    ``seconds`` of thread CPU time have passed."""
    units = 0.0
    t0 = time.thread_time()
    while True:
        units += fn()
        dt = time.thread_time() - t0
        if dt >= seconds:
            return units / dt


def alternate(impls: dict[str, Callable[[], float]], rounds: int, seconds: float) -> dict[str, list[float]]:
    """Per implementation, its rate in each round (all of them once per round, in turn)."""
    out: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(rounds):
        for name, fn in impls.items():
            out[name].append(cpu_rate(fn, seconds))
    return out


@dataclass(frozen=True)
class Spread:
    """Median and range of an implementation's rates, and of its per-round ratio to a reference."""

    median: float
    lo: float
    hi: float
    ratio: float
    ratio_lo: float
    ratio_hi: float

    def note(self, ref: str) -> str:
        return (f"x {ref} per round: median {self.ratio:.2f}, {self.ratio_lo:.2f}-{self.ratio_hi:.2f}; "
                f"rate {self.lo:,.0f}-{self.hi:,.0f}")


def spread(values: list[float], ref: list[float] | None = None) -> Spread:
    """:class:`Spread` of ``values`` (per round), with ratios to ``ref`` of the same rounds."""
    ratios = [v / r for v, r in zip(values, ref, strict=True)] if ref else [1.0] * len(values)
    return Spread(statistics.median(values), min(values), max(values),
                  statistics.median(ratios), min(ratios), max(ratios))

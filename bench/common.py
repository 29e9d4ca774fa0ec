"""Shared benchmark helpers: timing by best-of-N and a rich table with ratios."""
from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Callable


@dataclass
class Result:
    """One measured implementation: ``value`` units per second (higher is better)."""

    bench: str
    impl: str
    value: float
    unit: str
    reference: bool = False   #: the row the ratios are taken against
    note: str = ""


def rate(fn: Callable[[], int], *, seconds: float = 1.0, repeat: int = 3) -> float:
    """Best of ``repeat`` runs of units-per-second, where ``fn()`` returns units done.

    Each run calls ``fn`` until ``seconds`` have passed. Best-of-N damps the noise of
    a shared machine; compare ratios measured in one run, never absolute figures.
    """
    best = 0.0
    for _ in range(repeat):
        units = 0
        t0 = time.perf_counter()
        while True:
            units += fn()
            dt = time.perf_counter() - t0
            if dt >= seconds:
                break
        best = max(best, units / dt)
    return best


def print_results(title: str, results: list[Result]) -> None:
    """A table per bench with the ratio of each row to its reference row."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    by_bench: dict[str, list[Result]] = {}
    for r in results:
        by_bench.setdefault(r.bench, []).append(r)
    for bench, rows in by_bench.items():
        ref = next((r for r in rows if r.reference), None)
        table = Table(title=f"{title}: {bench}")
        table.add_column("implementation")
        table.add_column("rate", justify="right")
        table.add_column("unit")
        table.add_column(f"x {ref.impl}" if ref else "ratio", justify="right")
        table.add_column("note")
        for r in rows:
            ratio = f"{r.value / ref.value:.2f}" if ref and ref.value > 0 else "-"
            table.add_row(r.impl + (" (ref)" if r.reference else ""), f"{r.value:,.1f}", r.unit, ratio, r.note)
        console.print(table)

"""Historical queue report: the statistics of docs/stats.md per queue and per interval,
computed from the event journal (ACD events ``Queued``, ``Connected``, ``Abandoned``,
``Diverted``, ``CallEnded``), written as CSV and drawn as a PNG chart (matplotlib).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable

from .service import abandon_rate, service_level, service_level_2

COLUMNS = ("interval_start", "queue", "offered", "answered", "abandoned", "diverted", "service_level",
           "service_level_2", "abandon_rate", "average_wait", "aht")


@dataclass
class _Bucket:
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    diverted: int = 0
    wait: float = 0.0
    handled: int = 0
    handle: float = 0.0

    def row(self, start: float, queue: str) -> dict[str, Any]:
        return {
            "interval_start": start, "queue": queue, "offered": self.offered, "answered": self.answered,
            "abandoned": self.abandoned, "diverted": self.diverted,
            "service_level": service_level(self.answered_within, self.answered),
            "service_level_2": service_level_2(self.answered_within, self.abandoned_within,
                                               self.answered, self.abandoned),
            "abandon_rate": abandon_rate(self.abandoned, self.answered),
            "average_wait": round(self.wait / self.answered, 3) if self.answered else None,
            "aht": round(self.handle / self.handled, 3) if self.handled else None,
        }


@dataclass
class Report:
    """Accumulates ACD events into (interval, queue) buckets."""

    interval: float = 3600.0
    thresholds: dict[str, float] = field(default_factory=dict)   #: queue -> SL threshold
    default_threshold: float = 20.0                               #: for queues not in ``thresholds``
    buckets: dict[tuple[float, str], _Bucket] = field(default_factory=dict)

    def feed(self, events: Iterable[dict[str, Any]]) -> "Report":
        for ev in events:
            typ, queue, t = ev.get("type"), ev.get("queue"), ev.get("time")
            if typ not in ("Queued", "Connected", "Abandoned", "Diverted", "CallEnded"):
                continue
            if not isinstance(queue, str) or not isinstance(t, (int, float)) or not math.isfinite(t):
                continue                       # not an ACD event we can place: skip, do not guess
            start = math.floor(t / self.interval) * self.interval
            b = self.buckets.setdefault((start, queue), _Bucket())
            wait = float(ev.get("wait", 0.0) or 0.0)
            within = wait <= self.thresholds.get(queue, self.default_threshold)
            if typ == "Queued":
                b.offered += 1
            elif typ == "Connected":
                b.answered += 1
                b.answered_within += within
                b.wait += wait
            elif typ == "Abandoned":
                b.abandoned += 1
                b.abandoned_within += within
            elif typ == "Diverted":
                b.diverted += 1
            else:
                b.handled += 1
                b.handle += float(ev.get("talk", 0.0) or 0.0) + float(ev.get("wrap_up", 0.0) or 0.0)
        return self

    def rows(self) -> list[dict[str, Any]]:
        return [b.row(start, q) for (start, q), b in sorted(self.buckets.items())]

    def write_csv(self, out: IO[str]) -> None:
        w = csv.DictWriter(out, fieldnames=COLUMNS)
        w.writeheader()
        for r in self.rows():
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})

    def write_png(self, path: str | Path, title: str = "Queue service") -> None:
        """Offered / answered / abandoned bars and the service level line, one panel per queue."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from datetime import datetime, timezone

        rows = self.rows()
        queues = sorted({r["queue"] for r in rows}) or ["(no data)"]
        fig, axes = plt.subplots(len(queues), 1, figsize=(10, 3 * len(queues)), squeeze=False)
        for ax, q in zip(axes[:, 0], queues):
            qr = [r for r in rows if r["queue"] == q]
            x = [datetime.fromtimestamp(r["interval_start"], timezone.utc) for r in qr]
            width = self.interval / 86400 * 0.8
            ax.bar(x, [r["answered"] for r in qr], width=width, label="answered", color="#4c8")
            ax.bar(x, [r["abandoned"] for r in qr], width=width, bottom=[r["answered"] for r in qr],
                   label="abandoned", color="#e64")
            ax.set_ylabel(f"{q}: calls")
            ax2 = ax.twinx()
            ax2.plot(x, [r["service_level"] if r["service_level"] is not None else float("nan") for r in qr],
                     "k.-", label="service level %")
            ax2.set_ylim(0, 105)
            ax2.set_ylabel("SL %")
            ax.legend(loc="upper left", fontsize=8)
        axes[0, 0].set_title(title)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)

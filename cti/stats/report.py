"""Historical queue report: the statistics of docs/stats.md per queue and per interval,
computed from the event journal (the ACD's events on ``queue.*``: CallQueued, Connected, Abandoned,
CallDiverted, CallEnded; or the engine's own dicts ``Queued`` ... ``Diverted``), written as CSV
and drawn as a PNG chart (matplotlib).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from typing import IO, Any
from collections.abc import Iterable

from .service import abandon_rate, service_level, service_level_2


def iso(t: float) -> str:
    """A journal time as ISO 8601 UTC (what spreadsheets and pandas read): 2026-12-07T08:00:00Z."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

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
            "interval_start": iso(start), "queue": queue, "offered": self.offered, "answered": self.answered,
            "abandoned": self.abandoned, "diverted": self.diverted,
            "service_level": service_level(self.answered_within, self.answered),
            "service_level_2": service_level_2(self.answered_within, self.abandoned_within,
                                               self.answered, self.abandoned),
            "abandon_rate": abandon_rate(self.abandoned, self.answered),
            "average_wait": round(self.wait / self.answered, 3) if self.answered else None,
            "aht": round(self.handle / self.handled, 3) if self.handled else None,
        }


#: the ACD's bus event names (queue.*) -> the engine's (cti.acd.queue.QueueEvent.type)
_ACD_NAMES = {"CallQueued": "Queued", "CallDiverted": "Diverted"}


def _acd_view(ev: dict[str, Any]) -> dict[str, Any]:
    """An event as the report reads it: a bus queue event (``queue.*``, details in ``data``)
    flattened under the engine's name; a call-model event (``call.*``: Queued at a route point,
    Diverted to an agent) names devices, not queues, and is left out."""
    topic = str(ev.get("topic") or "")
    if topic.startswith("call."):
        return {}
    if topic.startswith("queue.") and isinstance(ev.get("data"), dict):
        flat = {**ev["data"], **{k: v for k, v in ev.items() if k != "data"}}
        flat["type"] = _ACD_NAMES.get(str(ev.get("type")), ev.get("type"))
        return flat
    return ev


@dataclass
class Report:
    """Accumulates ACD events into (interval, queue) buckets."""

    interval: float = 3600.0
    thresholds: dict[str, float] = field(default_factory=dict)   #: queue -> SL threshold
    default_threshold: float = 20.0                               #: for queues not in ``thresholds``
    buckets: dict[tuple[float, str], _Bucket] = field(default_factory=dict)

    def feed(self, events: Iterable[dict[str, Any]]) -> Report:
        for ev in events:
            ev = _acd_view(ev)
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

    def starts(self) -> list[tuple[float, str]]:
        """(interval start as a timestamp, queue) of each row, in the order of :meth:`rows`."""
        return sorted(self.buckets)

    def write_csv(self, out: IO[str]) -> None:
        w = csv.DictWriter(out, fieldnames=COLUMNS)
        w.writeheader()
        for r in self.rows():
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})

    def write_png(self, path: str | Path, title: str = "Queue service") -> None:
        """Per queue: each interval's calls as bars spanning that interval (answered,
        abandoned and diverted stacked; offered as an outline over them) and the service
        level as a line at the interval's middle."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt

        rows = self.rows()
        starts = [t for t, _ in self.starts()]
        queues = sorted({r["queue"] for r in rows}) or ["(no data)"]
        fig, axes = plt.subplots(len(queues), 1, figsize=(10, 3 * len(queues)), squeeze=False)
        days = self.interval / 86400          # matplotlib dates are in days
        for ax, q in zip(axes[:, 0], queues, strict=True):
            pick = [i for i, r in enumerate(rows) if r["queue"] == q]
            x = [datetime.fromtimestamp(starts[i], UTC) for i in pick]
            qr = [rows[i] for i in pick]
            bottom = [0] * len(qr)
            for key, colour in (("answered", "#4c8"), ("abandoned", "#e64"), ("diverted", "#68c")):
                vals = [r[key] for r in qr]
                ax.bar(x, vals, width=days, align="edge", bottom=bottom, label=key, color=colour,
                       edgecolor="white", linewidth=0.5)
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
            ax.bar(x, [r["offered"] for r in qr], width=days, align="edge", fill=False, edgecolor="black",
                   linewidth=1.0, label="offered")
            ax.set_ylabel(f"{q}: calls")
            locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
            ax.set_xlabel("interval start (UTC)")
            ax2 = ax.twinx()
            mid = [datetime.fromtimestamp(starts[i] + self.interval / 2, UTC) for i in pick]
            ax2.plot(mid, [r["service_level"] if r["service_level"] is not None else float("nan") for r in qr],
                     "k.-", label="service level %")
            ax2.set_ylim(0, 105)
            ax2.set_ylabel("SL %")
            ax.legend(loc="upper left", fontsize=8, ncol=4)
        axes[0, 0].set_title(title)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)

"""cti-report: historical statistics from the store's event journal: queues (CSV and a PNG
chart) or trunks (calls per span, answer-seizure ratio, clearing causes)."""
from __future__ import annotations

import os
import sys
from datetime import datetime, UTC
from typing import Any
from collections.abc import Iterator

import click

from cti.bus.codec import unpack_event
from cti.stats.report import Report
from cti.stats.trunks import TrunkReport
from cti.store import Store, StoreError, open_store


def _parse_time(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date/time such as 2026-11-23T08:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _interval(value: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        seconds = float(value[:-1]) * units[value[-1]] if value[-1:] in units else float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use seconds or a number with s/m/h/d, like 15m") from None
    if seconds <= 0:
        raise click.BadParameter("the interval must be positive")
    return seconds


class JournalReader:
    """Events of the journal inside [start, end), oldest first; damaged rows are counted, not fatal."""

    def __init__(self, store: Store, start: float | None = None, end: float | None = None,
                 queue: str | None = None) -> None:
        self.store, self.start, self.end, self.queue = store, start, end, queue
        self.skipped = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        seq = 0
        while rows := self.store.events_after(seq, limit=5000):
            seq = rows[-1][0]                   # the next page starts after this one
            for _, packed in rows:
                try:
                    ev = unpack_event(packed)
                except Exception:
                    self.skipped += 1
                    continue
                if isinstance(ev, dict) and self._wanted(ev):
                    yield ev

    def _wanted(self, ev: dict[str, Any]) -> bool:
        t = ev.get("time")
        if not isinstance(t, (int, float)):
            return False
        if (self.start is not None and t < self.start) or (self.end is not None and t >= self.end):
            return False
        return self.queue is None or ev.get("queue") == self.queue


def _open(store_url: str) -> Store:
    """The store; a SQLite path that does not exist is an error (opening it would create an
    empty database and report nothing, silently)."""
    path = store_url[len("sqlite://"):] if store_url.startswith("sqlite://") else store_url
    if "://" not in path and path != ":memory:" and not os.path.exists(path):
        raise click.ClickException(f"no store at {path!r}: give the path of cti-server's journal "
                                   "(its --store), e.g. --store cti.db")
    try:
        return open_store(store_url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option("--store", "store_url", default="cti.db", show_default=True,
              help="Store URL: a SQLite path, sqlite:///path or postgresql://...")
@click.option("--kind", type=click.Choice(["queues", "trunks"]), default="queues", show_default=True,
              help="queues: ACD statistics per interval; trunks: calls per span, ASR, causes.")
@click.option("--from", "start", help="Start (ISO date/time, UTC unless given).")
@click.option("--to", "end", help="End, exclusive (ISO date/time).")
@click.option("--interval", default="1h", show_default=True, help="Bucket size: seconds, or 15m, 1h, 1d.")
@click.option("--queue", help="Only this queue.")
@click.option("--threshold", type=float, default=20.0, show_default=True, help="Service-level threshold, seconds.")
@click.option("--csv", "csv_path", default="-", show_default=True, help="CSV output file, - for stdout.")
@click.option("--png", "png_path", help="Also draw a PNG chart here (queues; needs matplotlib: pip install '.[report]').")
def main(store_url: str, kind: str, start: str | None, end: str | None, interval: str, queue: str | None,
         threshold: float, csv_path: str, png_path: str | None) -> None:
    """Queue statistics per interval (offered, answered, abandoned, diverted, SL, SL2, abandon
    rate, AHT), or with --kind trunks per span: seizures, answered, ASR and clearing causes."""
    t0, t1 = _parse_time(start), _parse_time(end)
    span_seconds = _interval(interval)
    report: Report | TrunkReport = (Report(interval=span_seconds, default_threshold=threshold)
                                    if kind == "queues" else TrunkReport())
    if kind == "trunks" and (png_path or queue):
        raise click.UsageError("--png and --queue go with --kind queues")
    with _open(store_url) as store:
        reader = JournalReader(store, t0, t1, queue)
        report.feed(reader)
    if csv_path == "-":
        report.write_csv(sys.stdout)
    else:
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            report.write_csv(f)
    if png_path and isinstance(report, Report):
        try:
            report.write_png(png_path)
        except ImportError:
            raise click.ClickException("matplotlib is not installed: pip install '.[report]'") from None
    if reader.skipped:
        click.echo(f"warning: {reader.skipped} undecodable journal rows skipped", err=True)

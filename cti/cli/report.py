"""cti-report: historical queue statistics from the store's event journal, as CSV and a PNG chart."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, Iterator

import click

from cti.bus.codec import unpack_event
from cti.stats.report import Report
from cti.store import Store, StoreError, open_store


def _parse_time(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date/time such as 2026-11-23T08:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
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
            for seq, packed in rows:
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


@click.command()
@click.option("--store", "store_url", default="cti.db", show_default=True,
              help="Store URL: a SQLite path, sqlite:///path or postgresql://...")
@click.option("--from", "start", help="Start (ISO date/time, UTC unless given).")
@click.option("--to", "end", help="End, exclusive (ISO date/time).")
@click.option("--interval", default="1h", show_default=True, help="Bucket size: seconds, or 15m, 1h, 1d.")
@click.option("--queue", help="Only this queue.")
@click.option("--threshold", type=float, default=20.0, show_default=True, help="Service-level threshold, seconds.")
@click.option("--csv", "csv_path", default="-", show_default=True, help="CSV output file, - for stdout.")
@click.option("--png", "png_path", help="Also draw a PNG chart here (needs matplotlib: pip install '.[report]').")
def main(store_url: str, start: str | None, end: str | None, interval: str, queue: str | None,
         threshold: float, csv_path: str, png_path: str | None) -> None:
    """Queue statistics per interval: offered, answered, abandoned, SL, SL2, abandon rate, AHT."""
    t0, t1 = _parse_time(start), _parse_time(end)
    report = Report(interval=_interval(interval), default_threshold=threshold)
    try:
        store = open_store(store_url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    with store:
        reader = JournalReader(store, t0, t1, queue)
        report.feed(reader)
    if csv_path == "-":
        report.write_csv(sys.stdout)
    else:
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            report.write_csv(f)
    if png_path:
        try:
            report.write_png(png_path)
        except ImportError:
            raise click.ClickException("matplotlib is not installed: pip install '.[report]'") from None
    if reader.skipped:
        click.echo(f"warning: {reader.skipped} undecodable journal rows skipped", err=True)

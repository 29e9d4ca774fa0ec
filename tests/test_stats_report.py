"""Historical report: buckets per interval and queue, CSV and PNG output, junk events skipped."""
from __future__ import annotations

import csv
import io

import pytest

from cti.stats.report import COLUMNS, Report

EVENTS = [
    {"type": "Queued", "queue": "sales", "time": 10.0},
    {"type": "Connected", "queue": "sales", "time": 15.0, "wait": 5.0},
    {"type": "CallEnded", "queue": "sales", "time": 75.0, "talk": 60.0},
    {"type": "Queued", "queue": "sales", "time": 20.0},
    {"type": "Abandoned", "queue": "sales", "time": 50.0, "wait": 30.0},
    {"type": "Queued", "queue": "sales", "time": 3700.0},
    {"type": "Connected", "queue": "sales", "time": 3730.0, "wait": 30.0},
    {"type": "Queued", "queue": "support", "time": 100.0},
    {"type": "Diverted", "queue": "support", "time": 220.0, "wait": 120.0, "to": "voicemail"},
    {"type": "CallCleared", "time": 80.0},                     # not an ACD event
    {"type": "Connected", "queue": None, "time": 1.0},          # junk: skipped
    {"type": "Connected", "queue": "sales", "time": float("nan")},
]


def test_buckets_and_formulas():
    rows = Report(interval=3600).feed(EVENTS).rows()
    first = next(r for r in rows if r["queue"] == "sales" and r["interval_start"] == 0)
    assert (first["offered"], first["answered"], first["abandoned"]) == (2, 1, 1)
    assert first["service_level"] == 100.0 and first["service_level_2"] == 50.0
    assert first["abandon_rate"] == 50.0 and first["aht"] == 60.0 and first["average_wait"] == 5.0
    second = next(r for r in rows if r["queue"] == "sales" and r["interval_start"] == 3600)
    assert second["service_level"] == 0.0 and second["abandon_rate"] == 0.0
    sup = next(r for r in rows if r["queue"] == "support")
    assert sup["diverted"] == 1 and sup["service_level"] is None


def test_csv_has_header_and_blank_for_undefined():
    out = io.StringIO()
    Report().feed(EVENTS).write_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3
    assert next(r for r in rows if r["queue"] == "support")["service_level"] == ""


def test_png_chart(tmp_path):
    pytest.importorskip("matplotlib")
    p = tmp_path / "report.png"
    Report().feed(EVENTS).write_png(p)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_cti_report_cli_reads_the_journal(tmp_path):
    from click.testing import CliRunner

    from cti.bus.codec import pack
    from cti.cli.report import main
    from cti.store import open_store

    db = tmp_path / "cti.db"
    with open_store(str(db)) as store:
        for seq, ev in enumerate(EVENTS[:9], start=1):
            store.append(seq, ev["time"], f"queue.{ev['queue']}", ev["type"], pack(ev))
        store.append(10, 5.0, "queue.x", "Queued", b"\xc1garbage")
        store.commit()
    out = tmp_path / "r.csv"
    res = CliRunner().invoke(main, ["--store", str(db), "--interval", "1h", "--csv", str(out),
                                    "--to", "1970-01-01T01:00"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert {r["queue"] for r in rows} == {"sales", "support"} and all(r["interval_start"] == "0.0" for r in rows)
    assert "1 undecodable journal rows skipped" in res.output
    res = CliRunner().invoke(main, ["--store", str(db), "--interval", "0"])
    assert res.exit_code != 0 and "positive" in res.output

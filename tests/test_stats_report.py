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
    first = next(r for r in rows if r["queue"] == "sales" and r["interval_start"] == "1970-01-01T00:00:00Z")
    assert (first["offered"], first["answered"], first["abandoned"]) == (2, 1, 1)
    assert first["service_level"] == 100.0 and first["service_level_2"] == 50.0
    assert first["abandon_rate"] == 50.0 and first["aht"] == 60.0 and first["average_wait"] == 5.0
    second = next(r for r in rows if r["queue"] == "sales" and r["interval_start"] == "1970-01-01T01:00:00Z")
    assert second["service_level"] == 0.0 and second["abandon_rate"] == 0.0
    sup = next(r for r in rows if r["queue"] == "support")
    assert sup["diverted"] == 1 and sup["service_level"] is None


def test_csv_has_header_and_blank_for_undefined():
    out = io.StringIO()
    Report().feed(EVENTS).write_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3
    assert next(r for r in rows if r["queue"] == "support")["service_level"] == ""


@pytest.mark.system
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
    assert {r["queue"] for r in rows} == {"sales", "support"} and all(r["interval_start"] == "1970-01-01T00:00:00Z" for r in rows)
    assert "1 undecodable journal rows skipped" in res.output
    res = CliRunner().invoke(main, ["--store", str(db), "--interval", "0"])
    assert res.exit_code != 0 and "positive" in res.output


def test_a_store_that_does_not_exist_is_an_error_not_an_empty_report(tmp_path):
    from click.testing import CliRunner

    from cti.cli.report import main

    res = CliRunner().invoke(main, ["--store", str(tmp_path / "nope.db")])
    assert res.exit_code == 1 and "no store at" in res.output
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.system
def test_png_bars_span_their_interval_and_show_offered_and_diverted(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    saved = {}
    real = plt.Figure.savefig

    def keep(fig, *a, **k):
        saved["fig"] = fig
        return real(fig, *a, **k)

    plt.Figure.savefig = keep
    try:
        Report(interval=900).feed(EVENTS).write_png(tmp_path / "r.png")
    finally:
        plt.Figure.savefig = real
    ax = saved["fig"].axes[0]
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"answered", "abandoned", "diverted", "offered"} <= labels
    widths = {round(p.get_width() * 86400) for p in ax.patches}
    assert widths == {900}                               # every bar spans its 15-minute interval
    starts = sorted({round(matplotlib.dates.num2date(p.get_x()).timestamp()) for p in ax.patches})
    assert starts[0] == 0 and all(s % 900 == 0 for s in starts)


TRUNK_EVENTS = [
    {"type": "Offered", "call": "c1", "span": 0, "ts": 1, "direction": "in", "time": 1.0},
    {"type": "Established", "call": "c1", "span": 0, "ts": 1, "time": 2.0},
    {"type": "CallCleared", "call": "c1", "span": 0, "ts": 1, "cause": 16, "time": 9.0},
    {"type": "Originated", "call": "c2", "span": 0, "ts": 2, "direction": "out", "time": 1.0},
    {"type": "Failed", "call": "c2", "span": 0, "ts": 2, "cause": 17, "time": 3.0},
    {"type": "CallCleared", "call": "c2", "span": 0, "ts": 2, "cause": 16, "time": 3.5},
    {"type": "Originated", "call": "c3", "span": 1, "ts": 1, "direction": "out", "time": 1.0},
    {"type": "CallCleared", "call": "c3", "span": 1, "ts": 1, "cause": 34, "time": 2.0},
    {"type": "Reattempted", "call": "c4", "span": 1, "ts": 2, "direction": "out", "time": 1.0},
    {"type": "Established", "call": "c4", "span": 1, "ts": 5, "time": 2.0},
    {"type": "Offered", "call": "c9", "device": "2001", "time": 1.0},     # no circuit: not a seizure
    {"type": "Queued", "call": "c1", "span": "0", "ts": 1, "time": 1.0},  # junk span: skipped
]


def test_trunk_report_counts_seizures_asr_and_causes_per_span(tmp_path):
    from click.testing import CliRunner

    from cti.bus.codec import pack
    from cti.cli.report import main
    from cti.stats.trunks import COLUMNS as TC, TrunkReport
    from cti.store import open_store

    rows = {r["span"]: r for r in TrunkReport().feed(TRUNK_EVENTS).rows()}
    assert rows[0] == {"span": 0, "seizures": 2, "incoming": 1, "outgoing": 1, "answered": 1, "asr": 50.0,
                       "causes": "16:1 17:1"}
    assert rows[1]["seizures"] == 3 and rows[1]["answered"] == 1 and rows[1]["causes"] == "34:1"
    db = tmp_path / "cti.db"
    with open_store(str(db)) as store:
        for seq, ev in enumerate(TRUNK_EVENTS, start=1):
            store.append(seq, ev["time"], "call", ev["type"], pack(ev))
        store.commit()
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(main, ["--store", str(db), "--kind", "trunks", "--csv", str(out)])
    assert res.exit_code == 0, res.output
    got = list(csv.DictReader(out.open()))
    assert tuple(got[0]) == TC and [r["asr"] for r in got] == ["50.0", "33.3"]
    res = CliRunner().invoke(main, ["--store", str(db), "--kind", "trunks", "--png", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and "--kind queues" in res.output


def test_bus_queue_events_count_and_call_model_events_do_not():
    """Journal rows as the bus writes them: queue.* events with their details in data count
    (CallQueued is the offer, CallDiverted the overflow); the call model's Queued / Diverted
    (call.*, a route point and an agent's device) are not queue statistics."""
    bus = [
        {"type": "CallQueued", "topic": "queue.sales", "queue": "sales", "time": 10.0, "data": {"position": 1}},
        {"type": "Queued", "topic": "call.0.1", "queue": "sales", "device": "4000", "time": 10.0},
        {"type": "Diverted", "topic": "call.0.1", "device": "4000", "to": ["2001"], "time": 11.0},
        {"type": "Queued", "topic": "call.0.1", "queue": "sales", "device": "4000", "time": 30.0},  # after RONA
        {"type": "Connected", "topic": "queue.sales", "queue": "sales", "time": 35.0, "data": {"wait": 25.0}},
        {"type": "CallQueued", "topic": "queue.sales", "queue": "sales", "time": 40.0, "data": {}},
        {"type": "CallDiverted", "topic": "queue.sales", "queue": "sales", "time": 60.0,
         "data": {"to": "voicemail", "wait": 20.0}},
    ]
    (row,) = Report(interval=3600).feed(bus).rows()
    assert (row["offered"], row["answered"], row["diverted"]) == (2, 1, 1)
    assert row["average_wait"] == 25.0

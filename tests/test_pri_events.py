"""The CTI events of calls over PRI are those of calls over China No.1: the same event types
with the same fields, and each call's sequence of events (Offered / Originated, Delivered,
Established, ConnectionCleared, CallCleared ...) one that a No.1 call also gives. The demo
runs on one span of each signalling on the virtual clock with the same seed."""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from cti.cli.wiring import build_server
from cti.config import Config

pytestmark = pytest.mark.system          # two demo servers, 40 s of virtual time each

ANY = "tcp://127.0.0.1:*"
IN_ANSWERED = ("Offered", "Delivered", "Established", "ConnectionCleared", "ConnectionCleared", "CallCleared")
OUT_ANSWERED = ("Originated", "Delivered", "Established", "ConnectionCleared", "ConnectionCleared", "CallCleared")


def _events(tmp: Path, signalling: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    from cti.bus.codec import unpack_event
    cfg = Config.from_dict({"server": {"store": str(tmp / f"{signalling}.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "sim", "spans": 1, "clock": "virtual", "step": 0.5},
                            "trunk": [{"signalling": signalling, "spans": [0], "config": config}],
                            "demo": {"enabled": True, "seed": 3}})
    srv = build_server(cfg).start()
    try:
        srv.part("demo").scenario.config.outbound_rate = 0.2
        for _ in range(80):                        # 40 s of virtual time
            srv.step(0)
        return [unpack_event(p) for p in srv.bus._ring]
    finally:
        srv.close()


def _fields(events: list[dict[str, Any]]) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = collections.defaultdict(set)
    for e in events:
        out[e["type"]].add(tuple(sorted(k for k in e if k not in ("time", "seq", "epoch"))))
    return out


def _sequences(events: list[dict[str, Any]]) -> collections.Counter[tuple[str, ...]]:
    per_call: dict[str, list[str]] = collections.defaultdict(list)
    for e in events:
        if e.get("call"):
            per_call[e["call"]].append(e["type"])
    return collections.Counter(tuple(v) for v in per_call.values())


def test_pri_call_events_match_no1(tmp_path: Path) -> None:
    no1 = _events(tmp_path, "no1", {})
    pri = _events(tmp_path, "pri", {"side": "user"})
    f_no1, f_pri = _fields(no1), _fields(pri)
    assert set(f_pri) == set(f_no1)
    for kind in f_pri:
        assert f_pri[kind] == f_no1[kind], kind
    s_no1, s_pri = _sequences(no1), _sequences(pri)
    assert s_pri[IN_ANSWERED] >= 2 and s_pri[OUT_ANSWERED] >= 1
    assert s_no1[IN_ANSWERED] >= 1 and s_no1[OUT_ANSWERED] >= 1
    finished = {s for s in s_pri if s[-1] == "CallCleared"}
    assert finished <= set(s_no1), finished - set(s_no1)
    calls = [e for e in pri if e["type"] in ("Offered", "Originated")]
    assert {e["signalling"] for e in calls} == {"pri"} and {e["direction"] for e in calls} == {"in", "out"}
    assert all(e["ts"] != 16 for e in calls)           # timeslot 16 is the D channel, never a call's

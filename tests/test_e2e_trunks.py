"""End to end over real signalling: a simulated exchange calls us over No.1 (CAS + MFC) or SS7.

exchange places a call -> subscriber sees Offered/Delivered with the numbers -> client answers
through the command socket -> Established -> the far end clears -> ConnectionCleared /
CallCleared -> CDR row. And our MakeCall reaches the exchange's subscriber. The simulator
board runs in virtual time, as fast as the CPU goes (board.step per loop turn).
"""
from __future__ import annotations


import pytest

from cti.bus.client import BusClient
from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"
def _server(tmp_path, sig):
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": 1, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": sig, "spans": [0]}]})
    srv = build_server(cfg).start()
    # SS7: both ends' links align (MTP2 proving) before the first IAM can get through
    for _ in range(600):
        stacks = [getattr(a, "stack", None) for a in srv.adapters] + \
                 [getattr(getattr(n, "trunk", None), "stack", None) for n in srv.part("network").networks]
        if all(s is None or getattr(s, "up", True) for s in stacks):
            break
        srv.step(0)
    else:
        raise AssertionError("signalling links never came up")
    return srv


def until(sub, pred, timeout=20.0):
    seen = []
    for e in sub.events(timeout):
        seen.append(e)
        if pred(e):
            return seen
    raise AssertionError(f"not seen; got {[x['type'] for x in seen]}")


@pytest.mark.system
@pytest.mark.parametrize("sig", ["no1", "ss7"])
def test_exchange_calls_us_client_answers_far_end_clears(tmp_path, sig):
    from simulator.exchange.base import CallScript
    srv = _server(tmp_path, sig)
    exchange = srv.part("network").networks[0]
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, timeout=10) as c:
        sub = c.subscribe()
        srv.call_soon(lambda: exchange.place_call(
            CallScript(at=srv.now() + 0.2, called="8001", calling="13800138000", hold_for=3.0)))
        seen = until(sub, lambda e: e["type"] == "Delivered")
        off = next(e for e in seen if e["type"] == "Offered")
        assert off["called"] == "8001" and off["calling"] == "13800138000"
        assert off["signalling"] == sig and off["span"] == 0 and off["ts"] in range(1, 32)
        c.answer_call(off["call"])
        until(sub, lambda e: e["type"] == "Established" and e["device"] == "8001")
        seen = until(sub, lambda e: e["type"] == "CallCleared")
        assert [e["type"] for e in seen][-3:] == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
        assert seen[-1]["cause"] == 16
    from cti.store import open_store
    with open_store(str(tmp_path / "cti.db")) as st:
        (cdr,) = [r for r in st.cdrs() if r["call"] == off["call"]]
        assert cdr["outcome"] == "answered" and cdr["signalling"] == sig and cdr["talk_seconds"] > 2.0
        rec = exchange.records[0]
        assert rec.answered_at is not None and rec.cleared_by == "far"


@pytest.mark.system
@pytest.mark.parametrize("sig", ["no1", "ss7"])
def test_make_call_reaches_exchange_subscriber(tmp_path, sig):
    srv = _server(tmp_path, sig)
    exchange = srv.part("network").networks[0]
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, timeout=10) as c:
        sub = c.subscribe()
        res = c.make_call("9000", "6601")
        seen = until(sub, lambda e: e["type"] == "Established")
        assert [e["type"] for e in seen][:2] == ["Originated", "Delivered"]
        c.clear_connection(res["call"])
        until(sub, lambda e: e["type"] == "CallCleared")
    rec = [r for r in exchange.records if r.direction == "from_us"]
    assert rec and rec[0].called.startswith("6601") and rec[0].answered_at is not None


@pytest.mark.parametrize("sig", ["no1", "ss7"])
def test_dtmf_both_ways_in_band(tmp_path, sig):
    """Digits the caller types reach subscribers (DigitsDialed); SendDigits reaches the far end."""
    from cti.signaling.trunk import DigitsReceived
    from simulator.exchange.base import CallScript
    srv = _server(tmp_path, sig)
    exchange = srv.part("network").networks[0]
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, timeout=10) as c:
        sub = c.subscribe()
        srv.call_soon(lambda: exchange.place_call(
            CallScript(at=srv.now() + 0.2, called="8001", calling="13800138000", hold_for=8.0, digits="47")))
        off = until(sub, lambda e: e["type"] == "Offered")[-1]
        c.answer_call(off["call"])
        got = until(sub, lambda e: e["type"] == "DigitsDialed" and "7" in e["digits"])
        typed = "".join(e["digits"] for e in got if e["type"] == "DigitsDialed" and not e["sent"])
        assert typed.endswith("7") and set(typed) <= {"4", "7"}
        c.send_digits(off["call"], "159")
        sent = until(sub, lambda e: e["type"] == "DigitsDialed" and e["sent"])[-1]
        assert sent["digits"] == "159"
        log = exchange.log                        # every trunk event the far end saw
        import time
        for _ in range(50):
            heard = "".join(ev.digits for ev in list(log) if isinstance(ev, DigitsReceived))
            if "159" in heard:
                break
            time.sleep(0.1)
        assert "159" in heard, f"the far end heard {heard!r}"


@pytest.mark.system
@pytest.mark.parametrize("sig", ["no1", "ss7"])
def test_consultation_and_transfer_over_real_signalling(tmp_path, sig):
    """A held incoming call and an answered consultation call are joined; when one far party
    hangs up the model releases the other circuit, and both CDRs are written."""
    from simulator.exchange.base import CallScript
    srv = _server(tmp_path, sig)
    exchange = srv.part("network").networks[0]
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, timeout=10) as c:
        sub = c.subscribe()
        srv.call_soon(lambda: exchange.place_call(
            CallScript(at=srv.now() + 0.2, called="8001", calling="13800138000", hold_for=None)))
        a = until(sub, lambda e: e["type"] == "Delivered")[-1]["call"]
        c.answer_call(a)
        b = c.consultation_call(a, "6601")["call"]
        until(sub, lambda e: e["type"] == "Established" and e["call"] == b)
        assert c.transfer_call(a, b) == {"call": a}
        seen = until(sub, lambda e: e["type"] == "CallCleared" and e["call"] == a, timeout=30)
        assert any(e["type"] == "Transferred" and e["old_calls"] == [a, b] for e in seen)
        snap = c.snapshot()
        assert snap["calls"] == [] and all(s["busy"] == 0 for s in snap["spans"])
    from cti.store import open_store
    with open_store(str(tmp_path / "cti.db")) as st:
        rows = {r["call"]: r for r in st.cdrs()}
        assert rows[b]["outcome"] == "merged" and rows[b]["merged_into"] == a
        assert rows[a]["merged"] == [b] and rows[a]["outcome"] == "answered"

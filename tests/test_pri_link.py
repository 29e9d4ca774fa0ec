"""Q.921 data link on the engine: establishment both sides, I frames in the k window with
modulo-128 wrap, REJ recovery of a lost I frame, T200 timer recovery, T203 polling, FRMR
and invalid frames re-establish, DISC, N200 exhaustion, line faults; the table is whole."""
from __future__ import annotations

import pytest

from hypothesis import given, settings, strategies as st

from cti.signaling.engine import check_tables
from cti.signaling.pri import lapd as L
from cti.signaling.pri.link import LINK_TABLE, LapdLink, LinkState
from cti.signaling.stack import conformance

M7 = LinkState.MULTIPLE_FRAME_ESTABLISHED


class Wire:
    def __init__(self, drop=None):
        self.u, self.n = LapdLink(False, name="u"), LapdLink(True, name="n")
        self.now, self.drop, self.log = 0.0, drop, []

    def step(self, dt=0.01, n=1):
        for _ in range(n):
            for a, b in ((self.u, self.n), (self.n, self.u)):
                for f in a.data_to_send(self.now):
                    self.log.append((a is self.n, L.decode(f, a is self.n)))
                    if self.drop is None or not self.drop(a, f):
                        b.receive(f, self.now)
            self.now += dt
            for x in (self.u, self.n):
                d = x.timer_deadline()
                if d is not None and d <= self.now:
                    x.handle_timer(self.now)

    def up(self):
        self.u.start(0.0)
        self.n.start(0.0)
        self.step(n=5)
        assert self.u.state is M7 and self.n.state is M7


def data(link):
    return [e.data for e in link.events() if e.kind == "data"]


def test_table_whole_and_shape():
    assert check_tables([LINK_TABLE]) == {}
    assert conformance(LapdLink) == []
    assert all(r.clause for r in LINK_TABLE.rows if r.action is not None and r.action.__name__ != "nothing")


def test_establish_both_sides_sabme_collision():
    w = Wire()
    w.up()
    kinds = [f.kind for _, f in w.log]
    assert kinds.count(L.Kind.SABME) == 2 and kinds.count(L.Kind.UA) == 2
    assert [e.kind for e in w.u.events()] == ["established"]


def test_i_frames_window_and_modulo_128_wrap():
    w = Wire()
    w.up()
    for i in range(300):
        w.u.send(bytes([8, 2, 0, i % 256]), w.now)
        w.n.send(bytes([8, 2, 0x80, i % 256]), w.now)
        w.step()
    w.step(n=20)
    assert len(data(w.n)) == 300 and len(data(w.u)) == 300
    assert w.u.vs == 300 % 128 and w.n.vr == 300 % 128 and not w.u.unacked
    # never more than k=7 outstanding
    w2 = Wire()
    w2.up()                                     # then the network never answers: the window fills
    w2.drop = lambda a, f: a is w2.n
    for _ in range(20):
        w2.u.send(b"\x08\x02\x00\x01", w2.now)
    w2.step()
    out = sum(1 for s, f in w2.log if not s and f.kind is L.Kind.I)
    assert out == 7


def test_lost_i_frame_recovered_by_rej():
    lost = []

    def drop(a, f):
        if a is w.u and not lost and len(f) > 4 and f[2] == 2 * 3:     # I frame N(S)=3
            lost.append(f)
            return True
        return False
    w = Wire(drop)
    w.up()
    for i in range(6):
        w.u.send(bytes([8, 2, 0, i]), w.now)
        w.step()
    w.step(n=10)
    assert lost and [d[3] for d in data(w.n)] == list(range(6))
    assert w.n.counters["rej_tx"] == 1 and w.u.counters["retransmitted"] >= 1


def test_lost_last_i_frame_recovered_by_t200_enquiry():
    lost = []

    def drop(a, f):
        if a is w.u and not lost and len(f) > 4:
            lost.append(f)
            return True
        return False
    w = Wire(drop)
    w.up()
    w.u.send(b"\x08\x02\x00\x07", w.now)
    w.step(n=5)
    assert data(w.n) == []
    w.step(dt=0.1, n=15)                          # T200 = 1 s: RR P=1, RR F=1 N(R)=0, resend
    assert data(w.n) == [b"\x08\x02\x00\x07"]
    assert w.u.counters["t200_expiry"] == 1 and w.u.state is M7


def test_t203_polls_an_idle_link():
    w = Wire()
    w.up()
    w.step(dt=1.0, n=12)
    polls = [f for s, f in w.log if f.kind is L.Kind.RR and f.command and f.pf]
    assert polls and w.u.state is M7 and w.u.counters["t203_expiry"] >= 1


def test_frmr_invalid_and_dm_reestablish_keep_data():
    w = Wire()
    w.up()
    for bad in (L.encode(L.Frame(L.Kind.FRMR, False, False, info=b"\0" * 5), True),
                b"\x02\x01\x0d\x00",                        # undefined S control
                L.encode(L.Frame(L.Kind.DM, False, False), True)):
        w.u.receive(bad, w.now)
        assert w.u.state is LinkState.AWAITING_ESTABLISHMENT
        w.u.send(b"\x08\x02\x00\x09", w.now)               # queued across the re-establishment
        w.step(n=5)
        assert w.u.state is M7 and data(w.n)[-1:] == [b"\x08\x02\x00\x09"]
    assert w.u.mdl_errors.get("K") == 1 and w.u.mdl_errors.get("L") == 1 and w.u.mdl_errors.get("E") == 1


def test_bad_nr_reestablishes():
    w = Wire()
    w.up()
    w.u.receive(L.encode(L.Frame(L.Kind.RR, False, False, None, 50), True), w.now)
    assert w.u.mdl_errors.get("J") == 1
    w.step(n=5)
    assert w.u.state is M7


def test_disc_release_and_reestablish_by_t_reest():
    w = Wire()
    w.up()
    w.n.stop(w.now)
    w.step(n=3)
    assert w.n.state is LinkState.TEI_ASSIGNED and w.u.state is LinkState.TEI_ASSIGNED
    w.step(dt=0.5, n=8)                                    # the user side asks again (T_REEST)
    assert w.u.state is M7 and w.n.state is M7


def test_n200_exhausted_without_peer_and_line_fault():
    u = LapdLink(False)
    u.start(0.0)
    t = 0.0
    sabmes = 0
    while t < 4.5:
        sabmes += sum(1 for f in u.data_to_send(t) if L.decode(f, False).kind is L.Kind.SABME)
        t += 0.1
        if (d := u.timer_deadline()) is not None and d <= t:
            u.handle_timer(t)
    assert sabmes == 4 and u.state is LinkState.TEI_ASSIGNED        # 1 + N200 retries
    assert [e.kind for e in u.events()] == ["released"]
    w = Wire()
    w.up()
    w.u.line_fault(w.now, "LOS")
    assert w.u.state is LinkState.TEI_ASSIGNED and [e.kind for e in w.u.events()][-1] == "released"
    w.step(dt=0.5, n=10)
    assert w.u.state is M7


def test_commands_while_not_established_get_dm():
    u = LapdLink(False)
    u.receive(L.encode(L.Frame(L.Kind.RR, True, True, None, 0), True), 0.0)
    assert L.decode(u.data_to_send(0.0)[0], False).kind is L.Kind.DM


def test_rnr_holds_i_frames_until_rr():
    w = Wire()
    w.up()
    w.u.receive(L.encode(L.Frame(L.Kind.RNR, False, False, None, 0), True), w.now)   # the network is busy
    assert w.u.peer_busy
    w.u.send(b"\x08\x02\x00\x01", w.now)
    assert not [f for f in w.u.data_to_send(w.now) if len(f) > 4]
    w.u.receive(L.encode(L.Frame(L.Kind.RR, False, False, None, 0), True), w.now)
    w.step(n=3)
    assert data(w.n) == [b"\x08\x02\x00\x01"] and not w.u.peer_busy


any_frame = st.one_of(
    st.builds(L.Frame, st.just(L.Kind.I), st.just(True), st.booleans(), st.integers(0, 127), st.integers(0, 127),
              st.binary(min_size=1, max_size=8)),
    st.builds(L.Frame, st.sampled_from([L.Kind.RR, L.Kind.RNR, L.Kind.REJ]), st.booleans(), st.booleans(),
              st.none(), st.integers(0, 127)),
    st.builds(L.Frame, st.sampled_from([L.Kind.SABME, L.Kind.DISC]), st.just(True), st.booleans()),
    st.builds(L.Frame, st.sampled_from([L.Kind.UA, L.Kind.DM]), st.just(False), st.booleans()),
    st.builds(L.Frame, st.just(L.Kind.FRMR), st.just(False), st.booleans(), info=st.binary(min_size=5, max_size=5)),
)
steps = st.lists(st.one_of(
    any_frame.map(lambda f: ("frame", f)), st.binary(max_size=6).map(lambda b: ("raw", b)),
    st.floats(0.0, 12.0).map(lambda t: ("time", t)), st.just(("send", None)), st.just(("fault", None)),
    st.just(("peer", None))), max_size=40)


@pytest.mark.system
@settings(max_examples=200, deadline=None)
@given(st.booleans(), steps)
def test_any_frame_sequence_keeps_the_link_sane_and_recovering(network, seq):
    """Whatever arrives in whatever state: no exception, sequence variables in range, the
    window respected; and afterwards a well-behaved peer brings the link up again."""
    link = LapdLink(network)
    now = 0.0
    link.start(now)
    for what, x in seq:
        if what == "frame":
            link.receive(L.encode(x, not network), now)
        elif what == "raw":
            link.receive(x, now)
        elif what == "time":
            now += x
            d = link.timer_deadline()
            while d is not None and d <= now:
                link.handle_timer(now)
                d = link.timer_deadline()
        elif what == "send":
            link.send(b"\x08\x02\x00\x01", now)
        elif what == "fault":
            link.line_fault(now, "LOS")
        link.data_to_send(now)
        assert 0 <= link.va < 128 and 0 <= link.vs < 128 and 0 <= link.vr < 128
        assert (link.vs - link.va) % 128 <= link.k and len(link.unacked) == (link.vs - link.va) % 128
    w = Wire()
    w.u, w.n = (w.u, link) if network else (link, w.n)
    w.now = now
    (w.n if network else w.u).start(now)
    w.step(dt=0.5, n=30)
    w.step(dt=0.0, n=3)                         # a poll due at the last step gets its answer
    assert w.u.state is M7 and w.n.state is M7


def test_established_frames_without_the_engine_do_what_the_table_says():
    """In state 7 an I or supervisory frame goes to its action without the engine's lookup only
    because the table's row for it is that action alone (checked at import); a traced link takes
    every frame through the engine. Both send the same frames, deliver the same messages and end
    in the same state, with a lost I frame (REJ) and T200 recovery on the way."""
    from cti.signaling.pri import link_py
    assert link_py._FAST                      # the table's rows (7, I / RR / RNR / REJ) are plain

    def run(trace: int) -> tuple[list[bytes], list[bytes], tuple[int, ...]]:
        u, n = LapdLink(False, name="u", trace=trace), LapdLink(True, name="n", trace=trace)
        got: list[bytes] = []
        u.deliver = n.deliver = lambda data, now: got.append(data)
        wire: list[bytes] = []
        now, lost = 0.0, [0]
        u.start(now)
        n.start(now)
        for i in range(40):
            if i % 3 == 0:
                (u if i % 2 else n).send(bytes((8, 2, 0, i, 5)), now)
            for a, b in ((u, n), (n, u)):
                for f in a.data_to_send(now):
                    wire.append(f)
                    if len(f) > 4 and i == 9 and not lost[0]:
                        lost[0] = 1                # one I frame lost: REJ, then T200 recovery
                        continue
                    b.receive(f, now)
            now += 0.3
            for x in (u, n):
                d = x.timer_deadline()
                if d is not None and d <= now:
                    x.handle_timer(now)
        return wire, got, (u.vs, u.va, u.vr, n.vs, n.va, n.vr, u.counters["i_rx"], n.counters["i_rx"])

    fast, slow = run(0), run(64)
    assert fast == slow
    assert len(fast[1]) == 14 and fast[2][-2] + fast[2][-1] == 14


@pytest.mark.parametrize("lose", [None, 3, 9, 21])
def test_timer_rows_applied_directly_as_the_engine_would(lose: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """I_SENT, ACKED and PARTIAL_ACK in state 7 are applied as their compiled rows (the guard
    read by the link: T200 not running) only because the table's rows for them are timers
    alone (checked at import). The live link (rows applied directly) and the twin firing every
    event through the engine's look-up send the same frames, deliver the same messages and
    keep the same timers running with the same deadlines at every step, with an I frame lost
    (REJ, T200 recovery) on the way."""
    from cti.signaling.pri import link_py
    assert link_py._R_SENT is not None and link_py._R_ACKED is not None and link_py._R_PARTIAL is not None
    assert link_py._K.tix["T200"] == link_py._T200

    def run(cls: type, rows: bool) -> list[object]:
        monkeypatch.setattr(link_py, "_ROWS", rows)
        u, n = cls(False, name="u"), cls(True, name="n")
        got: list[bytes] = []
        u.deliver = n.deliver = lambda data, now: got.append(data)
        seen: list[object] = []
        now, lost = 0.0, [0]
        u.start(now)
        n.start(now)
        for i in range(40):
            if i % 3 == 0:
                for k in range(1 + i % 4):       # bursts: several outstanding, partial acks
                    (u if i % 2 else n).send(bytes((8, 2, 0, i, k)), now)
            for a, b in ((u, n), (n, u)):
                for f in a.data_to_send(now):
                    seen.append(f)
                    if len(f) > 4 and i == lose and not lost[0]:
                        lost[0] = 1
                        continue
                    b.receive(f, now)
            seen.append((dict(u.m.running), dict(n.m.running), u.state.value, n.state.value))
            now += 0.3
            for x in (u, n):
                d = x.timer_deadline()
                if d is not None and d <= now:
                    x.handle_timer(now)
        return [*seen, got]

    rows_on = link_py._ROWS
    direct, engine = run(LapdLink, rows_on), run(link_py.LapdLink, False)
    assert direct == engine
    assert len(direct[-1]) == sum(1 + i % 4 for i in range(0, 40, 3))    # type: ignore[arg-type]


def test_messages_go_to_the_upper_layer_unless_deliver_takes_them() -> None:
    """DL-DATA-INDICATION: each message received in sequence goes to ``upper.data_ind`` (a C
    call when layer 3 is compiled against link_c), or to ``deliver`` when that is set (a tap or
    a test takes them first), or else to a "data" event."""
    from cti.signaling.pri.link import Upper

    class Sink(Upper):
        def __init__(self) -> None:
            self.got: list[tuple[bytes, float]] = []

        def data_ind(self, info: bytes, now: float) -> int:
            self.got.append((info, now))
            return 0

    def pair() -> tuple[LapdLink, LapdLink]:
        u, n = LapdLink(False), LapdLink(True)
        u.start(0.0)
        for _ in range(3):
            for a, b in ((u, n), (n, u)):
                for f in a.data_to_send(0.0):
                    b.receive(f, 0.0)
        assert u.up and n.up
        return u, n

    def move(u: LapdLink, n: LapdLink, now: float) -> None:
        for _ in range(3):
            for a, b in ((u, n), (n, u)):
                for f in a.data_to_send(now):
                    b.receive(f, now)

    u, n = pair()
    sink = Sink()
    n.upper = sink
    u.send(b"\x08\x02\x00\x01\x05", 1.0)
    u.send(b"\x08\x02\x00\x01\x07", 1.0)
    move(u, n, 1.5)
    assert sink.got == [(b"\x08\x02\x00\x01\x05", 1.5), (b"\x08\x02\x00\x01\x07", 1.5)]
    taken: list[bytes] = []
    n.deliver = lambda info, now: taken.append(info)
    u.send(b"\x08\x02\x00\x02\x05", 2.0)
    move(u, n, 2.0)
    assert taken == [b"\x08\x02\x00\x02\x05"] and len(sink.got) == 2
    n.deliver = None
    n.upper = None
    n.events()
    u.send(b"\x08\x02\x00\x03\x05", 3.0)
    move(u, n, 3.0)
    assert [(e.kind, e.data) for e in n.events()] == [("data", b"\x08\x02\x00\x03\x05")]
    base = Upper()                       # the base layer above keeps what it is handed, in order
    n.upper = base
    u.send(b"\x08\x02\x00\x04\x05", 4.0)
    u.send(b"\x08\x02\x00\x04\x07", 4.0)
    move(u, n, 4.0)
    assert base.received == [(b"\x08\x02\x00\x04\x05", 4.0), (b"\x08\x02\x00\x04\x07", 4.0)]
    assert n.events() == []


def test_compiled_link_imports_and_runs_with_the_twins_forced() -> None:
    """The compiled data link is typed against the compiled engine: with the twins forced
    (BOARDCORE_NO_EXTENSIONS=1) a module importing it all the same (layer 3 cimports its Upper)
    still gets a working link, on the compiled engine."""
    import os
    import subprocess
    import sys

    from _boardcore import _select
    if _select.compiled("cti.signaling.pri.link") is None:
        pytest.skip("link_c not built (no C compiler or Cython where the package was installed)")
    code = ("from cti.signaling.pri import link_c as L\n"
            "u, n = L.LapdLink(False), L.LapdLink(True)\n"
            "u.start(0.0)\n"
            "for _ in range(3):\n"
            "    for a, b in ((u, n), (n, u)):\n"
            "        for f in a.data_to_send(0.0):\n"
            "            b.receive(f, 0.0)\n"
            "u.send(b'\\x08\\x02\\x00\\x01\\x05', 0.0)\n"
            "for f in u.data_to_send(0.0):\n"
            "    n.receive(f, 0.0)\n"
            "print(u.up, n.up, [e.kind for e in n.events()], type(u.m).__module__)\n")
    env = {**os.environ, "BOARDCORE_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "['established',", "'data']", "cti.signaling.machine_c"]

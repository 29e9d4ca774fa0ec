"""Checks through the Board API: they run against any ``cti.boards`` backend whose spans
are wired back to back in pairs (span A's transmitter to span B's receiver and back).

Each check returns a one-line detail on success, raises AssertionError on a failure and
:class:`~simulator.conformance.context.Skip` where the card lacks an optional feature.
"""
from __future__ import annotations

import time

from drivers.base import BLOCK_OCTETS, VOICE_TIMESLOTS, Alarm
from drivers.wire import protocol as P

from .context import Context, Skip


def check_hello(ctx: Context) -> str:
    b = ctx.board
    w = ctx.wire
    if w is not None:
        assert w.version == P.VERSION, f"negotiated version {w.version}, expected {P.VERSION}"
    n = len(b.spans)
    assert n >= 2, f"the card reports {n} span(s); back-to-back checks need a pair"
    assert ctx.a < n and ctx.b < n, f"pair {ctx.a},{ctx.b} outside the card's {n} spans"
    name = w.card_name if w is not None else b.backend
    return f"{n} spans, card {name!r}" + (f", version {w.version}" if w is not None else "")


def _pattern(ts: int, n: int, salt: int = 0) -> bytes:
    return bytes((ts * 37 + i * 11 + salt) & 0xFF for i in range(n))


def voice_pair(ctx: Context, src: int, dst: int) -> list[int]:
    """Voice timeslots that carry audio at both ends (HDLC timeslots carry no audio)."""
    s, d = ctx.board.span(src), ctx.board.span(dst)
    return [ts for ts in VOICE_TIMESLOTS if ts not in s.config.hdlc and ts not in d.config.hdlc]


#: audio kept queued ahead of the line per timeslot: inside the 2 s every card must queue
AHEAD_OCTETS = 12000
#: how often the suite reads and refills: well inside a host's 1 s receive ring
STEP_SECONDS = 0.2
PERIOD = 256           #: _pattern repeats every 256 octets (11 is odd)


class _Match:
    """Checks, with bounded memory, that a timeslot's received octets contain the
    ``n``-octet pattern bit-exact and in order (what came before it is skipped)."""

    def __init__(self, ts: int, n: int, salt: int) -> None:
        self.base = _pattern(ts, PERIOD, salt)
        self.n = n
        self.matched = 0
        self.started = False
        self.tail = bytearray()
        self.error = ""

    def expected(self, start: int, k: int) -> bytes:
        i = start % PERIOD
        return (self.base * (k // PERIOD + 2))[i:i + k]

    def feed(self, data: bytes) -> None:
        if self.matched >= self.n or self.error:
            return
        if not self.started:
            self.tail += data
            idx = self.tail.find(self.base[:32])
            if idx < 0:
                del self.tail[:-31]
                return
            data, self.started = bytes(self.tail[idx:]), True
            self.tail = bytearray()
        k = min(len(data), self.n - self.matched)
        exp = self.expected(self.matched, k)
        if data[:k] != exp:
            first = next(i for i in range(k) if data[i] != exp[i])
            self.error = f"octet {self.matched + first} of {self.n} wrong"
            return
        self.matched += k

    @property
    def done(self) -> bool:
        return self.matched >= self.n and not self.error


def stream_audio(ctx: Context, routes: list[tuple[int, int]], seconds: float, salt: int = 0) -> tuple[int, int]:
    """Send ``seconds`` of a known pattern on every voice timeslot of each route's source
    span, all routes at once, refilling so that about 1.5 s stays queued (a card must
    queue 2 s); each destination must receive every pattern bit-exact and in order, in
    blocks 20 ms apart. Returns (timeslots, blocks read)."""
    b = ctx.board
    plan = [(src, dst, voice_pair(ctx, src, dst)) for src, dst in routes]
    for _src, dst, tss in plan:
        subscribe = getattr(b.span(dst), "subscribe", None)
        if callable(subscribe):
            subscribe(tss)
    ctx.wait(0.1)
    for _src, dst, tss in plan:
        while b.span(dst).read_audio(tss) is not None:      # drop what came before the pattern
            pass
    n = int(seconds * 8000) // BLOCK_OCTETS * BLOCK_OCTETS
    match = {(dst, ts): _Match(ts, n, salt + 3 * i) for i, (_s, dst, tss) in enumerate(plan) for ts in tss}
    written = 0

    def refill(upto: int) -> None:
        nonlocal written
        upto = min(n, upto)
        if upto <= written:
            return
        for src, dst, tss in plan:
            for ts in tss:
                b.span(src).write_audio(ts, match[(dst, ts)].expected(written, upto - written))
        written = upto

    refill(AHEAD_OCTETS)
    t0 = time.monotonic()
    blocks = 0
    last: dict[int, float | None] = {dst: None for _s, dst, _t in plan}
    waited = 0.0
    while waited < n / 8000 + ctx.settle:
        ctx.wait(STEP_SECONDS)
        waited = waited + STEP_SECONDS if ctx.virtual else max(waited + STEP_SECONDS, time.monotonic() - t0)
        for _src, dst, tss in plan:
            d = b.span(dst)
            while (blk := d.read_audio(tss)) is not None:
                blocks += 1
                prev = last[dst]
                if prev is not None:
                    assert abs(blk.time - prev - 0.02) < 1e-6, \
                        f"span {dst}: audio block at {blk.time:.3f} s follows {prev:.3f} s (a block lost or late)"
                last[dst] = blk.time
                for ts in tss:
                    match[(dst, ts)].feed(blk.timeslot(ts))
        refill(int(waited * 8000) + AHEAD_OCTETS)
    for src, dst, tss in plan:
        bad = {ts: (match[(dst, ts)].error or f"{match[(dst, ts)].matched} of {n} octets")
               for ts in tss if not match[(dst, ts)].done}
        assert not bad, f"span {src} -> {dst}: pattern lost or corrupted on TS {sorted(bad)} " \
                        f"(TS{min(bad)}: {bad[min(bad)]})"
    return len(match), blocks


def _audio_one_way(ctx: Context, src: int, dst: int, seconds: float, salt: int = 0) -> tuple[int, int]:
    return stream_audio(ctx, [(src, dst)], seconds, salt)


def check_audio_loopback(ctx: Context) -> str:
    n, _ = _audio_one_way(ctx, ctx.a, ctx.b, 0.2)
    _audio_one_way(ctx, ctx.b, ctx.a, 0.2)
    return f"{n} timeslots x 1600 octets intact, both ways"


def check_full_load(ctx: Context) -> str:
    """Every voice timeslot of every pair under load (the pair, or ``--load-pair`` each)
    carries audio both ways at once for ``load_seconds``: bit-exact, blocks contiguous
    (20 ms apart in card time), no slip or frame alignment error counted."""
    pairs = ctx.load_pairs or [(ctx.a, ctx.b)]
    spans = sorted({n for p in pairs for n in p})
    assert len(spans) == 2 * len(pairs), f"load pairs {pairs} share a span"
    assert max(spans) < len(ctx.board.spans), f"load pairs {pairs} outside the card's {len(ctx.board.spans)} spans"
    before = {n: ctx.board.span(n).counters for n in spans}
    routes = [r for x, y in pairs for r in ((x, y), (y, x))]
    n, blocks = stream_audio(ctx, routes, ctx.load_seconds, salt=5)
    ctx.measure(spans=len(spans), timeslots=n, seconds=ctx.load_seconds, blocks=blocks)
    for sp in spans:
        c = ctx.board.span(sp).counters
        slips = c.slips - before[sp].slips
        assert slips == 0, f"span {sp}: {slips} slip(s) under full load"
        fas = c.fas_errors - before[sp].fas_errors
        assert fas == 0, f"span {sp}: {fas} frame alignment error(s) under full load"
    return f"{len(spans)} spans full duplex: {n} timeslots x {ctx.load_seconds:g} s bit-exact, {blocks} blocks, no slips"


def check_cas_all_channels(ctx: Context) -> str:
    b = ctx.board
    for src, dst in ((ctx.a, ctx.b), (ctx.b, ctx.a)):
        s, d = b.span(src), b.span(dst)
        if s.config.signalling != "cas" or d.config.signalling != "cas":
            raise Skip(f"spans {src}/{dst} signal CCS")
        tss = voice_pair(ctx, src, dst)
        for rnd in range(2):
            want = {ts: 1 + (ts * 7 + rnd * 5) % 15 for ts in tss}
            for ts, v in want.items():
                s.set_cas(ts, v)
            ctx.wait()
            wrong = {ts: d.cas(ts) for ts, v in want.items() if d.cas(ts) != v}
            assert not wrong, f"span {src} -> {dst} round {rnd}: received {wrong} (abcd per TS)"
        for ts in tss:
            s.set_cas(ts, 0x9)
    ctx.wait()
    n = len(voice_pair(ctx, ctx.a, ctx.b))
    return f"{n} channels x 2 patterns, both ways"


def check_hdlc_both_ways(ctx: Context) -> str:
    if ctx.hdlc_pair is None:
        raise Skip("no pair of spans with an HDLC channel on the same timeslot")
    x, y, ts = ctx.hdlc_pair
    b = ctx.board
    frames = [bytes([i]) * (3 + i * 7 % 60) + b"\x7e\x7d\xff" for i in range(20)]
    for src, dst in ((x, y), (y, x)):
        b.span(dst).hdlc(ts).recv_all()
        for f in frames:
            b.span(src).hdlc(ts).send(f)
        ctx.wait(0.5)
        got = b.span(dst).hdlc(ts).recv_all()
        assert got == frames, f"span {src} -> {dst} TS{ts}: sent {len(frames)} frames, got {len(got)} " \
                              f"({sum(g in frames for g in got)} intact)"
    return f"20 frames each way on spans {x}<->{y} TS{ts}"


LINE_ALARMS = Alarm.LOS | Alarm.AIS | Alarm.LOF | Alarm.RAI


def check_alarms_on_faults(ctx: Context) -> str:
    b = ctx.board
    d, a = b.span(ctx.b), b.span(ctx.a)
    seen = []
    for fault, expect in ((P.Fault.LOS, Alarm.LOS), (P.Fault.AIS, Alarm.AIS), (P.Fault.LOF, Alarm.LOF),
                          (P.Fault.RAI, Alarm.RAI)):
        ctx.inject(ctx.b, fault, 1.0)
        ctx.wait(0.2)
        assert expect in d.alarms, f"{fault.name} injected: span {ctx.b} reports {d.alarms!r}"
        if fault is not P.Fault.RAI:
            assert Alarm.RAI in a.alarms, \
                f"{fault.name} at span {ctx.b}: span {ctx.a} gets no RAI (G.732 consequent action)"
        ctx.inject(ctx.b, P.Fault.CLEAR, 0)
        ctx.wait(0.5)
        left = d.alarms & LINE_ALARMS
        assert not left, f"{fault.name} cleared: span {ctx.b} still reports {left!r}"
        seen.append(fault.name)
    return "raised and cleared: " + ", ".join(seen)


def check_line_errors(ctx: Context) -> str:
    """The other faults: bit errors, CRC-4 errors, slips and a broken HDLC link are each
    counted where docs/wire-protocol.md says, and the line recovers when they stop."""
    b = ctx.board
    d = b.span(ctx.b)
    seen = []

    def delta(name: str, before: object) -> int:
        return int(getattr(d.counters, name)) - int(getattr(before, name))

    c0 = d.counters
    ctx.inject(ctx.b, P.Fault.BER, 1e-3)
    ctx.wait(0.5)
    ctx.inject(ctx.b, P.Fault.CLEAR, 0)
    ctx.wait(0.3)
    assert delta("fas_errors", c0) + delta("crc4_errors", c0) > 0, "BER 1e-3: no FAS or CRC-4 error counted"
    seen.append("BER")
    if d.config.framing == "crc4":
        c0 = d.counters
        ctx.inject(ctx.b, P.Fault.CRC_ERRORS, 50)
        ctx.wait(1.0)
        ctx.inject(ctx.b, P.Fault.CLEAR, 0)
        ctx.wait(0.2)
        assert delta("crc4_errors", c0) > 0, "CRC_ERRORS 50/s: crc4_errors did not grow"
        seen.append("CRC-4")
    c0 = d.counters
    ctx.inject(ctx.b, P.Fault.SLIP, -1)
    ctx.wait(0.3)
    assert delta("slips", c0) >= 1, "SLIP -1: slips did not grow"
    seen.append("slip")
    if ctx.hdlc_pair is not None:
        x, y, ts = ctx.hdlc_pair
        rx = b.span(y)
        r0 = rx.counters
        ctx.inject(y, P.Fault.HDLC_BROKEN, 1)
        for _ in range(5):
            b.span(x).hdlc(ts).send(b"\x01\x02\x03\x04")
        ctx.wait(0.3)
        got = rx.hdlc(ts).recv_all()
        c = rx.counters
        ctx.inject(y, P.Fault.CLEAR, 0)
        ctx.wait(0.3)
        assert b"\x01\x02\x03\x04" not in got, "HDLC_BROKEN: a frame crossed a broken link"
        errs = (c.hdlc_fcs_errors - r0.hdlc_fcs_errors) + (c.hdlc_aborts - r0.hdlc_aborts)
        assert errs > 0, "HDLC_BROKEN: neither hdlc_fcs_errors nor hdlc_aborts grew"
        b.span(x).hdlc(ts).send(b"after")
        ctx.wait(0.3)
        assert rx.hdlc(ts).recv_all() == [b"after"], "HDLC link did not recover after the fault cleared"
        seen.append("broken HDLC")
    left = d.alarms & LINE_ALARMS
    assert not left, f"after the faults: span {ctx.b} still reports {left!r}"
    return "counted and recovered: " + ", ".join(seen)


def check_counters(ctx: Context) -> str:
    s = ctx.board.span(ctx.b)
    c1 = s.counters
    ctx.wait(0.2)
    c2 = s.counters
    assert c2.frames_rx > c1.frames_rx, f"frames_rx did not grow ({c1.frames_rx} -> {c2.frames_rx})"
    assert c2.frames_tx > c1.frames_tx, f"frames_tx did not grow ({c1.frames_tx} -> {c2.frames_tx})"
    if ctx.virtual:
        grew = c2.frames_rx - c1.frames_rx
        assert 1500 <= grew <= 1700, f"0.2 s of card time moved frames_rx by {grew}, expected 1600 (8000/s)"
    return f"frames_rx {c1.frames_rx} -> {c2.frames_rx}"

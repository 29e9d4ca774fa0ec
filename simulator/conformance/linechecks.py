"""Checks of the line itself: timing (pacing, seq continuity, drift), clock offset and
controlled slips (line vs internal timing), the multiframe alarms and CAS debounce.

The figures they hold a card to are docs/wire-protocol.md's ("Timing and slips",
"CAS: debounce", "Alarms and consequent actions"): a controlled slip every
1 / (8000 x offset) seconds on a span that runs on its own oscillator and none on a
line-timed one; a CAS change shorter than 10 ms never reported (Q.421 recognition
time); LOMF answered with the Y bit (G.732 5.2); LOCRC without loss of frame alignment
once G.706 Annex B interworking is reached.
"""
from __future__ import annotations

import itertools
import time

from drivers.base import BLOCK_SECONDS, Alarm, CasChanged
from drivers.wire import protocol as P

from .checks import voice_pair
from .context import Context, RawLink, Skip

#: two oscillators at opposite ends of G.703's +/-50 ppm: a slip every 1.25 s when free-running
CLOCK_OFFSET_PPM = 100.0
FRAMES_PER_SECOND = 8000
#: how closely the measured drift must match the injected offset
DRIFT_TOLERANCE = 0.2
#: Q.421 recognition time, lower bound (docs/wire-protocol.md "CAS: debounce")
CAS_RECOGNITION_S = 0.010
#: a real-time card's clock against the host's: 1 % is a broken card, not a drifting one
PACING_TOLERANCE = 0.01


def slip_interval(ppm: float) -> float:
    """Seconds between controlled slips of a span whose clock is ``ppm`` off the line's."""
    return 1.0 / (FRAMES_PER_SECOND * abs(ppm) * 1e-6)


def _poll(ctx: Context, seconds: float, step: float, fn: object) -> None:
    """Let the line run ``seconds`` in ``step`` pieces, calling ``fn(elapsed)`` after each."""
    t, t0 = 0.0, time.monotonic()
    while t < seconds - 1e-9:
        ctx.wait(step)
        t = t + step if ctx.virtual else time.monotonic() - t0
        fn(t)  # type: ignore[operator]


def check_pacing(ctx: Context) -> str:
    """Blocks come one per 20 ms of card time, with no gap in ``seq``; a real-time card's
    clock keeps to the host's within 1 %. The drift is reported in ppm."""
    d = ctx.board.span(ctx.b)
    ts = voice_pair(ctx, ctx.a, ctx.b)[0]
    window = 2.0 if ctx.virtual else 5.0
    if ctx.wire is not None and ctx.url is not None:
        raw = RawLink(ctx.url, ctx.timeout)
        try:
            raw.hello()
            raw.send(P.encode(P.AudioSubscribe(ctx.b, (ts,))))
            raw.ping(b"subscribed")
            raw.items.clear()
            arrivals: list[tuple[int, float]] = []

            def collect(_t: float) -> None:
                raw.pump(0.0)
                now = time.monotonic()
                arrivals.extend((m.seq, now) for m in raw.items if isinstance(m, P.Audio) and m.span == ctx.b)
                raw.items.clear()
            _poll(ctx, window, 0.1, collect)
            raw.ping(b"done")
            collect(window)
        finally:
            raw.close()
        seqs = [s for s, _ in arrivals]
        assert len(seqs) >= 2, f"span {ctx.b}: {len(seqs)} AUDIO message(s) in {window:g} s"
        gaps = [(a, b) for a, b in itertools.pairwise(seqs) if (b - a) & 0xFFFFFFFF != 1]
        assert not gaps, f"span {ctx.b}: AUDIO seq jumps {gaps[:3]} (blocks lost or reordered)"
        blocks = len(seqs)
        stamps = [(((sq - seqs[0]) & 0xFFFFFFFF) * BLOCK_SECONDS, t) for sq, t in arrivals]
    else:
        d.read_audio([ts])
        while d.read_audio([ts]) is not None:
            pass
        times: list[float] = []
        stamps = []

        def read(_t: float) -> None:
            while (blk := d.read_audio([ts])) is not None:
                times.append(blk.time)
                stamps.append((blk.time, time.monotonic()))
        _poll(ctx, window, 0.1, read)
        late = [(a, b) for a, b in itertools.pairwise(times) if abs(b - a - BLOCK_SECONDS) > 1e-6]
        assert not late, f"span {ctx.b}: blocks at {late[:3]} are not 20 ms apart in card time"
        blocks = len(times)
    expected = window / BLOCK_SECONDS
    if ctx.virtual:
        ctx.measure(blocks=blocks, drift_ppm=0.0, seconds=window)
        assert abs(blocks - expected) <= 2, f"{window:g} s of card time carried {blocks} blocks, not {expected:g}"
        return f"{blocks} blocks in {window:g} s of card time, seq contiguous; virtual clock (drift 0 by design)"
    drift, spread = clock_drift(stamps)
    ctx.measure(blocks=blocks, drift_ppm=round(drift, 1), seconds=round(spread, 2))
    assert abs(drift) <= PACING_TOLERANCE * 1e6, \
        f"card clock {drift:+.0f} ppm off the host's over {spread:.1f} s (more than 1 %)"
    return f"{blocks} blocks, seq contiguous; card clock {drift:+.0f} ppm vs the host over {spread:.1f} s"


def clock_drift(stamps: list[tuple[float, float]]) -> tuple[float, float]:
    """(ppm, seconds): how fast card time runs against host time, from (card, host) time
    pairs of blocks as they arrived. Blocks arrive late and in bursts, never early, so the
    earliest arrival relative to card time in the first and the last third of the run
    bound the clock best (the lower envelope), not the first and last arrival."""
    if len(stamps) < 6:
        return 0.0, 0.0
    k = len(stamps) // 3
    head, tail = stamps[:k], stamps[-k:]
    i = min(range(k), key=lambda j: head[j][1] - head[j][0])
    j = min(range(k), key=lambda j: tail[j][1] - tail[j][0])
    card = tail[j][0] - head[i][0]
    host = tail[j][1] - head[i][1]
    if host <= 0:
        return 0.0, 0.0
    return (card - host) / host * 1e6, stamps[-1][1] - stamps[0][1]


def check_clock_slips(ctx: Context) -> str:
    """The line's clock runs 100 ppm off span B's: a span on its own oscillator (master,
    internal timing) makes a controlled slip every 1.25 s, counted in ``slips``, without
    losing frame alignment; a line-timed span (slave) makes none. The measured drift
    (from the slips' spacing) must be the offset within 20 %."""
    d = ctx.board.span(ctx.b)
    window = 4 * slip_interval(CLOCK_OFFSET_PPM)
    slip_times: list[float] = []
    alarms = Alarm.NONE
    last = d.counters.slips

    def watch(t: float) -> None:
        nonlocal last, alarms
        n = d.counters.slips
        slip_times.extend([t] * (n - last))
        last = n
        alarms |= d.alarms

    ctx.inject(ctx.b, P.Fault.CLOCK, CLOCK_OFFSET_PPM)
    try:
        _poll(ctx, window, 0.04, watch)
    finally:
        ctx.inject(ctx.b, P.Fault.CLEAR, 0)
    assert not alarms & (Alarm.LOF | Alarm.LOS), \
        f"a {CLOCK_OFFSET_PPM:g} ppm clock offset raised {alarms!r}: slips must be controlled"
    ctx.wait(0.5)
    quiet = d.counters.slips
    ctx.wait(2 * slip_interval(CLOCK_OFFSET_PPM))
    assert d.counters.slips == quiet, "slips go on after the clock offset was removed"
    n = len(slip_times)
    expect = ctx.expect_timing
    ctx.measure(offset_ppm=CLOCK_OFFSET_PPM, seconds=window, slips=n, timing="line" if n == 0 else "internal")
    if n == 0:
        assert expect in (None, "line"), \
            f"no slip in {window:g} s with the line {CLOCK_OFFSET_PPM:g} ppm off: span {ctx.b} is line-timed, " \
            f"expected {expect} timing"
        return f"span {ctx.b} recovers its clock from the line (slave): no slip in {window:g} s at " \
               f"{CLOCK_OFFSET_PPM:g} ppm"
    if n >= 3:
        measured = (n - 1) / (FRAMES_PER_SECOND * (slip_times[-1] - slip_times[0])) * 1e6
    else:
        measured = n / (FRAMES_PER_SECOND * window) * 1e6
    ctx.measure(drift_ppm=round(measured, 1))
    assert abs(measured - CLOCK_OFFSET_PPM) <= DRIFT_TOLERANCE * CLOCK_OFFSET_PPM, \
        f"{n} slips in {window:g} s: measured drift {measured:.1f} ppm, the line is {CLOCK_OFFSET_PPM:g} ppm off " \
        f"(one slip every {slip_interval(CLOCK_OFFSET_PPM):g} s expected)"
    assert expect in (None, "internal"), \
        f"span {ctx.b} slips ({measured:.1f} ppm): it runs on its own oscillator, expected {expect} timing"
    return f"span {ctx.b} runs on its own oscillator (master): {n} slips in {window:g} s, " \
           f"measured drift {measured:.1f} ppm (line {CLOCK_OFFSET_PPM:g} ppm off)"


def _until(ctx: Context, pred: object, seconds: float) -> bool:
    waited = 0.0
    while waited < seconds:
        if pred():  # type: ignore[operator]
            return True
        ctx.wait(0.1)
        waited += 0.1
    return bool(pred())  # type: ignore[operator]


def check_multiframe_alarms(ctx: Context) -> str:
    """TS16 multiframe lost -> LOMF, and the far end gets MF_RAI (the Y bit, G.732 5.2);
    the far end's Y bit -> MF_RAI only; TS16 all ones -> MF_AIS and MF_RAI back; CRC-4 multiframe lost -> LOCRC, frame alignment
    kept once interworking (G.706 Annex B), CRC-4 errors no longer counted and the E bits
    sent as 0 (the far end counts them in ``e_bits``)."""
    b = ctx.board
    d, a = b.span(ctx.b), b.span(ctx.a)
    cas = d.config.signalling == "cas" and a.config.signalling == "cas"
    crc4 = d.config.framing == "crc4"
    if not cas and not crc4:
        raise Skip("the pair has neither a CAS multiframe nor CRC-4")
    seen = []
    if cas:
        ts = voice_pair(ctx, ctx.a, ctx.b)[0]
        before = d.cas(ts)
        ctx.inject(ctx.b, P.Fault.MFAS, 1)
        ctx.wait(0.2)
        assert Alarm.LOMF in d.alarms, f"MFAS corrupted: span {ctx.b} reports {d.alarms!r}, no LOMF"
        assert Alarm.MF_RAI in a.alarms, f"LOMF at span {ctx.b}: span {ctx.a} gets no MF_RAI (G.732 5.2)"
        assert d.cas(ts) == before, f"LOMF: received CAS on TS{ts} changed {before:04b} -> {d.cas(ts):04b}"
        ctx.inject(ctx.b, P.Fault.CLEAR, 0)
        ctx.wait(0.3)
        assert not d.alarms & Alarm.LOMF and not a.alarms & Alarm.MF_RAI, \
            f"MFAS restored: span {ctx.b} {d.alarms!r}, span {ctx.a} {a.alarms!r}"
        ctx.inject(ctx.b, P.Fault.MRAI, 1)
        ctx.wait(0.2)
        assert Alarm.MF_RAI in d.alarms, f"Y bit set: span {ctx.b} reports {d.alarms!r}, no MF_RAI"
        assert not d.alarms & Alarm.LOMF, "Y bit set: LOMF raised as well"
        ctx.inject(ctx.b, P.Fault.CLEAR, 0)
        ctx.wait(0.3)
        assert not d.alarms & Alarm.MF_RAI, f"Y bit cleared: span {ctx.b} still reports {d.alarms!r}"
        seen += ["LOMF + MF_RAI back", "MF_RAI"]
        ctx.inject(ctx.b, P.Fault.TS16_AIS, 1)
        ctx.wait(0.2)
        assert Alarm.MF_AIS in d.alarms, f"TS16 all ones: span {ctx.b} reports {d.alarms!r}, no MF_AIS"
        assert Alarm.MF_RAI in a.alarms, f"MF_AIS at span {ctx.b}: span {ctx.a} gets no MF_RAI (G.732 5.2)"
        ctx.inject(ctx.b, P.Fault.CLEAR, 0)
        ctx.wait(0.3)
        assert not d.alarms & (Alarm.MF_AIS | Alarm.LOMF) and not a.alarms & Alarm.MF_RAI, \
            f"TS16 restored: span {ctx.b} {d.alarms!r}, span {ctx.a} {a.alarms!r}"
        seen.append("MF_AIS + MF_RAI back")
    if crc4:
        ctx.inject(ctx.b, P.Fault.CRC4MF, 1)
        try:
            assert _until(ctx, lambda: Alarm.LOCRC in d.alarms, 3.0), \
                f"CRC-4 multiframe broken for 3 s: span {ctx.b} reports {d.alarms!r}, no LOCRC"
            ctx.wait(0.5)                        # G.706 Annex B: 400 ms, then interworking
            c1, e1 = d.counters, a.counters.e_bits
            ctx.wait(0.5)
            c2, e2 = d.counters, a.counters.e_bits
            assert Alarm.LOCRC in d.alarms and not d.alarms & Alarm.LOF, \
                f"CRC-4 interworking: span {ctx.b} reports {d.alarms!r} (frame alignment must hold)"
            assert c2.crc4_errors == c1.crc4_errors, \
                f"LOCRC: {c2.crc4_errors - c1.crc4_errors} CRC-4 errors counted without a multiframe"
            assert e2 > e1, f"LOCRC at span {ctx.b}: span {ctx.a} receives no E bits at 0 (G.706 Annex B)"
        finally:
            ctx.inject(ctx.b, P.Fault.CLEAR, 0)
        assert _until(ctx, lambda: not d.alarms & Alarm.LOCRC, 2.0), \
            f"CRC-4 multiframe restored: span {ctx.b} still reports {d.alarms!r}"
        ctx.wait(0.2)
        e3 = a.counters.e_bits
        ctx.wait(0.5)
        assert a.counters.e_bits == e3, f"CRC-4 multiframe regained: span {ctx.a} still receives E bits at 0"
        seen.append("LOCRC (interworking, E bits 0 to the far end, then regained)")
    return "raised and cleared: " + ", ".join(seen)


def check_cas_debounce(ctx: Context) -> str:
    """A CAS hit on the line shorter than 10 ms is never reported; one of 40 ms is
    reported once per channel each way, with the times it began and ended."""
    b = ctx.board
    s, d = b.span(ctx.a), b.span(ctx.b)
    if s.config.signalling != "cas" or d.config.signalling != "cas":
        raise Skip(f"spans {ctx.a}/{ctx.b} signal CCS")
    tss = voice_pair(ctx, ctx.a, ctx.b)
    for ts in tss:
        s.set_cas(ts, 0x9)
    ctx.wait()
    b.poll_events()
    before = {ts: d.cas(ts) for ts in tss}

    def changes() -> list[CasChanged]:
        return [e for e in b.poll_events() if isinstance(e, CasChanged) and e.span == ctx.b]

    ctx.inject(ctx.b, P.Fault.CAS_GLITCH, 6)
    ctx.wait()
    short = changes()
    assert not short, f"a 6 ms CAS hit was reported ({len(short)} CAS_CHANGED, e.g. {short[0]})"
    assert all(d.cas(ts) == v for ts, v in before.items()), "a 6 ms CAS hit changed the received abcd"
    ctx.inject(ctx.b, P.Fault.CAS_GLITCH, 40)
    ctx.wait()
    evs = changes()
    worst = 0.0
    for ts in tss:
        mine = [e for e in evs if e.timeslot == ts]
        hit = (before[ts] & 0x3) | 0x1
        assert [e.abcd for e in mine] == [hit, before[ts]], \
            f"TS{ts}: a 40 ms hit reported as {[f'{e.abcd:04b}' for e in mine]}, expected " \
            f"{hit:04b} then {before[ts]:04b}, once each"
        lasted = mine[1].time - mine[0].time
        worst = max(worst, abs(lasted - 0.040))
        assert abs(lasted - 0.040) <= 0.003, \
            f"TS{ts}: the 40 ms hit reported as lasting {lasted * 1000:.1f} ms (times: when each state began)"
    ctx.measure(channels=len(tss), worst_error_ms=round(worst * 1000, 2))
    return f"6 ms hit not reported; 40 ms hit reported once on {len(tss)} channels, " \
           f"lasting 40 ms within {worst * 1000:.1f} ms"

"""Soak: the card under load for a long time, then a report (``cti-sim conformance --soak``).

Round after round (about 3 s of card time each) until the duration is spent: every
voice timeslot of the pair carries a known pattern both ways at once and must arrive bit-exact;
on a CAS pair a handful of channels place a "call" each (seize a,b = 00, then clear
back to idle 1001) and the far end must see both, and how long each change took to
cross is kept; on an HDLC pair a burst of frames crosses each way. At the end the
line counters (slips, FAS, CRC-4, HDLC errors) must not have moved. The report has
calls, frames, slips, errors, latency percentiles and the growth of this process's
resident memory (which includes the card when it runs in-process).
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from drivers.base import CasChanged, HdlcFrameReady

from .checks import stream_audio, voice_pair
from .context import Context

#: card seconds of audio per round, each way
ROUND_AUDIO_S = 1.0
CALLS_PER_ROUND = 5
HDLC_PER_ROUND = 10
SEIZE, IDLE = 0x1, 0x9
MAX_ERRORS_KEPT = 20


@dataclass
class SoakReport:
    seconds: float = 0.0                 #: card time the soak ran
    wall_seconds: float = 0.0
    rounds: int = 0
    calls: int = 0                       #: seize + clear both seen at the far end
    calls_failed: int = 0
    hdlc_frames: int = 0
    hdlc_lost: int = 0
    audio_timeslot_seconds: float = 0.0  #: timeslots x seconds carried bit-exact
    audio_errors: int = 0
    slips: int = 0
    fas_errors: int = 0
    crc4_errors: int = 0
    hdlc_errors: int = 0
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    rss_start_kib: int = 0
    rss_end_kib: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return (self.calls_failed + self.hdlc_lost + self.audio_errors + self.slips + self.fas_errors
                + self.crc4_errors + self.hdlc_errors)

    @property
    def ok(self) -> bool:
        return self.rounds > 0 and self.failures == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth_kib": self.rss_end_kib - self.rss_start_kib,
                "failures": self.failures, "ok": self.ok}

    def summary(self) -> str:
        """The human summary: a few lines a vendor pastes into a ticket."""
        lat = "; ".join(f"{k} p50 {v['p50']:.1f} / p95 {v['p95']:.1f} / p99 {v['p99']:.1f} / max {v['max']:.1f} ms"
                        for k, v in self.latency_ms.items()) or "none measured"
        lines = [
            f"soak: {self.seconds:.0f} s of card time in {self.rounds} rounds ({self.wall_seconds:.0f} s wall)",
            f"calls {self.calls} ({self.calls_failed} failed); HDLC frames {self.hdlc_frames} ({self.hdlc_lost} lost); "
            f"audio {self.audio_timeslot_seconds:.0f} timeslot-s ({self.audio_errors} errors)",
            f"slips {self.slips}, FAS errors {self.fas_errors}, CRC-4 errors {self.crc4_errors}, "
            f"HDLC errors {self.hdlc_errors}",
            f"latency: {lat}",
            f"memory (this process, RSS): {self.rss_start_kib} -> {self.rss_end_kib} KiB "
            f"({self.rss_end_kib - self.rss_start_kib:+d})",
            "result: " + ("PASS" if self.ok else f"FAIL ({self.failures} failures)"),
        ]
        return "\n".join(lines + [f"  {e}" for e in self.errors])

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text)


def rss_kib() -> int:
    """Resident memory of this process in KiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max by the nearest rank (no interpolation between samples)."""
    v = sorted(values)

    def rank(p: float) -> float:
        return v[min(len(v), max(1, math.ceil(p / 100 * len(v)))) - 1]
    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": v[-1], "n": float(len(v))}


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '2h' -> seconds; ValueError otherwise."""
    t = text.strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600}.get(t[-1:])
    num = t[:-1] if scale else t
    try:
        v = float(num) * (scale or 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m or 2h") from None
    if not 0 < v <= 7 * 86400:
        raise ValueError(f"a soak lasts more than 0 s and at most 7 days, not {text!r}")
    return v


def soak(ctx: Context, seconds: float, progress: Callable[[SoakReport], None] | None = None) -> SoakReport:
    """Run the load rounds for ``seconds`` of card time (virtual cards) or wall time."""
    b = ctx.board
    rep = SoakReport(rss_start_kib=rss_kib())
    spans = (ctx.a, ctx.b)
    c0 = {n: b.span(n).counters for n in spans}
    cas = all(b.span(n).config.signalling == "cas" for n in spans)
    tss = voice_pair(ctx, ctx.a, ctx.b)
    lat: dict[str, list[float]] = {"CAS": [], "HDLC": []}
    t_wall = time.monotonic()
    card0 = b.now()
    b.poll_events()
    while True:
        elapsed = (b.now() - card0) if ctx.virtual else time.monotonic() - t_wall
        if elapsed >= seconds - 1e-9:
            break
        rnd = rep.rounds
        try:
            n, _ = stream_audio(ctx, [(ctx.a, ctx.b), (ctx.b, ctx.a)], ROUND_AUDIO_S, salt=rnd % 200)
            rep.audio_timeslot_seconds += n * ROUND_AUDIO_S
        except AssertionError as exc:
            rep.audio_errors += 1
            rep.error(f"round {rnd}: {exc}")
        if cas:
            _calls(ctx, rep, [tss[(rnd * CALLS_PER_ROUND + i) % len(tss)] for i in range(CALLS_PER_ROUND)],
                   lat["CAS"])
        if ctx.hdlc_pair is not None:
            _hdlc(ctx, rep, rnd, lat["HDLC"])
        rep.rounds += 1
        if progress is not None:
            rep.seconds = b.now() - card0
            progress(rep)
    for n in spans:
        c = b.span(n).counters
        rep.slips += c.slips - c0[n].slips
        rep.fas_errors += c.fas_errors - c0[n].fas_errors
        rep.crc4_errors += c.crc4_errors - c0[n].crc4_errors
        rep.hdlc_errors += (c.hdlc_fcs_errors - c0[n].hdlc_fcs_errors) + (c.hdlc_aborts - c0[n].hdlc_aborts)
    rep.seconds = b.now() - card0
    rep.wall_seconds = time.monotonic() - t_wall
    rep.latency_ms = {k: percentiles([x * 1000 for x in v]) for k, v in lat.items() if v}
    rep.rss_end_kib = rss_kib()
    return rep


def _calls(ctx: Context, rep: SoakReport, tss: list[int], lat: list[float]) -> None:
    """Seize then clear each of ``tss`` from span A; a call counts when span B saw both."""
    b = ctx.board
    s, d = b.span(ctx.a), b.span(ctx.b)
    ok = set(tss)
    for state in (SEIZE, IDLE):
        b.poll_events()
        sent = {}
        for ts in tss:
            sent[ts] = b.now()
            s.set_cas(ts, state)
        ctx.wait()
        seen = {e.timeslot: e.time for e in b.poll_events()
                if isinstance(e, CasChanged) and e.span == ctx.b and e.abcd == state and e.timeslot in sent}
        for ts, t0 in sent.items():
            if ts in seen:
                lat.append(max(0.0, seen[ts] - t0))
            elif d.cas(ts) != state:
                rep.error(f"TS{ts}: {'seize' if state == SEIZE else 'clear'} never reached span {ctx.b}")
                ok.discard(ts)
    rep.calls += len(ok)
    rep.calls_failed += len(tss) - len(ok)


def _hdlc(ctx: Context, rep: SoakReport, rnd: int, lat: list[float]) -> None:
    assert ctx.hdlc_pair is not None
    x, y, ts = ctx.hdlc_pair
    b = ctx.board
    for src, dst in ((x, y), (y, x)):
        b.span(dst).hdlc(ts).recv_all()
        b.poll_events()
        frames = [f"soak {rnd} {i}".encode() * (1 + i % 4) for i in range(HDLC_PER_ROUND)]
        t0 = b.now()
        for f in frames:
            b.span(src).hdlc(ts).send(f)
        ctx.wait()
        ready = [e.time for e in b.poll_events()
                 if isinstance(e, HdlcFrameReady) and e.span == dst and e.timeslot == ts]
        got = b.span(dst).hdlc(ts).recv_all()
        lost = sum(f not in got for f in frames)
        rep.hdlc_frames += len(frames) - lost
        rep.hdlc_lost += lost
        if lost:
            rep.error(f"round {rnd}: {lost} of {len(frames)} HDLC frames lost {src} -> {dst}")
        lat.extend(max(0.0, t - t0) for t in ready[:len(frames)])

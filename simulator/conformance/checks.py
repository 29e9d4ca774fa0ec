"""Card conformance checks: what a vendor runs against a card speaking the wire protocol.

The card under test has its spans wired back to back in pairs (a crossover cable
from span A to span B; ``cti-sim serve`` does it in software): whatever span A
sends, span B receives, and the other way. :func:`run` opens the card with
:class:`drivers.wire.WireBoard`, runs every check in :data:`CHECKS` and returns
one :class:`CheckResult` each. A check that needs an optional feature the card
does not offer (FAULT injection, an HDLC pair) is SKIPPED, never failed.
"""
from __future__ import annotations

import select
import time
from dataclasses import dataclass, field
from typing import Callable

from drivers.base import VOICE_TIMESLOTS, Alarm, BoardError
from drivers.wire import protocol as P
from drivers.wire.client import CardRefused, WireBoard

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


class Skip(Exception):
    """The card lacks an optional feature this check needs."""


@dataclass
class CheckResult:
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Context:
    url: str
    board: WireBoard
    a: int = 0                        #: span A of the back-to-back pair
    b: int = 1                        #: span B
    hdlc_pair: tuple[int, int, int] | None = None   #: (span, span, timeslot) with HDLC both ends
    settle: float = 0.3               #: seconds to let the line carry a change
    timeout: float = 5.0
    notes: list[str] = field(default_factory=list)

    def wait(self, seconds: float | None = None) -> None:
        self.board.advance(self.settle if seconds is None else seconds)
        self.board.sync()


class RawLink:
    """A second connection speaking raw messages (to send what WireBoard never would)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        import serial

        self.ser = serial.serial_for_url(url, timeout=0.05)
        try:
            self.fd = self.ser.fileno()
            self.ser.timeout = 0
        except Exception:
            self.fd = None
        self.dec = P.Decoder()
        self.timeout = timeout
        self.items: list = []

    def send(self, raw: bytes) -> None:
        self.ser.write(raw)

    def expect(self, pred: Callable[[object], bool], what: str):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, item in enumerate(self.items):
                if pred(item):
                    del self.items[:i + 1]
                    return item
            if self.fd is not None:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                data = self.ser.read(65536) if ready else b""
            else:
                data = self.ser.read(max(1, self.ser.in_waiting))
            if data:
                self.items += self.dec.feed(data)
        raise AssertionError(f"no {what} within {self.timeout:g} s (got {self.items[-5:]!r})")

    def hello(self) -> P.HelloAck:
        self.send(P.encode(P.Hello(name="conformance-raw")))
        return self.expect(lambda m: isinstance(m, P.HelloAck), "HELLO_ACK")

    def expect_error(self, code: P.ErrorCode, what: str) -> P.Error:
        err = self.expect(lambda m: isinstance(m, P.Error), f"ERROR {code.name} for {what}")
        if err.code != code:
            raise AssertionError(f"{what}: ERROR {_name(err.code)} ({err.text}), expected {code.name}")
        return err

    def ping(self, data: bytes = b"alive") -> None:
        self.send(P.encode(P.Ping(data)))
        self.expect(lambda m: isinstance(m, P.Pong) and m.data == data, "PONG")

    def close(self) -> None:
        self.ser.close()


def _name(code: int) -> str:
    try:
        return P.ErrorCode(code).name
    except ValueError:
        return str(code)


# ------------------------------------------------------------------ the checks

def check_hello(ctx: Context) -> str:
    b = ctx.board
    assert b.version == P.VERSION, f"negotiated version {b.version}, expected {P.VERSION}"
    n = len(b.spans)
    assert n >= 2, f"the card reports {n} span(s); back-to-back checks need a pair"
    assert ctx.a < n and ctx.b < n, f"pair {ctx.a},{ctx.b} outside the card's {n} spans"
    return f"version {b.version}, {n} spans, card {b.card_name!r}"


def check_version_negotiation(ctx: Context) -> str:
    raw = RawLink(ctx.url, ctx.timeout)
    try:
        raw.send(P.encode(P.Hello(min_version=200, max_version=250, name="future host")))
        raw.expect_error(P.ErrorCode.BAD_VERSION, "HELLO with versions 200..250")
        raw.send(P.encode(P.CasQuery(0)))
        raw.expect_error(P.ErrorCode.NO_HELLO, "CAS_QUERY before HELLO")
        ack = raw.hello()
        assert ack.version == P.VERSION, f"HELLO 1..1 answered with version {ack.version}"
        raw.ping()
    finally:
        raw.close()
    return "no common version -> BAD_VERSION; message before HELLO -> NO_HELLO; 1..1 -> 1"


def check_ping(ctx: Context) -> str:
    for payload in (b"", b"x" * 1000):
        got = ctx.board.ping(payload)
        assert got == payload, f"PONG carried {len(got)} octets instead of {len(payload)}"
    return "PONG echoes the payload"


def _pattern(ts: int, n: int) -> bytes:
    return bytes((ts * 37 + i * 11) & 0xFF for i in range(n))


def _audio_one_way(ctx: Context, src: int, dst: int) -> int:
    b = ctx.board
    s, d = b.span(src), b.span(dst)
    tss = [ts for ts in VOICE_TIMESLOTS if ts not in s.config.hdlc and ts not in d.config.hdlc]
    d.subscribe(tss)
    ctx.wait(0.1)
    while d.read_audio(tss) is not None:      # drop what came before the pattern
        pass
    n = 1600
    for ts in tss:
        s.write_audio(ts, _pattern(ts, n))
    ctx.wait(n / 8000 + ctx.settle)
    got: dict[int, bytearray] = {ts: bytearray() for ts in tss}
    while (blk := d.read_audio(tss)) is not None:
        for ts in tss:
            got[ts] += blk.timeslot(ts)
    bad = [ts for ts in tss if _pattern(ts, n) not in got[ts]]
    assert not bad, f"span {src} -> {dst}: pattern lost or corrupted on TS {bad}"
    return len(tss)


def check_audio_loopback(ctx: Context) -> str:
    n = _audio_one_way(ctx, ctx.a, ctx.b)
    _audio_one_way(ctx, ctx.b, ctx.a)
    return f"{n} timeslots x 1600 octets intact, both ways"


def check_cas_all_channels(ctx: Context) -> str:
    b = ctx.board
    for src, dst in ((ctx.a, ctx.b), (ctx.b, ctx.a)):
        s, d = b.span(src), b.span(dst)
        if s.config.signalling != "cas":
            raise Skip(f"span {src} signals CCS")
        for rnd in range(2):
            want = {ts: 1 + (ts * 7 + rnd * 5) % 15 for ts in VOICE_TIMESLOTS}
            for ts, v in want.items():
                s.set_cas(ts, v)
            ctx.wait()
            wrong = {ts: d.cas(ts) for ts, v in want.items() if d.cas(ts) != v}
            assert not wrong, f"span {src} -> {dst} round {rnd}: received {wrong} (abcd per TS)"
        for ts in VOICE_TIMESLOTS:
            s.set_cas(ts, 0x9)
    ctx.wait()
    return "30 channels x 2 patterns, both ways"


def check_cas_0000_refused(ctx: Context) -> str:
    b = ctx.board
    if b.span(ctx.a).config.signalling != "cas":
        raise Skip("span A signals CCS")
    before = b.span(ctx.b).cas(1)
    raw = RawLink(ctx.url, ctx.timeout)
    try:
        raw.hello()
        raw.send(P.encode(P.CasSet(ctx.a, 1, 0)))
        raw.expect_error(P.ErrorCode.BAD_CAS, "CAS_SET abcd=0000")
        raw.send(P.encode(P.CasSet(ctx.a, 1, 0x1F)))
        raw.expect_error(P.ErrorCode.BAD_CAS, "CAS_SET abcd=0x1F")
        raw.ping()
    finally:
        raw.close()
    ctx.wait()
    after = b.span(ctx.b).cas(1)
    assert after == before and after != 0, f"far CAS changed from {before:04b} to {after:04b}"
    return "0000 and 0x1F refused with BAD_CAS; line unchanged"


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


def check_alarms_on_faults(ctx: Context) -> str:
    b = ctx.board
    d = b.span(ctx.b)
    a = b.span(ctx.a)
    seen = []
    for fault, expect in ((P.Fault.LOS, Alarm.LOS), (P.Fault.AIS, Alarm.AIS), (P.Fault.LOF, Alarm.LOF),
                          (P.Fault.RAI, Alarm.RAI)):
        try:
            b.fault(ctx.b, fault, 1.0)
        except CardRefused as exc:
            if exc.error.code == P.ErrorCode.UNSUPPORTED:
                raise Skip("the card does not inject faults (FAULT unsupported)") from None
            raise
        ctx.wait(0.2)
        assert expect in d.alarms, f"{fault.name} injected: span {ctx.b} reports {d.alarms!r}"
        if fault is not P.Fault.RAI:
            assert Alarm.RAI in a.alarms, \
                f"{fault.name} at span {ctx.b}: span {ctx.a} gets no RAI (G.732 consequent action)"
        b.fault(ctx.b, P.Fault.CLEAR, 0)
        ctx.wait(0.5)
        left = d.alarms & (Alarm.LOS | Alarm.AIS | Alarm.LOF | Alarm.RAI)
        assert not left, f"{fault.name} cleared: span {ctx.b} still reports {left!r}"
        seen.append(fault.name)
    return "raised and cleared: " + ", ".join(seen)


def check_out_of_range(ctx: Context) -> str:
    n = len(ctx.board.spans)
    raw = RawLink(ctx.url, ctx.timeout)
    try:
        raw.hello()
        cases = [
            (P.encode_raw(P.MsgType.CAS_SET, n, b"\x01\x09"), P.ErrorCode.OUT_OF_RANGE, f"span {n}"),
            (P.encode_raw(P.MsgType.CAS_SET, 0xFE, b"\x01\x09"), P.ErrorCode.OUT_OF_RANGE, "span 254"),
            (P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x00\x09"), P.ErrorCode.OUT_OF_RANGE, "TS0"),
            (P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x10\x09"), P.ErrorCode.OUT_OF_RANGE, "CAS on TS16"),
            (P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x20\x09"), P.ErrorCode.OUT_OF_RANGE, "TS32"),
            (P.encode(P.Audio(ctx.a, 0, (0,), b"\xd5" * 8)), P.ErrorCode.OUT_OF_RANGE, "audio on TS0"),
            (P.encode(P.CountersQuery(n)), P.ErrorCode.OUT_OF_RANGE, f"COUNTERS_QUERY span {n}"),
        ]
        if not ctx.board.span(ctx.a).config.hdlc:
            cases.append((P.encode(P.HdlcFrame(ctx.a, 5, b"abc")), P.ErrorCode.NOT_CONFIGURED,
                          "HDLC on a voice timeslot"))
        for raw_msg, code, what in cases:
            raw.send(raw_msg)
            raw.expect_error(code, what)
        raw.ping()
    finally:
        raw.close()
    ctx.board.sync()
    return f"{len(cases)} bad requests refused, link alive"


def check_garbage_survives(ctx: Context) -> str:
    raw = RawLink(ctx.url, ctx.timeout)
    try:
        raw.hello()
        raw.send(b"\x00\x13garbage\xffnot a header")
        raw.expect_error(P.ErrorCode.GARBAGE, "garbage octets")
        raw.ping()
        raw.send(P.encode_raw(0x7F, 0, b"from the future"))
        raw.expect_error(P.ErrorCode.UNKNOWN_TYPE, "type 0x7F")
        raw.send(P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x01"))
        raw.expect_error(P.ErrorCode.MALFORMED, "CAS_SET with a 1-octet payload")
        raw.send(P.encode_raw(P.MsgType.PING, 0, b"v2", version=2))
        raw.expect_error(P.ErrorCode.BAD_VERSION, "a version 2 header")
        raw.ping()
    finally:
        raw.close()
    # a client dying mid-message must not disturb the others
    raw = RawLink(ctx.url, ctx.timeout)
    raw.hello()
    raw.send(P.encode(P.Ping(b"x" * 100))[:40])
    raw.close()
    ctx.board.sync()
    return "garbage, unknown type, malformed, wrong version: ERROR each, link alive; peer death isolated"


def check_counters(ctx: Context) -> str:
    s = ctx.board.span(ctx.b)
    c1 = s.counters
    ctx.wait(0.2)
    c2 = s.counters
    assert c2.frames_rx > c1.frames_rx, f"frames_rx did not grow ({c1.frames_rx} -> {c2.frames_rx})"
    return f"frames_rx {c1.frames_rx} -> {c2.frames_rx}"


#: every check, in the order run
CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("hello / version", check_hello),
    ("version negotiation", check_version_negotiation),
    ("ping", check_ping),
    ("audio loopback per timeslot", check_audio_loopback),
    ("CAS set/get all channels", check_cas_all_channels),
    ("CAS 0000 refused", check_cas_0000_refused),
    ("HDLC frames both ways", check_hdlc_both_ways),
    ("alarms on injected faults", check_alarms_on_faults),
    ("out-of-range span/timeslot", check_out_of_range),
    ("garbage answered, link survives", check_garbage_survives),
    ("counters", check_counters),
]


def find_hdlc_pair(board: WireBoard, a: int, b: int) -> tuple[int, int, int] | None:
    """The first back-to-back pair (A,B first, then 2k,2k+1) with a common HDLC timeslot."""
    pairs = [(a, b)] + [(i, i + 1) for i in range(0, len(board.spans) - 1, 2)]
    for x, y in pairs:
        if max(x, y) >= len(board.spans):
            continue
        common = sorted(set(board.span(x).config.hdlc) & set(board.span(y).config.hdlc))
        if common:
            return x, y, common[0]
    return None


def run(url: str, pair: tuple[int, int] = (0, 1), timeout: float = 5.0,
        only: list[str] | None = None) -> list[CheckResult]:
    """Run the checks against the card at ``url``; a card that cannot be opened fails 'hello'."""
    results: list[CheckResult] = []
    t0 = time.monotonic()
    try:
        board = WireBoard(url=url, timeout=timeout, name="cti-sim conformance")
    except BoardError as exc:
        return [CheckResult("hello / version", FAIL, f"cannot open {url}: {exc}", time.monotonic() - t0)]
    ctx = Context(url, board, pair[0], pair[1], timeout=timeout)
    try:
        ctx.hdlc_pair = find_hdlc_pair(board, *pair)
        for name, fn in CHECKS:
            if only and name not in only and fn.__name__ not in only:
                continue
            t = time.monotonic()
            try:
                detail, status = fn(ctx), PASS
            except Skip as exc:
                detail, status = str(exc), SKIP
            except AssertionError as exc:
                detail, status = str(exc) or "assertion failed", FAIL
            except Exception as exc:  # a check must report, never abort the run
                detail, status = f"{type(exc).__name__}: {exc}", FAIL
            results.append(CheckResult(name, status, detail, time.monotonic() - t))
            if name == "hello / version" and status == FAIL:
                break
    finally:
        board.close()
    return results

"""Checks that speak the wire protocol itself over a second, raw connection: what a host
must be able to rely on (negotiation, refusals and their precedence, garbage, overflow,
several hosts at once, the test vectors of docs/wire-protocol.md). Other backends skip them.
"""
from __future__ import annotations

import time

from drivers.wire import protocol as P

from .context import Context, RawLink, Skip, wire_only
from .vectors import load_vectors, replay


def check_version_negotiation(ctx: Context) -> str:
    raw = RawLink(wire_only(ctx), ctx.timeout)
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
    w = ctx.wire
    if w is None:
        raise Skip("not a wire-protocol card")
    for payload in (b"", b"x" * 1000):
        got = w.ping(payload)
        assert got == payload, f"PONG carried {len(got)} octets instead of {len(payload)}"
    return "PONG echoes the payload"


def check_cas_0000_refused(ctx: Context) -> str:
    b = ctx.board
    url = wire_only(ctx)
    if b.span(ctx.a).config.signalling != "cas" or b.span(ctx.b).config.signalling != "cas":
        raise Skip("the pair signals CCS")
    before = b.span(ctx.b).cas(1)
    raw = RawLink(url, ctx.timeout)
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


def check_out_of_range(ctx: Context) -> str:
    """Refusals and their precedence (docs/wire-protocol.md "Errors"): a span or timeslot
    that does not exist is OUT_OF_RANGE whatever the span's configuration; an existing
    timeslot used for what the span is not configured for is NOT_CONFIGURED."""
    url = wire_only(ctx)
    n = len(ctx.board.spans)
    a = ctx.board.span(ctx.a)
    raw = RawLink(url, ctx.timeout)
    try:
        raw.hello()
        cases = [
            (P.encode_raw(P.MsgType.CAS_SET, n, b"\x01\x09"), P.ErrorCode.OUT_OF_RANGE, f"span {n}"),
            (P.encode_raw(P.MsgType.CAS_SET, 0xFE, b"\x01\x09"), P.ErrorCode.OUT_OF_RANGE, "span 254"),
            (P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x00\x09"), P.ErrorCode.OUT_OF_RANGE, "CAS on TS0"),
            (P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x10\x09"), P.ErrorCode.OUT_OF_RANGE, "CAS on TS16"),
            (P.encode_raw(P.MsgType.CAS_SET, ctx.a, b"\x20\x09"), P.ErrorCode.OUT_OF_RANGE, "CAS on TS32"),
            (P.encode(P.Audio(ctx.a, 0, (0,), b"\xd5" * 8)), P.ErrorCode.OUT_OF_RANGE, "audio on TS0"),
            (P.encode(P.CountersQuery(n)), P.ErrorCode.OUT_OF_RANGE, f"COUNTERS_QUERY span {n}"),
            (P.encode_raw(P.MsgType.HDLC_FRAME, ctx.a, b"\x20abc"), P.ErrorCode.OUT_OF_RANGE, "HDLC on TS32"),
        ]
        voice = [ts for ts in range(1, 32) if ts != 16 and ts not in a.config.hdlc]
        if voice:
            cases.append((P.encode(P.HdlcFrame(ctx.a, voice[0], b"abc")), P.ErrorCode.NOT_CONFIGURED,
                          f"HDLC on voice TS{voice[0]}"))
        if a.config.signalling == "ccs":
            cases.append((P.encode(P.CasSet(ctx.a, voice[0], 9)), P.ErrorCode.NOT_CONFIGURED,
                          f"CAS on voice TS{voice[0]} of a CCS span"))
        extra_hdlc = [ts for ts in a.config.hdlc if ts != 16]     # TS16 never carries audio at all
        if extra_hdlc:
            ts = extra_hdlc[0]
            cases.append((P.encode(P.Audio(ctx.a, 0, (ts,), b"\xd5" * 8)), P.ErrorCode.NOT_CONFIGURED,
                          f"audio on HDLC TS{ts}"))
        for raw_msg, code, what in cases:
            raw.send(raw_msg)
            raw.expect_error(code, what)
        raw.ping()
    finally:
        raw.close()
    ctx.wait(0)
    return f"{len(cases)} bad requests refused with the documented code, link alive"


def check_garbage_survives(ctx: Context) -> str:
    url = wire_only(ctx)
    raw = RawLink(url, ctx.timeout)
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
    raw = RawLink(url, ctx.timeout)
    raw.hello()
    raw.send(P.encode(P.Ping(b"x" * 100))[:40])
    raw.close()
    ctx.wait(0)
    return "garbage, unknown type, malformed, wrong version: ERROR each, link alive; peer death isolated"


def check_several_hosts(ctx: Context) -> str:
    """Three more hosts at once (four with ours, docs/wire-protocol.md "Sizes and timings"):
    each completes its own handshake and gets CAS and alarm changes as they happen; one
    host's audio subscription does not change another's; one leaving disturbs no other."""
    url = wire_only(ctx)
    b = ctx.board
    hosts = [RawLink(url, ctx.timeout) for _ in range(3)]
    try:
        for h in hosts:
            h.hello()
        hosts[0].send(P.encode(P.AudioSubscribe(ctx.b, (1,))))
        if b.span(ctx.a).config.signalling == "cas" and b.span(ctx.b).config.signalling == "cas":
            ts = next(t for t in range(1, 32) if t != 16 and t not in b.span(ctx.a).config.hdlc)
            b.span(ctx.a).set_cas(ts, 0xD)
            ctx.wait()
            def changed(m: object, t: int = ts) -> bool:
                return isinstance(m, P.CasChanged) and m.span == ctx.b and m.timeslot == t and m.abcd == 0xD

            for i, h in enumerate(hosts):
                h.expect(changed, f"CAS_CHANGED to host {i + 2}")
            b.span(ctx.a).set_cas(ts, 0x9)
        elif ctx.hdlc_pair is not None:
            x, y, hts = ctx.hdlc_pair
            b.span(x).hdlc(hts).send(b"to every host")
            ctx.wait()
            for i, h in enumerate(hosts):
                h.expect(lambda m: isinstance(m, P.HdlcFrame) and m.span == y and m.frame == b"to every host",
                         f"HDLC_FRAME to host {i + 2}")
            b.span(y).hdlc(hts).recv_all()
        ctx.wait(0.1)
        for h in hosts:
            h.pump(0.2)
        audio0 = [m for m in hosts[0].items if isinstance(m, P.Audio)]
        others = [m for h in hosts[1:] for m in h.items if isinstance(m, P.Audio)]
        assert audio0 and all(m.timeslots == (1,) for m in audio0), "host 2 did not get its TS1 audio"
        assert not others, "a host got audio it never subscribed to"
        hosts.pop(0).close()
        ctx.wait(0.1)
        for h in hosts:
            h.ping()
    finally:
        for h in hosts:
            h.close()
    return "4 hosts at once: CAS changes or HDLC frames to each, audio per subscription, one leaving harms none"


def check_overflow(ctx: Context) -> str:
    """A host that sends audio faster than the line carries it fills the timeslot's queue
    (at least 2 s, docs/wire-protocol.md "Sizes and timings"): the card answers ERROR
    OVERFLOW, drops that message only, and keeps serving. Runs last: the queue stays full
    until the line has carried it (a virtual-time card is advanced until it has)."""
    url = wire_only(ctx)
    b = ctx.board
    ts = [t for t in range(1, 32) if t != 16 and t not in b.span(ctx.b).config.hdlc][-1]
    chunk = b"\xd5" * 60000
    raw = RawLink(url, ctx.timeout)
    sent = 0.0
    try:
        raw.hello()
        for _ in range(40):           # up to 300 s of audio
            raw.send(P.encode(P.Audio(ctx.b, 0, (ts,), chunk)))
            sent += len(chunk) / 8000
            raw.pump(0.01)
            if any(isinstance(m, P.Error) and m.code == P.ErrorCode.OVERFLOW for m in raw.items):
                break
        err = raw.expect_error(P.ErrorCode.OVERFLOW, f"{sent:g} s of audio queued on TS{ts} at once")
        assert err.ref_type == P.MsgType.AUDIO, f"OVERFLOW names type {err.ref_type}, not AUDIO"
        assert sent >= 2.0, f"OVERFLOW after only {sent:g} s of audio (at least 2 s must be queued)"
        raw.ping()
    finally:
        raw.close()
    if ctx.virtual:
        ctx.wait(sent + 1)
    return f"OVERFLOW after {sent:g} s queued on TS{ts}, link alive"


def check_test_vectors(ctx: Context) -> str:
    """Replay the hex exchanges of docs/wire-protocol.md's test-vector file."""
    url = wire_only(ctx)
    vectors = load_vectors()
    raw = RawLink(url, ctx.timeout)
    t0 = time.monotonic()
    try:
        raw.hello()
        raw.ping(b"handshake done")          # what HELLO_ACK brings (CAS_STATE, ALARMS) is read
        raw.items.clear()
        replayed = replay(raw, vectors, ccs=ctx.board.span(0).config.signalling == "ccs")
    finally:
        raw.close()
    return f"{replayed} of {len(vectors)} vectors replayed in {time.monotonic() - t0:.1f} s"

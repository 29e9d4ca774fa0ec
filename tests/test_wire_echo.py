"""The wire protocol's capability report and the card's own echo canceller.

A card that cancels line echo itself says so in CAPABILITIES (bit ECHO_CANCEL per span);
``span.echo_canceller()`` then sends ECHO_SET to the card and the host leaves the audio
alone; otherwise (a card without the bit, one that does not know CAPS_QUERY, a loopback
plug) the host cancels. Both paths are run end to end on the simulator served over TCP:
span 0 plays a prompt, span 1 (the caller's line, on the card) returns it through a G.168
hybrid model and types DTMF over it.
"""
from __future__ import annotations

import functools
import socket

import numpy as np
import pytest

import drivers
from drivers.base import EchoConfig
from drivers.wire import protocol as P

pytest.importorskip("_boardcore.e1frame")

TS = 5
N = 160


# ---- the messages -----------------------------------------------------------------------

def test_messages_round_trip():
    for msg in (P.CapsQuery(), P.Capabilities((1, 0, 1)), P.Capabilities(()), P.EchoSet(3, 5, 128),
                P.EchoSet(0, 31, 0)):
        assert P.decode(P.encode(msg)) == msg
    assert P.encode(P.EchoSet(2, 5, 64)) == bytes.fromhex("e101600200020540")
    assert P.encode(P.Capabilities((1,))) == bytes.fromhex("e10108ff00050100000001")


def test_capabilities_reserved_bits_and_extra_octets():
    caps = P.decode(P.encode_raw(P.MsgType.CAPABILITIES, P.BOARD, bytes.fromhex("02ffff000100000000") + b"later"))
    assert isinstance(caps, P.Capabilities)
    assert caps.of(0) == P.Capability.ECHO_CANCEL           # reserved bits ignored
    assert caps.of(1) == P.Capability.NONE
    assert caps.of(7) == P.Capability.NONE                  # spans not listed: none


@pytest.mark.parametrize("mtype,payload", [
    (P.MsgType.CAPABILITIES, b""), (P.MsgType.CAPABILITIES, bytes.fromhex("02000000")),
    (P.MsgType.CAPS_QUERY, b"x"), (P.MsgType.ECHO_SET, b"\x05"), (P.MsgType.ECHO_SET, b"\x05\x40\x00"),
])
def test_malformed_messages_are_refused(mtype, payload):
    with pytest.raises(P.WireProtocolError):
        P.decode(P.encode_raw(mtype, 0, payload))


# ---- the simulated card -------------------------------------------------------------------

def _serve(echo_on_card: bool):
    from simulator.server import SimServer

    card = drivers.open("sim", spans=2, cross_connect=[(0, 1)])
    server = SimServer(card, port=0, echo_on_card=echo_on_card)
    port = server.start_in_thread()
    return card, server, f"socket://127.0.0.1:{port}"


def _raw_request(url: str, *msgs: P.Message) -> list[P.Message]:
    """Send HELLO then ``msgs`` on a bare socket; everything the card answers until a PONG."""
    host, port = url.removeprefix("socket://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(P.encode(P.Hello()) + b"".join(P.encode(m) for m in msgs) + P.encode(P.Ping(b"end")))
        dec, out = P.Decoder(), []
        while not any(isinstance(m, P.Pong) for m in out):
            data = sock.recv(65536)
            assert data, "the card closed the connection"
            out += [m for m in dec.feed(data) if not isinstance(m, P.BadMessage)]
    return out


@pytest.mark.parametrize("on_card", [True, False])
def test_card_reports_and_refuses_by_its_capability(on_card):
    card, server, url = _serve(on_card)
    try:
        got = _raw_request(url, P.CapsQuery(), P.EchoSet(0, TS, 64), P.EchoSet(0, TS, 129),
                           P.EchoSet(0, 16, 64), P.Capabilities((1,)))
        caps = [m for m in got if isinstance(m, P.Capabilities)]
        assert len(caps) == 1 and caps[0].spans == ((1, 1) if on_card else (0, 0))
        errors = [(m.ref_type, P.ErrorCode(m.code)) for m in got if isinstance(m, P.Error)]
        ours = P.MsgType.ECHO_SET
        if on_card:
            assert errors[:2] == [(ours, P.ErrorCode.OUT_OF_RANGE), (ours, P.ErrorCode.OUT_OF_RANGE)]
            assert card.span(0).echo_configs() == {TS: EchoConfig(64)}
        else:
            assert errors[0] == (ours, P.ErrorCode.UNSUPPORTED)
            assert card.span(0).echo_configs() == {}
        assert errors[-1] == (P.MsgType.CAPABILITIES, P.ErrorCode.UNKNOWN_TYPE)   # card -> host only
    finally:
        server.stop()
        card.close()


def test_host_follows_the_card():
    card, server, url = _serve(True)
    board = drivers.open("wire", url=url)
    try:
        span = board.span(0)
        assert span.echo_on_card and span.capabilities == P.Capability.ECHO_CANCEL
        span.echo_canceller(TS, tail_ms=128)
        board.advance(0.02)                 # requests are answered in order: ECHO_SET is done
        assert card.span(0).echo_configs() == {TS: EchoConfig(128)}
        assert "_host_echo" not in span.__dict__          # the host does not cancel too
        span.echo_canceller(TS, tail_ms=None)
        board.advance(0.02)
        assert card.span(0).echo_configs() == {}
    finally:
        board.close()
        server.stop()
        card.close()


def test_loopback_and_silent_cards_have_no_capabilities():
    board = drivers.open("wire", url="loop://", spans=2, timeout=2)
    try:
        assert [s.echo_on_card for s in board.spans] == [False, False]
        board.span(0).echo_canceller(TS)
        assert "_host_echo" in board.span(0).__dict__      # the host cancels
    finally:
        board.close()


@functools.cache
def _barge_in(on_card: bool | None, seconds: float = 4.0, digits: str = "2580"):
    """Play a prompt on span 0 / TS 5 from the host over the wire; span 1 (on the card)
    echoes it (ERL 6 dB) and types ``digits`` from 2 s. ``on_card``: the card cancels
    (True), the host does (False), nobody (None). Returns (what the host read, digits heard)."""
    from _boardcore.dtmf import DtmfDetector, DtmfGenerator
    from _boardcore.g711 import alaw_decode, alaw_encode
    from bench.bench_echo import hybrid, i16, speech_band_noise

    rng = np.random.default_rng(5)
    card, server, url = _serve(bool(on_card))
    board = drivers.open("wire", url=url)
    try:
        ours, line = board.span(0), card.span(1)
        assert ours.echo_on_card == bool(on_card)
        if on_card is not None:
            ours.echo_canceller(TS, tail_ms=64)
        n = int(seconds * 8000)
        prompt = i16(speech_band_noise(n, -12.0, rng))
        h = hybrid(8, 6, 6.0, rng)
        keyed = np.zeros(n)
        dt = DtmfGenerator(level_dbm0=-24.0, on_ms=60, off_ms=60).generate(digits).astype(np.float64)
        keyed[16000:16000 + dt.size] = dt[:n - 16000]
        heard = np.zeros(0)
        read, got = [], ""
        det = DtmfDetector(1)
        for k in range(0, n, N):
            ours.write_audio(TS, alaw_encode(prompt[k:k + N]))
            board.advance(0.02)
            while (blk := line.read_audio([TS])) is not None:
                heard = np.concatenate([heard, np.asarray(alaw_decode(blk.timeslot(TS)), np.float64)])
                m = heard.size
                echo = np.convolve(heard[max(0, m - N - h.size):], h)[-h.size - N + 1:][:N]
                line.write_audio(TS, alaw_encode(i16(echo + keyed[m - N:m])))
            while (out := ours.read_audio([TS])) is not None:
                pcm = np.asarray(alaw_decode(out.timeslot(TS)), np.int16)
                read.append(pcm)
                got += "".join(e.digit for e in det.process(pcm[None, :], len(read) * 0.02) if e.kind == "start")
        return np.concatenate(read), got
    finally:
        board.close()
        server.stop()
        card.close()


@pytest.mark.system
@pytest.mark.parametrize("on_card", [True, False])
def test_echo_cancelled_by_card_or_host_over_the_wire(on_card):
    from bench.bench_echo import erle_db

    raw, plain = _barge_in(None)
    out, digits = _barge_in(on_card)
    quiet = slice(int(1.0 * 8000), int(1.9 * 8000))        # echo only, after convergence
    assert np.mean(raw[quiet].astype(float) ** 2) > 1e4
    assert erle_db(raw[quiet], out[quiet]) >= 20.0
    assert digits == "2580"
    assert plain == ""

"""Wire protocol codec (drivers.wire.protocol): round trips, bad input, resync."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, strategies as st

from drivers.base import WireProtocolError
from drivers.wire import protocol as P

ts_lists = st.lists(st.integers(0, 31), unique=True, max_size=31).map(tuple)
spans = st.integers(0, 255)
times = st.integers(0, 2**40).map(lambda us: us / 1e6)


@st.composite
def audio(draw):
    tss = draw(st.lists(st.integers(0, 31), unique=True, min_size=1, max_size=31).map(
        lambda l: tuple(sorted(l))))
    per = draw(st.integers(0, 200))
    data = draw(st.binary(min_size=per * len(tss), max_size=per * len(tss)))
    return P.Audio(draw(spans), draw(st.integers(0, 2**32 - 1)), tss, data)


messages = st.one_of(
    st.builds(P.Hello, st.integers(0, 255), st.integers(0, 255), st.text(max_size=20)),
    st.builds(P.HelloAck, st.integers(0, 255),
              st.lists(st.builds(P.SpanInfo, st.sampled_from(["crc4", "df"]),
                                 st.sampled_from(["cas", "ccs"]),
                                 ts_lists.map(lambda t: tuple(sorted(t)))), max_size=8).map(tuple),
              st.text(max_size=20)),
    st.builds(P.Ping, st.binary(max_size=64)),
    st.builds(P.Pong, st.binary(max_size=64)),
    st.builds(P.Error, st.integers(0, 0xFFFF), st.integers(0, 255), st.text(max_size=40), spans),
    st.builds(P.Ok, st.integers(0, 255), spans),
    audio(),
    st.builds(P.AudioSubscribe, spans, ts_lists.map(lambda t: tuple(sorted(t)))),
    st.builds(P.CasSet, spans, st.integers(0, 255), st.integers(0, 255)),
    st.builds(P.CasChanged, spans, st.integers(0, 255), st.integers(0, 255), times),
    st.builds(P.CasQuery, spans),
    st.builds(P.CasState, spans, st.lists(st.integers(0, 15), min_size=31, max_size=31).map(tuple)),
    st.builds(P.HdlcFrame, spans, st.integers(0, 31), st.binary(min_size=1, max_size=300)),
    st.builds(P.Alarms, spans, st.integers(0, 0xFFFF), times),
    st.builds(P.CountersQuery, spans),
    st.builds(P.CountersMsg, spans, st.lists(st.integers(0, 2**64 - 1), max_size=20).map(tuple)),
    st.builds(P.Advance, times),
    st.builds(P.Time, times),
    st.builds(P.FaultMsg, spans, st.integers(0, 255),
              st.floats(allow_nan=False, allow_infinity=False)),
)


@given(messages)
def test_every_message_round_trips(msg):
    assert P.decode(P.encode(msg)) == msg


@pytest.mark.system
@given(st.lists(messages, max_size=12), st.data())
def test_stream_split_anywhere_decodes_the_same(msgs, data):
    stream = b"".join(P.encode(m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    dec = P.Decoder()
    got = []
    last = 0
    for c in cuts + [len(stream)]:
        got += dec.feed(stream[last:c])
        last = c
    assert got == list(msgs)
    assert dec.buffered == 0


def test_one_octet_at_a_time():
    msgs = [P.Hello(name="host"), P.CasSet(1, 5, 0x9), P.HdlcFrame(0, 16, b"\x01\x02\x03")]
    dec = P.Decoder()
    got = []
    for b in b"".join(P.encode(m) for m in msgs):
        got += dec.feed(bytes([b]))
    assert got == msgs


def test_header_layout_is_the_documented_one():
    raw = P.encode(P.CasSet(span=2, timeslot=17, abcd=0xB))
    assert raw == bytes([0xE1, 1, 0x20, 2, 0, 2, 17, 0xB])
    raw = P.encode(P.Audio(span=1, seq=7, timeslots=(1, 3), data=b"\xd5" * 4))
    assert raw[:6] == bytes([0xE1, 1, 0x10, 1, 0, 14])
    assert struct.unpack(">IIH", raw[6:16]) == (7, 0b1010, 2)


@pytest.mark.parametrize("cut", [1, 3, 5, 6, 9])
def test_truncated_message_is_an_error(cut):
    raw = P.encode(P.CasChanged(0, 1, 0x9, 1.5))
    with pytest.raises(WireProtocolError, match="truncated"):
        P.decode(raw[:cut])


def test_unknown_type_is_skipped_and_the_stream_stays_in_sync():
    good = P.encode(P.CasSet(0, 1, 0x9))
    unknown = P.encode_raw(0x7F, 0, b"whatever")
    items = P.Decoder().feed(unknown + good)
    assert isinstance(items[0], P.BadMessage) and items[0].code == P.ErrorCode.UNKNOWN_TYPE
    assert "0x7f" in str(items[0].error)
    assert items[1] == P.CasSet(0, 1, 0x9)


@pytest.mark.parametrize("mtype,payload", [
    (P.MsgType.CAS_SET, b"\x01"),                  # short
    (P.MsgType.CAS_SET, b"\x01\x02\x03"),          # long
    (P.MsgType.AUDIO, struct.pack(">IIH", 0, 0b110, 160) + b"x" * 100),
    (P.MsgType.CAS_STATE, b"\x01" * 30),
    (P.MsgType.COUNTERS, b"\x03" + b"\x00" * 16),
    (P.MsgType.HELLO_ACK, b"\x01\x02" + b"\x00" * 6),
    (P.MsgType.HDLC_FRAME, b"\x10"),
    (P.MsgType.OK, b""),
])
def test_malformed_payload_is_reported_not_raised(mtype, payload):
    dec = P.Decoder()
    items = dec.feed(P.encode_raw(mtype, 0, payload) + P.encode(P.Ping(b"after")))
    assert isinstance(items[0], P.BadMessage)
    assert items[0].code == P.ErrorCode.MALFORMED and items[0].type == mtype
    assert items[1] == P.Ping(b"after")
    with pytest.raises(WireProtocolError):
        P.decode(P.encode_raw(mtype, 0, payload))


def test_garbage_is_skipped_up_to_the_next_header():
    good = P.encode(P.CasSet(0, 3, 0xD))
    items = P.Decoder().feed(b"\x00\xff\xe1\x00junk" + good + b"\x13\x37" + good)
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["BadMessage", "CasSet", "BadMessage", "CasSet"]
    assert items[0].code == P.ErrorCode.GARBAGE and items[0].octets == 8


@pytest.mark.system
@given(st.binary(max_size=400), st.lists(messages, min_size=1, max_size=4))
def test_random_garbage_never_crashes_and_a_later_message_survives(junk, msgs):
    dec = P.Decoder()
    items = dec.feed(junk)
    # however the garbage parsed, a PING flood of headers resynchronises the stream
    tail = b"".join(P.encode(m) for m in msgs)
    items += dec.feed(b"\x00" * (P.HEADER_SIZE + P.MAX_PAYLOAD) + tail)
    assert all(isinstance(i, (P.BadMessage,) + P.Message.__args__) for i in items)
    assert items[-len(msgs):] == msgs


def test_wrong_version_is_reported():
    raw = P.encode_raw(P.MsgType.CAS_SET, 0, b"\x01\x09", version=2)
    items = P.Decoder().feed(raw + P.encode(P.Ping()))
    assert items[0].code == P.ErrorCode.BAD_VERSION
    assert items[1] == P.Ping()


@pytest.mark.parametrize("msg", [
    P.CasSet(0, 256, 1), P.CasSet(300, 1, 1), P.AudioSubscribe(0, (32,)),
    P.Audio(0, 0, (1, 2), b"odd"), P.Audio(0, 0, (1, 1), b"ab"), P.CasState(0, (1,) * 30),
    P.Alarms(0, 1, -1.0),
])
def test_encoding_out_of_range_fields_raises(msg):
    with pytest.raises(WireProtocolError):
        P.encode(msg)


def test_encoding_a_non_message_is_a_type_error():
    with pytest.raises(TypeError):
        P.encode("CAS_SET")


def test_counters_grow_at_the_end():
    msg = P.CountersMsg(0, (5, 6))                    # an older peer with two counters
    c = P.decode(P.encode(msg)).counters()
    assert (c.frames_rx, c.frames_tx, c.slips) == (5, 6, 0)


# ---------------------------------------------------------------- the client (WireBoard)

import socket
import threading

import drivers
from drivers.base import Alarm, AlarmChanged, BoardClosed, BoardError, CasChanged, ConfigError


class FakeCard:
    """A scripted card on a TCP socket: answers HELLO, then sends what the test says."""

    def __init__(self, spans=2):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.spans = spans
        self.conn = None
        self.received = P.Decoder()
        self.got = []
        self.ready = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.conn, _ = self.lsock.accept()
        buf = P.Decoder()
        while True:
            data = self.conn.recv(4096)
            msgs = buf.feed(data)
            if any(isinstance(m, P.Hello) for m in msgs):
                break
        info = P.SpanInfo("crc4", "cas", (31,))
        self.conn.sendall(P.encode(P.HelloAck(1, (info,) * self.spans, "fake")))
        self.ready.set()

    def send(self, raw: bytes):
        self.ready.wait(5)
        self.conn.sendall(raw)

    def close(self):
        if self.conn:
            self.conn.close()
        self.lsock.close()


@pytest.fixture
def fake():
    card = FakeCard()
    board = drivers.open("wire", url=f"socket://127.0.0.1:{card.port}", timeout=3)
    yield card, board
    board.close()
    card.close()


def wait_for(cond, timeout=3.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_client_handshake_and_span_mirror(fake):
    card, board = fake
    assert board.version == 1 and board.card_name == "fake" and len(board.spans) == 2
    assert board.span(1).config.hdlc == (31,)
    card.send(P.encode(P.CasChanged(1, 5, 0x3, 1.5)) + P.encode(P.Alarms(0, Alarm.RAI.value, 1.6))
              + P.encode(P.HdlcFrame(1, 31, b"\x01\x02\x03")))
    assert wait_for(lambda: board.span(1).cas(5) == 0x3 and board.span(0).alarms == Alarm.RAI)
    assert wait_for(lambda: board.span(1).hdlc(31).recv() == b"\x01\x02\x03")
    evs = board.poll_events()
    assert CasChanged(1, 5, 0x3, 1.5) in evs and AlarmChanged(0, Alarm.RAI, 1.6) in evs


@pytest.mark.parametrize("bad,what", [
    (b"\x00\x01garbage", "garbage"),
    (P.encode_raw(0x7E, 0, b"?"), "unknown message type"),
    (P.encode_raw(P.MsgType.CAS_CHANGED, 0, b"\x01"), "CAS_CHANGED payload"),
    (P.encode(P.CasChanged(7, 1, 0x9)), "span 7"),
    (P.encode(P.HdlcFrame(0, 5, b"abc")), "not an HDLC channel"),
    (P.encode(P.CasSet(0, 1, 0x9)), "not sent by a card"),
])
def test_client_bad_input_raised_once_and_nothing_else_lost(fake, bad, what):
    card, board = fake
    card.send(P.encode(P.CasChanged(0, 1, 0x1, 1.0)) + bad + P.encode(P.CasChanged(0, 2, 0x2, 1.1)))
    assert wait_for(lambda: board.span(0).cas(2) == 0x2)
    with pytest.raises(WireProtocolError, match=what):
        board.poll_events()
    evs = board.poll_events()                       # the error was reported once; events kept
    assert [(e.timeslot, e.abcd) for e in evs] == [(1, 0x1), (2, 0x2)]
    assert board.protocol_errors
    card.send(P.encode(P.CasChanged(0, 3, 0x3, 1.2)))             # the link keeps running
    assert wait_for(lambda: board.span(0).cas(3) == 0x3)


def test_client_peer_disconnect_mid_frame(fake):
    card, board = fake
    card.send(P.encode(P.CasChanged(0, 3, 0x5, 2.0)) + P.encode(P.CasChanged(0, 4, 0x6, 2.0))[:5])
    assert wait_for(lambda: board.span(0).cas(3) == 0x5)
    card.conn.close()
    assert wait_for(lambda: bool(board.closed))
    with pytest.raises(WireProtocolError, match="mid-message"):
        board.poll_events()
    evs = board.poll_events()
    assert CasChanged(0, 3, 0x5, 2.0) in evs                        # nothing received is lost
    assert {e.span for e in evs if isinstance(e, AlarmChanged) and e.alarms == Alarm.LOS} == {0, 1}
    with pytest.raises(BoardClosed):
        board.poll_events()
    with pytest.raises(BoardClosed):
        board.span(0).set_cas(1, 0x9)
    with pytest.raises(BoardClosed):
        board.ping()


def test_client_unanswered_request_times_out(fake):
    card, board = fake
    board.timeout = 0.3
    with pytest.raises(BoardError, match="no COUNTERS reply"):
        board.span(0).counters
    card.send(P.encode(P.Error(P.ErrorCode.UNSUPPORTED, P.MsgType.ADVANCE, "real time")))


def test_client_out_of_range_numbers(fake):
    card, board = fake
    s = board.span(0)
    for ts in (0, 16, 32, 99):
        with pytest.raises(ConfigError):
            s.set_cas(ts, 0x9)
    with pytest.raises(ConfigError):
        s.set_cas(1, 0)
    with pytest.raises(ConfigError):
        s.write_audio(31, b"\xd5")                   # TS31 is an HDLC channel on this card
    with pytest.raises(ConfigError):
        board.span(2)
    with pytest.raises(ConfigError):
        s.hdlc(16)
    with pytest.raises(ValueError):
        s.hdlc(31).send(b"")
    with pytest.raises(ConfigError):
        board.advance(-1)


def test_client_cannot_open_a_dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(BoardError, match="cannot open"):
        drivers.open("wire", url=f"socket://127.0.0.1:{port}")


def test_loop_url_is_a_loopback_plug():
    board = drivers.open("wire", url="loop://", spans=2, timeout=2)
    try:
        s = board.span(1)
        s.set_cas(9, 0x4)
        s.write_audio(3, b"\x11" * 160)
        assert wait_for(lambda: s.cas(9) == 0x4)
        assert wait_for(lambda: (blk := s.read_audio([3])) is not None and blk.data == b"\x11" * 160)
        board.advance(0.01)                           # no virtual time on a loop: waits, then syncs
        assert board.ping(b"echo") == b"echo"
    finally:
        board.close()


@pytest.mark.parametrize("hexstr,msg", [
    ("e1 01 01 ff 00 05 01 01 63 74 69", P.Hello(1, 1, "cti")),
    ("e1 01 20 02 00 02 11 0b", P.CasSet(2, 17, 0xB)),
    ("e1 01 05 00 00 03 00 06 20", P.Error(P.ErrorCode.BAD_CAS, P.MsgType.CAS_SET, "", 0)),
    ("e1 01 10 01 00 0e 00 00 00 07 00 00 00 0a 00 02 d5 d5 d5 d5", P.Audio(1, 7, (1, 3), b"\xd5" * 4)),
])
def test_the_examples_in_docs_wire_protocol_md(hexstr, msg):
    raw = bytes.fromhex(hexstr)
    assert P.decode(raw) == msg and P.encode(msg) == raw


# ---------------------------------------------------------------- the card side (simulator server)

class FakeTransport:
    def __init__(self):
        self.out = bytearray()

    def write(self, data):
        self.out += data

    def is_closing(self):
        return False

    def get_write_buffer_size(self):
        return len(self.out)

    def get_extra_info(self, name):
        return ("fuzz", 0)


@pytest.fixture(scope="module")
def sim_server():
    pytest.importorskip("_boardcore.e1frame")
    from simulator.server import SimServer

    board = drivers.open("sim", spans=2, cross_connect=[(0, 1)])
    return SimServer(board, port=0)


def session(server):
    from simulator.server import ClientSession

    s = ClientSession(server)
    t = FakeTransport()
    s.connection_made(t)
    return s, t


def replies(t):
    items = P.Decoder().feed(bytes(t.out))
    t.out.clear()
    return items


@pytest.mark.system
@given(st.binary(max_size=300), st.lists(messages, max_size=5))
def test_server_session_survives_any_input(sim_server, junk, msgs):
    s, t = session(sim_server)
    try:
        s.data_received(P.encode(P.Hello()))
        s.data_received(junk)
        for m in msgs:
            s.data_received(P.encode(m))
        # flush whatever half message the junk left, then the link must still answer
        s.data_received(b"\x00" * (P.HEADER_SIZE + P.MAX_PAYLOAD) + P.encode(P.Ping(b"end")))
        got = replies(t)
        assert got[-1] == P.Pong(b"end")
        assert not any(isinstance(m, P.Error) and m.code == P.ErrorCode.INTERNAL for m in got)
    finally:
        s.connection_lost(None)


def test_server_refusals_carry_the_right_codes(sim_server):
    s, t = session(sim_server)
    s.data_received(P.encode(P.CasSet(0, 1, 0x9)))
    assert replies(t)[-1].code == P.ErrorCode.NO_HELLO
    s.data_received(P.encode(P.Hello(5, 9)))
    assert replies(t)[-1].code == P.ErrorCode.BAD_VERSION
    s.data_received(P.encode(P.Hello()))
    got = replies(t)
    assert isinstance(got[0], P.HelloAck) and len(got[0].spans) == 2
    assert {type(m).__name__ for m in got[1:]} == {"CasState", "Alarms"}
    cases = [
        (P.CasSet(0, 1, 0), P.ErrorCode.BAD_CAS),
        (P.CasSet(0, 1, 16), P.ErrorCode.BAD_CAS),
        (P.CasSet(2, 1, 9), P.ErrorCode.OUT_OF_RANGE),
        (P.CasSet(0, 16, 9), P.ErrorCode.OUT_OF_RANGE),
        (P.CasSet(0, 200, 9), P.ErrorCode.OUT_OF_RANGE),
        (P.HdlcFrame(0, 16, b"x"), P.ErrorCode.NOT_CONFIGURED),
        (P.AudioSubscribe(0, (0,)), P.ErrorCode.OUT_OF_RANGE),
        (P.Alarms(0, 1, 0.0), P.ErrorCode.UNKNOWN_TYPE),
        (P.FaultMsg(0, 99, 1.0), P.ErrorCode.OUT_OF_RANGE),
        (P.FaultMsg(0, P.Fault.BER, 5.0), P.ErrorCode.OUT_OF_RANGE),
        (P.Advance(4000.0), P.ErrorCode.OUT_OF_RANGE),
    ]
    for msg, code in cases:
        s.data_received(P.encode(msg))
        err = replies(t)[-1]
        assert isinstance(err, P.Error) and err.code == code and err.ref_type == msg.TYPE, (msg, err)
    s.data_received(P.encode(P.FaultMsg(0, P.Fault.LOS, 1.0)) + P.encode(P.Advance(0.1)))
    got = replies(t)
    assert P.Ok(P.MsgType.FAULT, 0) in got and isinstance(got[-1], P.Time)
    assert any(isinstance(m, P.Alarms) and m.span == 0 and m.alarms & Alarm.LOS.value for m in got)
    s.data_received(P.encode(P.FaultMsg(0, P.Fault.CLEAR, 0.0)) + P.encode(P.Advance(0.5)))
    s.connection_lost(None)


def test_several_clients_are_isolated():
    pytest.importorskip("_boardcore.e1frame")
    from simulator.server import SimServer

    card = drivers.open("sim", spans=2, cross_connect=[(0, 1)])
    server = SimServer(card, port=0)
    port = server.start_in_thread()
    url = f"socket://127.0.0.1:{port}"
    a = drivers.open("wire", url=url)
    b = drivers.open("wire", url=url)
    try:
        b.advance(0.1)                                            # frame alignment first
        a.span(0).subscribe([1])
        b.span(0).subscribe([2])
        a.send_raw(b"\x00garbage" + P.encode(P.Ping())[:4])     # a's stream is now mid-message
        b.span(1).set_cas(1, 0x5)
        b.span(1).write_audio(2, b"\x42" * 320)
        b.advance(0.2)
        assert b.span(0).cas(1) == 0x5
        assert wait_for(lambda: a.span(0).cas(1) == 0x5)         # CAS changes reach every client
        got = bytearray()
        while (blk := b.span(0).read_audio([2])) is not None:
            got += blk.data
        assert b"\x42" * 320 in got
        a.close()                                                 # a leaves mid-message
        b.advance(0.1)
        assert b.ping(b"still here") == b"still here"
        assert [e.code for e in b.remote_errors] == []            # b never saw a's garbage
    finally:
        b.close()
        server.stop()
        card.close()


@pytest.mark.parametrize("reply,match", [
    (P.encode(P.HelloAck(7, (), "future card")), "chose version 7"),
    (P.encode(P.Error(P.ErrorCode.BAD_VERSION, P.MsgType.HELLO, "no common version")), "refused the handshake"),
])
def test_client_handshake_failures(reply, match):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)

    def card():
        conn, _ = lsock.accept()
        conn.recv(100)
        conn.sendall(reply)
        conn.recv(100)
        conn.close()

    threading.Thread(target=card, daemon=True).start()
    try:
        with pytest.raises(BoardError, match=match):
            drivers.open("wire", url=f"socket://127.0.0.1:{lsock.getsockname()[1]}", timeout=3)
    finally:
        lsock.close()

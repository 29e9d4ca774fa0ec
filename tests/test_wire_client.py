"""The wire driver's per-block paths (drivers/wire/client.py): what a loop turn reads and writes.

On a real wire card these are our side's cost every 20 ms, so they are kept lean (one ring entry
per AUDIO, one cursor while every timeslot is read together, a turn's writes in one AUDIO per
span): these tests hold their meaning to the Board API's contract against a scripted card that
records everything the host sends.
"""
from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("serial", reason="pyserial (the wire driver's transport) is not installed")

import drivers
from drivers.base import VOICE_TIMESLOTS
from drivers.wire import protocol as P

VOICE = tuple(VOICE_TIMESLOTS)


class RecordingCard:
    """A card on a TCP socket: answers HELLO and CAPS_QUERY, records every message the host sends."""

    def __init__(self, spans: int = 2, signalling: str = "cas") -> None:
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.spans = spans
        self.signalling = signalling
        self.conn: socket.socket | None = None
        self.got: list[P.Message] = []
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.conn, _ = self.lsock.accept()
        dec = P.Decoder()
        while True:
            try:
                data = self.conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            for m in dec.feed(data):
                if isinstance(m, P.BadMessage):
                    continue
                if isinstance(m, P.Hello):
                    info = P.SpanInfo("crc4", self.signalling, ())
                    self.conn.sendall(P.encode(P.HelloAck(1, (info,) * self.spans, "recording")))
                    self.ready.set()
                elif isinstance(m, P.CapsQuery):
                    self.conn.sendall(P.encode(P.Capabilities((0,) * self.spans)))
                elif isinstance(m, P.Ping):
                    self.conn.sendall(P.encode(P.Pong(m.data, m.span)))
                else:
                    self.got.append(m)

    def send(self, *msgs: P.Message) -> None:
        self.ready.wait(5)
        assert self.conn is not None
        self.conn.sendall(b"".join(P.encode(m) for m in msgs))

    def audio(self, span: int, seq: int, fill: int | None = None) -> P.Audio:
        """Block ``seq`` of ``span``, every voice timeslot: octet (seq + ts) & 0xFF (or ``fill``)."""
        data = b"".join(bytes([(seq + ts) & 0xFF if fill is None else fill]) * 160 for ts in VOICE)
        return P.Audio(span, seq, VOICE, data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.lsock.close()


@pytest.fixture
def card() -> Iterator[tuple[RecordingCard, Any]]:
    c = RecordingCard()
    board = drivers.open("wire", url=f"socket://127.0.0.1:{c.port}", timeout=3)
    yield c, board
    board.close()
    c.close()


def wait_for(cond: Callable[[], object], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return False


def sent(c: RecordingCard, kind: type) -> list[Any]:
    return [m for m in list(c.got) if isinstance(m, kind)]


# ---------------------------------------------------------------- writing
def test_a_turns_writes_go_out_as_one_audio_per_span(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    board.span(0).write_audio(3, b"\x03" * 160)
    board.span(1).write_audio(5, b"\x05" * 160)
    board.span(0).write_audio(1, b"\x01" * 160)
    board.span(0).write_audio(2, bytearray(b"\x02" * 160))     # any bytes-like
    board.poll_events()                                       # the end of a loop turn
    assert wait_for(lambda: len(sent(c, P.Audio)) == 2)
    by_span = {m.span: m for m in sent(c, P.Audio)}
    assert by_span[0].timeslots == (1, 2, 3)
    assert by_span[0].data == b"\x01" * 160 + b"\x02" * 160 + b"\x03" * 160
    assert by_span[1].timeslots == (5,) and by_span[1].data == b"\x05" * 160


def test_audio_keeps_its_place_among_other_messages(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    s = board.span(0)
    s.write_audio(1, b"\xaa" * 160)
    s.set_cas(2, 0x9)                                         # sends the audio written before it
    s.write_audio(1, b"\xbb" * 160)
    board.poll_events()
    assert wait_for(lambda: len(c.got) == 3)
    kinds = [(type(m).__name__, m.data[:1] if isinstance(m, P.Audio) else None) for m in c.got]
    assert kinds == [("Audio", b"\xaa"), ("CasSet", None), ("Audio", b"\xbb")]


def test_audio_written_by_a_user_that_never_polls_still_goes_out(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    board.span(1).write_audio(7, b"\x07" * 160)
    assert wait_for(lambda: len(sent(c, P.Audio)) == 1, timeout=2.0)   # the reader thread sends it
    assert sent(c, P.Audio)[0].data == b"\x07" * 160


def test_a_long_prompt_goes_out_in_chunks_in_order(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    prompt = bytes(range(256)) * 40                           # 10 240 octets, 1.28 s
    board.span(0).write_audio(9, prompt)
    board.span(0).write_audio(9, b"\x11" * 160)
    board.poll_events()
    assert wait_for(lambda: sum(len(m.data) for m in sent(c, P.Audio)) == len(prompt) + 160)
    msgs = sent(c, P.Audio)
    assert all(m.timeslots == (9,) and len(m.data) <= 1600 for m in msgs)
    assert b"".join(m.data for m in msgs) == prompt + b"\x11" * 160


def test_writes_are_checked_before_they_are_queued(card: tuple[RecordingCard, Any]) -> None:
    _c, board = card
    from drivers.base import ConfigError
    for ts in (0, 16, 32):
        with pytest.raises(ConfigError):
            board.span(0).write_audio(ts, b"\xd5" * 160)
    with pytest.raises(TypeError):
        board.span(0).write_audio(1, "not audio")


# ---------------------------------------------------------------- reading
def test_whole_and_partial_reads_keep_the_board_api_cursors(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    s = board.span(0)
    s.subscribe()
    c.send(*(c.audio(0, k) for k in range(4)))
    assert wait_for(lambda: s._next == 4)
    b0 = s.read_audio()                                       # every voice timeslot: block 0
    assert b0 is not None and b0.time == 0.0 and b0.timeslots == VOICE
    assert b0.timeslot(1) == b"\x01" * 160 and b0.timeslot(31) == bytes([31]) * 160
    p1 = s.read_audio([3])                                    # TS3 alone moves on: block 1
    assert p1 is not None and p1.data == bytes([1 + 3]) * 160 and p1.time == pytest.approx(0.02)
    w1 = s.read_audio()                                       # the others are still at block 1
    assert w1 is not None and w1.time == pytest.approx(0.02) and w1.timeslot(5) == bytes([1 + 5]) * 160
    p2 = s.read_audio([3, 5])                                 # all together again: block 2 for both
    assert p2 is not None and p2.time == pytest.approx(0.04) and p2.data == bytes([2 + 3]) * 160 + bytes([2 + 5]) * 160
    w3 = s.read_audio()                                       # TS3, TS5 at 3, the rest at 2: block 2
    assert w3 is not None and w3.time == pytest.approx(0.04)
    w4 = s.read_audio()
    assert w4 is not None and w4.time == pytest.approx(0.06)
    assert s.read_audio() is None and s.read_audio([3]) is None
    assert s._counters.audio_overruns == 0


def test_blocks_that_leave_the_ring_unread_are_overruns_skipped_ones_are_not(card: tuple[RecordingCard, Any]) -> None:
    from drivers.wire.span import RX_BLOCKS
    c, board = card
    s = board.span(0)
    s.subscribe()
    c.send(*(c.audio(0, k, fill=1) for k in range(RX_BLOCKS + 10)))
    assert wait_for(lambda: s._next == RX_BLOCKS + 10)
    first = s.read_audio()                                    # never read before: from the oldest kept
    assert first is not None and first.time == pytest.approx(10 * 0.02)
    while s.read_audio() is not None:
        pass
    c.send(*(c.audio(0, RX_BLOCKS + 10 + k, fill=2) for k in range(RX_BLOCKS + 7)))
    assert wait_for(lambda: s._next == 2 * RX_BLOCKS + 17)
    assert s.read_audio() is not None
    assert s._counters.audio_overruns == 7                     # seven blocks were never read
    s.skip_audio()
    assert s.read_audio() is None
    c.send(c.audio(0, 2 * RX_BLOCKS + 17, fill=3))
    assert wait_for(lambda: s._next == 2 * RX_BLOCKS + 18)
    blk = s.read_audio()
    assert blk is not None and blk.data[:1] == b"\x03"
    assert s._counters.audio_overruns == 7                     # skipping on purpose is no overrun


def test_a_host_that_only_skips_audio_still_subscribes_and_its_clock_moves(card: tuple[RecordingCard, Any]) -> None:
    """A quiet trunk skips its span's audio every block and never reads it: the span must still
    stream, since the card's blocks are what moves the board's clock on (a host whose clock
    stood still never brought an SS7 link up on a served card)."""
    c, board = card
    s = board.span(1)
    s.skip_audio()
    assert wait_for(lambda: sent(c, P.AudioSubscribe))
    assert sent(c, P.AudioSubscribe)[0].span == 1 and tuple(sent(c, P.AudioSubscribe)[0].timeslots) == VOICE
    t0 = board.now()
    c.send(c.audio(1, 500))
    assert wait_for(lambda: board.now() > t0)
    assert board.now() == pytest.approx(501 * 0.02)
    s.skip_audio()
    assert len(sent(c, P.AudioSubscribe)) == 1                  # once, not per block


def test_audio_with_timeslots_that_carry_no_voice_keeps_the_voice_only(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    s = board.span(0)
    s.subscribe([1, 2])
    c.send(P.Audio(0, 0, (0, 1, 2, 16), b"\x00" * 160 + b"\x01" * 160 + b"\x02" * 160 + b"\x10" * 160))
    assert wait_for(lambda: s._next == 1)
    blk = s.read_audio([1, 2])
    assert blk is not None and blk.data == b"\x01" * 160 + b"\x02" * 160


# ---------------------------------------------------------------- blocks, changes, CAS
def test_the_loop_is_woken_once_a_block_is_in_on_every_span(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    for s in board.spans:
        s.subscribe()
    poll = select.poll()
    poll.register(board.fileno(), select.POLLIN)
    board.poll_events()                                        # drain
    c.send(c.audio(0, 0))
    assert wait_for(lambda: board.span(0)._next == 1)
    assert board.complete_seq == -1 and not poll.poll(50)     # span 1's block 0 is not in yet
    c.send(c.audio(1, 0))
    assert wait_for(lambda: board.complete_seq == 0)
    assert poll.poll(1000) and 0 in board.arrivals
    board.poll_events()
    c.send(c.audio(0, 1), c.audio(0, 2), c.audio(0, 3))        # span 1 stops streaming
    assert wait_for(lambda: board.complete_seq == 1)          # not waited for past two blocks
    assert board.incomplete == 1


def test_a_hole_in_the_block_numbers_is_counted(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    s = board.span(0)
    s.subscribe()
    c.send(c.audio(0, 5), c.audio(0, 6), c.audio(0, 9))
    assert wait_for(lambda: s._next == 3)
    assert s.gaps == 2


def test_changes_and_cas_all_follow_what_the_card_reports(card: tuple[RecordingCard, Any]) -> None:
    c, board = card
    s = board.span(1)
    assert s.changes == 0
    c.send(P.CasChanged(1, 5, 0x3, 1.0), P.CasChanged(1, 17, 0xB, 1.0))
    assert wait_for(lambda: s.changes == 2)
    row = s.cas_all()
    assert len(row) == 32 and row[5] == 0x3 and row[17] == 0xB and row[0] == row[16] == 0
    assert all(row[ts] == s.cas(ts) for ts in VOICE)
    before = s.changes
    s.subscribe()
    c.send(c.audio(1, 0))                                     # plain audio moves nothing
    assert wait_for(lambda: s._next == 1)
    assert s.changes == before
    c.send(P.CasState(1, tuple(0x9 for _ in range(31))))
    assert wait_for(lambda: s.changes == before + 1)
    assert set(s.cas_all()[ts] for ts in VOICE) == {0x9}


def test_audio_of_the_wrong_length_is_malformed_on_the_fast_path_too() -> None:
    dec = P.Decoder()
    head = struct.pack(">IIH", 7, (1 << 1) | (1 << 2), 160)
    good = P.encode(P.Audio(0, 8, (1, 2), b"\x01" * 320))
    got = dec.feed(P.encode_raw(P.MsgType.AUDIO, 0, head + b"\x00" * 100) + good)
    assert isinstance(got[0], P.BadMessage) and got[0].code == P.ErrorCode.MALFORMED
    assert got[1] == P.Audio(0, 8, (1, 2), b"\x01" * 320)
    assert dec.buffered == 0

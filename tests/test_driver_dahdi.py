"""The dahdi backend of the Board API, on a DAHDI kernel double (and on a card when asked).

The double (drivers.dahdi.fake.FakeDahdi) keeps the kernel's rules: SPECIFY first, ELAST
while an event is pending, one block per read, HDLC frames with their FCS. The ioctl
numbers and struct layouts are checked against values worked out by hand from
include/dahdi/user.h, so the double cannot hide a wrong ABI.
"""
from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import drivers
from drivers.base import (VOICE_TIMESLOTS, Alarm, AlarmChanged, BoardClosed, BoardError, CasChanged,
                          ConfigError, HdlcFrameReady, SpanConfig)
from drivers.dahdi import DahdiBoard, DeviceLayer, _ffi as abi, alarms_of
from drivers.dahdi.fake import FakeDahdi, fcs16

CAS_CRC4 = abi.DAHDI_CONFIG_CRC4 | abi.DAHDI_CONFIG_HDB3
CCS_CRC4 = CAS_CRC4 | abi.DAHDI_CONFIG_CCS


@pytest.fixture
def fake():
    return FakeDahdi(spans=4, lineconfig=[CAS_CRC4, CAS_CRC4, CCS_CRC4, CCS_CRC4], loop=[(1, 2), (3, 4)])


@pytest.fixture
def board(fake):
    b = drivers.open("dahdi", spans=[1, 2, 3, 4], device=fake)
    yield b
    b.close()


# --- the ABI ---------------------------------------------------------------------------

def test_ioctl_numbers_and_layouts_match_user_h():
    # _IOW(0xDA, nr, int) = 0x4004DAnn, _IOR = 0x8004DAnn, _IOWR(.., size) = 0xC000DAnn | size << 16
    assert abi.DAHDI_SET_BLOCKSIZE == 0x4004DA01
    assert abi.DAHDI_GETEVENT == 0x8004DA08
    assert abi.DAHDI_HDLCFCSMODE == 0x4004DA25
    assert abi.DAHDI_SPECIFY == 0x4004DA26
    assert abi.DAHDI_SETLAW == 0x4004DA27
    assert abi.DAHDI_GETRXBITS == 0x8004DA2B and abi.DAHDI_SETTXBITS == 0x4004DA2B
    assert abi.SIZEOF_SPANINFO == 314 and abi.DAHDI_SPANSTAT == 0xC13ADA0A   # packed struct
    assert abi.SIZEOF_PARAMS == 136 and abi.DAHDI_GET_PARAMS == 0xC088DA05
    off = abi.ffi.offsetof
    assert [off("struct dahdi_spaninfo", f) for f in
            ("alarms", "crc4count", "ebitcount", "fascount", "totalchans", "lineconfig", "spantype")] == \
        [64, 80, 84, 88, 124, 136, 308]
    assert off("struct dahdi_params", "sigtype") == 12 and off("struct dahdi_params", "chan_alarms") == 132


@pytest.mark.parametrize("bits,cas,expected", [
    (0, True, Alarm.NONE),
    (abi.DAHDI_ALARM_RED | abi.DAHDI_ALARM_LOS, True, Alarm.LOS),
    (abi.DAHDI_ALARM_RED | abi.DAHDI_ALARM_LFA, True, Alarm.LOF),
    (abi.DAHDI_ALARM_RED, True, Alarm.LOF),
    (abi.DAHDI_ALARM_BLUE, True, Alarm.AIS),
    (abi.DAHDI_ALARM_YELLOW, True, Alarm.RAI),
    (abi.DAHDI_ALARM_LMFA, True, Alarm.LOMF),
    (abi.DAHDI_ALARM_LMFA, False, Alarm.LOCRC),
    (abi.DAHDI_ALARM_RECOVER | abi.DAHDI_ALARM_NOTOPEN, True, Alarm.NONE),
])
def test_alarm_mapping(bits, cas, expected):
    assert alarms_of(bits, cas) == expected


# --- opening ---------------------------------------------------------------------------

def test_open_reads_the_span_configuration(board, fake):
    assert board.backend == "dahdi" and len(board.spans) == 4
    assert board.span(0).config == SpanConfig(framing="crc4", signalling="cas")
    assert board.span(2).config.signalling == "ccs" and board.span(2).config.hdlc == (16,)
    assert [s.basechan for s in board.spans] == [0, 31, 62, 93]
    c = fake.chan(1, 1)
    assert c.blocksize == 160 and c.law == abi.DAHDI_LAW_ALAW and c.opened == 1
    assert fake.chan(3, 16).hdlc and fake.chan(3, 16).blocksize == abi.DAHDI_DEFAULT_BLOCKSIZE
    assert fake.chan(1, 16).opened == 0              # TS16 of a CAS span is the kernel's


def test_open_errors(fake, tmp_path):
    with pytest.raises(ConfigError, match="is configured crc4/cas"):
        DahdiBoard(spans=[1], config=SpanConfig(signalling="ccs"), device=fake)
    with pytest.raises(ConfigError, match="span 9"):
        DahdiBoard(spans=[9], device=fake)
    with pytest.raises(ConfigError):
        DahdiBoard(spans=[0], device=fake)
    with pytest.raises(ConfigError):
        DahdiBoard(spans="1", device=fake)
    with pytest.raises(ConfigError, match="is DAHDI loaded"):
        DahdiBoard(spans=1, dev_dir=str(tmp_path))    # the real device layer, no DAHDI here
    assert all(v == "ctl" or v is None for v in fake.fds.values()) or not fake.fds
    assert not [c for c in fake.chans.values() if c.opened]      # nothing left open


# --- audio -----------------------------------------------------------------------------

def test_audio_in_160_octet_blocks(board, fake):
    a, b = board.span(0), board.span(1)
    tone = bytes((i * 7) & 0xFF for i in range(480))
    a.write_audio(1, tone)
    a.write_audio(17, tone[::-1])
    blocks = []
    while (blk := b.read_audio([1, 17])) is not None:
        blocks.append(blk)
    assert len(blocks) == 3
    assert b"".join(x.timeslot(1) for x in blocks) == tone
    assert b"".join(x.timeslot(17) for x in blocks) == tone[::-1]
    assert all(len(x.data) == 320 for x in blocks)
    fake.feed_audio(2, 3, b"\x55" * 100)              # less than a block: nothing yet
    assert b.read_audio([3]) is None
    fake.feed_audio(2, 3, b"\x55" * 60)
    assert b.read_audio([3]).timeslot(3) == b"\x55" * 160
    for ts in VOICE_TIMESLOTS:
        fake.feed_audio(2, ts, bytes([ts]) * 160)
    blk = b.read_audio()
    assert blk.timeslots == VOICE_TIMESLOTS and blk.timeslot(31) == bytes([31]) * 160


def test_audio_overrun_and_transmit_backpressure(fake):
    fake.tx_limit = 320
    b = DahdiBoard(spans=[1, 2], device=fake)
    fake.feed_audio(1, 5, bytes(range(160)) * 100)    # 2 s nobody read
    b.poll_events()
    assert b.span(0).counters.audio_overruns == 50
    assert b.span(0).read_audio([5]) is not None
    b.span(0).write_audio(2, b"\xd5" * 800)             # kernel takes 320, the rest waits
    assert len(fake.chan(1, 2).tx) == 320
    fake.take_tx(1, 2)
    b.poll_events()                                      # the queue drains as the card plays
    assert len(fake.chan(1, 2).tx) == 320
    with pytest.raises(BoardError, match="transmit queue full"):
        b.span(0).write_audio(2, b"\xd5" * 20000)
    with pytest.raises(TypeError):
        b.span(0).write_audio(2, "text")
    with pytest.raises(ConfigError):
        b.span(0).write_audio(16, b"\xd5")
    b.close()


def test_events_pending_do_not_lose_audio(board, fake):
    fake.event(1, 4, abi.DAHDI_EVENT_ALARM)
    fake.feed_audio(1, 4, b"\x11" * 160)
    fake.set_span(1, alarms=abi.DAHDI_ALARM_YELLOW)
    assert board.span(0).read_audio([4]).timeslot(4) == b"\x11" * 160
    assert board.span(0).alarms == Alarm.RAI


# --- CAS -------------------------------------------------------------------------------

def test_cas_get_set_and_changes(board, fake):
    a, b = board.span(0), board.span(1)
    board.poll_events()
    assert b.cas(7) == 0b1001                            # idle bits of the far end (system.conf)
    a.set_cas(1, 0b0101)
    a.set_cas(31, 0b1101)
    assert fake.chan(1, 1).txbits == 0b0101
    assert b.cas(1) == 0b0101 and b.cas(31) == 0b1101
    evs = [e for e in board.poll_events() if isinstance(e, CasChanged)]
    assert sorted((e.span, e.timeslot, e.abcd) for e in evs) == [(1, 1, 0b0101), (1, 31, 0b1101)]
    a.set_cas(1, 0b0101)                                 # no change, no event
    assert not [e for e in board.poll_events() if isinstance(e, CasChanged)]
    with pytest.raises(ConfigError):
        a.set_cas(1, 0)                                  # 0000 is never sent
    with pytest.raises(ConfigError):
        a.set_cas(16, 1)
    with pytest.raises(ConfigError, match="CCS"):
        board.span(2).cas(1)


# --- HDLC ------------------------------------------------------------------------------

def test_hdlc_frames_with_fcs_events(board, fake):
    a, b = board.span(2).hdlc(16), board.span(3).hdlc()
    frames = [bytes([0x80, 0x80, 0]), bytes(range(50)), b"\x81\x81\x05" + b"ISUP" * 60]
    for f in frames:
        a.send(f)
    assert fake.chan(3, 16).tx_frames == frames             # two FCS octets left for the kernel
    wire = fake.chan(4, 16).rx_frames[0]
    assert wire[-2:] == bytes([fcs16(frames[0]) & 0xFF, fcs16(frames[0]) >> 8])
    assert b.recv_all() == frames
    evs = board.poll_events()
    assert len([e for e in evs if isinstance(e, HdlcFrameReady) and e.span == 3]) == 3
    fake.feed_hdlc(4, 16, b"bad", good=False)
    fake.event(4, 16, abi.DAHDI_EVENT_ABORT)
    fake.feed_hdlc(4, 16, b"\x01\x02\x03good")
    evs = board.poll_events()
    assert [e.timeslot for e in evs if isinstance(e, HdlcFrameReady)] == [16]
    assert b.recv() == b"\x01\x02\x03good" and b.recv() is None
    c = board.span(3).counters
    assert (c.hdlc_fcs_errors, c.hdlc_aborts, c.hdlc_rx) == (1, 1, 4)
    assert board.span(2).counters.hdlc_tx == 3
    with pytest.raises(ValueError):
        a.send(b"")
    with pytest.raises(TypeError):
        a.send("frame")
    with pytest.raises(ConfigError):
        board.span(0).hdlc(16)


# --- alarms, counters, lifecycle --------------------------------------------------------

def test_alarms_and_counters_from_spanstat(board, fake):
    board.poll_events()
    fake.set_span(2, alarms=abi.DAHDI_ALARM_RED | abi.DAHDI_ALARM_LFA | abi.DAHDI_ALARM_LMFA,
                  fascount=7, crc4count=12, ebitcount=3)
    evs = [e for e in board.poll_events() if isinstance(e, AlarmChanged)]
    assert evs == [AlarmChanged(1, Alarm.LOF | Alarm.LOMF, evs[0].time)]
    c = board.span(1).counters
    assert (c.fas_errors, c.crc4_errors, c.e_bits) == (7, 12, 3)
    assert not board.poll_events()                       # unchanged: no event
    fake.set_span(2, alarms=0)
    assert [e.alarms for e in board.poll_events()] == [Alarm.NONE]


def test_async_events_and_close(board, fake):
    async def first():
        async for ev in board:
            return ev

    fake.set_rxbits(1, 9, 0b0101)
    ev = asyncio.run(asyncio.wait_for(first(), 2))
    assert ev == CasChanged(0, 9, 0b0101, ev.time)
    fake.event(1, 9, abi.DAHDI_EVENT_REMOVED)
    with pytest.raises(BoardClosed):
        board.poll_events()
    board.close()
    board.close()                                        # twice is fine
    assert not [c for c in fake.chans.values() if c.opened] and not fake.fds
    with pytest.raises(BoardClosed):
        board.span(0).read_audio([1])
    with pytest.raises(BoardClosed):
        board.poll_events()


def test_paced_double_plays_like_a_card():
    """Looped spans carry 8000 octets/s of wall-clock time: idle A-law, then what was written."""
    import time

    fake = FakeDahdi(spans=2, loop=[(1, 2)], paced=True)
    with DahdiBoard(spans=2, device=fake) as b:
        b.span(0).write_audio(3, b"\x01" * 400)
        deadline = time.monotonic() + 5
        got = bytearray()
        while len(got) < 800 and time.monotonic() < deadline:
            time.sleep(0.02)
            while (blk := b.span(1).read_audio([3])) is not None:
                got += blk.timeslot(3)
        assert b"\x01" * 400 in got and got.strip(b"\xd5") == b"\x01" * 400
        assert b.span(1).counters.frames_rx >= 800


def test_real_device_layer_is_plain_system_calls(tmp_path):
    dev = DeviceLayer()
    p = tmp_path / "f"
    fd = dev.open(str(p), os.O_RDWR | os.O_CREAT)
    assert dev.write(fd, b"abc") == 3
    os.lseek(fd, 0, 0)
    assert dev.read(fd, 10) == b"abc"
    with pytest.raises(OSError):
        dev.ioctl(fd, abi.DAHDI_SPECIFY, abi.int_arg(1))  # not a DAHDI device: ENOTTY
    dev.close(fd)


# --- whatever the kernel reports, the board keeps running ------------------------------

_op = st.one_of(
    st.tuples(st.just("audio"), st.integers(1, 4), st.sampled_from(VOICE_TIMESLOTS), st.integers(0, 700)),
    st.tuples(st.just("event"), st.integers(1, 4), st.integers(1, 31), st.integers(0, 40).filter(lambda e: e != 20)),
    st.tuples(st.just("frame"), st.integers(3, 4), st.booleans(), st.binary(max_size=300)),
    st.tuples(st.just("span"), st.integers(1, 4), st.integers(0, 2047), st.integers(0, 10**6)),
    st.tuples(st.just("bits"), st.integers(1, 2), st.sampled_from(VOICE_TIMESLOTS), st.integers(0, 15)),
    st.tuples(st.just("read"), st.integers(0, 3), st.lists(st.sampled_from(VOICE_TIMESLOTS), max_size=4, unique=True),
              st.just(0)),
    st.tuples(st.just("poll"), st.just(0), st.just(0), st.just(0)),
)


@pytest.mark.system
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_op, max_size=40))
def test_any_kernel_activity_is_survived(ops):
    fake = FakeDahdi(spans=4, lineconfig=[CAS_CRC4, CAS_CRC4, CCS_CRC4, CCS_CRC4], loop=[(1, 2), (3, 4)])
    fcs_errors = dict.fromkeys(range(1, 5), 0)      # what the kernel reported, per span
    aborts = dict.fromkeys(range(1, 5), 0)
    with DahdiBoard(spans=4, device=fake) as b:
        for kind, sp, x, y in ops:
            if kind == "audio":
                fake.feed_audio(sp, x, bytes([y & 0xFF]) * y)
            elif kind == "event":
                fake.event(sp, x if sp <= 2 and x != 16 else (16 if sp > 2 else 1), y)
                fcs_errors[sp] += y == abi.DAHDI_EVENT_BADFCS
                aborts[sp] += y in (abi.DAHDI_EVENT_ABORT, abi.DAHDI_EVENT_OVERRUN)
            elif kind == "frame":
                fake.feed_hdlc(sp, 16, y, good=x)
                fcs_errors[sp] += not x
                aborts[sp] += x and not y              # a frame of nothing but its FCS
            elif kind == "span":
                fake.set_span(sp, alarms=x, fascount=y, crc4count=y // 3, ebitcount=y // 7)
            elif kind == "bits":
                fake.set_rxbits(sp, x, y)
            elif kind == "read":
                span = b.span(sp)
                if span.config.signalling == "cas" or x:
                    blk = span.read_audio(x or None)
                    assert blk is None or len(blk.data) == 160 * len(blk.timeslots)
                else:
                    while (f := span.hdlc(16).recv()) is not None:
                        assert isinstance(f, bytes)
            else:
                for ev in b.poll_events():
                    assert isinstance(ev, (AlarmChanged, CasChanged, HdlcFrameReady))
        for n, s in enumerate(b.spans, 1):
            c = s.counters                           # reads what the kernel still holds
            assert (c.hdlc_fcs_errors, c.hdlc_aborts) == (fcs_errors[n], aborts[n]), n
            assert isinstance(s.alarms, Alarm)


# --- a real card -------------------------------------------------------------------------

@pytest.mark.hardware
def test_real_card():
    spec = os.environ.get("CTI_DAHDI_SPAN")
    if not spec:
        pytest.skip("set CTI_DAHDI_SPAN=<span>[,<span>] to run on a DAHDI card")
    import time

    with drivers.open("dahdi", spans=[int(x) for x in spec.split(",")]) as b:
        s = b.span(0)
        assert isinstance(s.alarms, Alarm)
        for ts in s.config.hdlc:
            s.hdlc(ts)
        time.sleep(0.1)
        blk = None
        for _ in range(50):
            blk = s.read_audio()
            if blk is not None:
                break
            time.sleep(0.02)
        assert blk is not None and len(blk.data) == 160 * len(blk.timeslots)
        if s.config.signalling == "cas":
            ts = next(t for t in VOICE_TIMESLOTS if t not in s.config.hdlc)
            s.set_cas(ts, 0b1001)
            assert 0 <= s.cas(ts) <= 0xF
        b.poll_events()
        assert s.counters.frames_rx > 0

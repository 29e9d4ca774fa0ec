"""E1 framing kernel (G.704/G.706/G.732/G.775): round trips, alignment, alarms, bad input.

Every test runs on the compiled kernel and on the pure-Python twin.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import kernel_impls, load_impl

from _boardcore import _select


# The fixture is a module (stateless): safe to share between hypothesis examples.
@pytest.fixture(params=kernel_impls("e1frame"))
def e1(request):
    return load_impl(request.param)


# --- helpers: the line as a bit string --------------------------------------------------

def encode(e1, frames: int, seed: int = 1, crc4: bool = True, cas: bool = True, setup=None):
    """Random payload framed by a fresh framer: (line bytes, list of 32-octet frames)."""
    rng = random.Random(seed)
    tx = e1.E1Framer(crc4=crc4, cas=cas)
    if setup:
        setup(tx)
    line = bytearray(frames * 32)
    assert tx.encode(rng.randbytes(frames * 32), line) == frames
    return bytes(line), [bytes(line[i:i + 32]) for i in range(0, len(line), 32)]


def to_bits(data: bytes) -> list[int]:
    return [(b >> (7 - i)) & 1 for b in data for i in range(8)]


def from_bits(bits: list[int]) -> bytes:
    bits = bits + [1] * (-len(bits) % 8)
    v = 0
    for b in bits:
        v = (v << 1) | b
    return v.to_bytes(len(bits) // 8, "big")


def shifted(line: bytes, offset: int, seed: int = 0) -> bytes:
    """``offset`` random bits, then the line."""
    rng = random.Random(seed)
    return from_bits([rng.getrandbits(1) for _ in range(offset)] + to_bits(line))


def decode(e1, data: bytes, chunks=None, crc4: bool = True, cas: bool = True, rx=None):
    """Deframe ``data`` fed in chunks; (deframer, list of frames out)."""
    rx = rx or e1.E1Deframer(crc4=crc4, cas=cas)
    frames = []
    i = 0
    for size in chunks or [len(data)]:
        part = data[i:i + size]
        i += size
        out = bytearray(len(part) + 32)
        n = rx.decode(part, out)
        assert n % 32 == 0
        frames += [bytes(out[k:k + 32]) for k in range(0, n, 32)]
    if i < len(data):
        out = bytearray(len(data) - i + 32)
        n = rx.decode(data[i:], out)
        frames += [bytes(out[k:k + 32]) for k in range(0, n, 32)]
    return rx, frames


def tail_match(out: list[bytes], sent: list[bytes]) -> int:
    """Index into ``sent`` of the first frame of the longest tail of ``out`` that is a run of
    consecutive sent frames ending at the last frame out; asserts that run is not empty."""
    index = {f: i for i, f in enumerate(sent)}
    assert out and out[-1] in index, "the last frame out is not a frame sent"
    k = len(out) - 1
    while k > 0 and out[k - 1] in index and index[out[k - 1]] == index[out[k]] - 1:
        k -= 1
    return index[out[k]], len(out) - k


# --- CRC-4 ------------------------------------------------------------------------------

def crc4_bitwise(data: bytes) -> int:
    r = 0
    for bit in to_bits(data):
        fb = ((r >> 3) & 1) ^ bit
        r = ((r << 1) & 0xF) ^ (0x3 if fb else 0)
    return r


def test_crc4_matches_bitwise_division(e1):
    rng = random.Random(7)
    for n in (0, 1, 2, 31, 256):
        data = rng.randbytes(n)
        assert e1.crc4(data) == crc4_bitwise(data)
    # x^4 + x + 1 divides its own multiples: the message 0b10011 shifted gives remainder 0
    assert e1.crc4(bytes([0b00010011])) == crc4_bitwise(bytes([0b00010011]))
    assert e1.crc4(b"\x00" * 5) == 0


# --- transmit format (G.704 Tables 4A, 5B, 14) -----------------------------------------

def test_framer_ts0_and_ts16_layout(e1):
    def setup(tx):
        tx.set_cas(1, 0b0101)
        tx.set_cas(16, 0b1100)
        tx.set_cas(30, 0b0011)
        tx.sa = 0b10101
    line, frames = encode(e1, 32, setup=setup)
    mfas = []
    for i, f in enumerate(frames):
        mfi = i % 16
        if mfi % 2 == 0:
            assert f[0] & 0x7F == 0x1B                  # FAS
        else:
            assert f[0] & 0x40                         # NFAS bit 2
            assert f[0] & 0x20 == 0                    # A bit: no remote alarm
            assert f[0] & 0x1F == 0b10101              # Sa4..Sa8
            mfas.append(f[0] >> 7)
        if mfi == 0:
            assert f[16] == 0x0B                       # 0000 X Y X X, X = 1, Y = 0
        elif mfi == 1:
            assert f[16] == (0b0101 << 4) | 0b1100     # channels 1 and 16
        elif mfi == 15:
            assert f[16] == (0x9 << 4) | 0b0011        # channel 15 idle, channel 30
        else:
            assert f[16] >> 4 and f[16] & 0xF          # never 0000
    # bit 1 of NFAS frames 1..11 = 001011, frames 13/15 = E bits (1: no error reported)
    assert mfas[:8] == [0, 0, 1, 0, 1, 1, 1, 1]
    # C bits of sub-multiframe N+1 = CRC-4 of sub-multiframe N with its C bits at 0
    smf = b"".join(bytes([f[0] & 0x7F if i % 2 == 0 else f[0]]) + f[1:] for i, f in enumerate(frames[8:16]))
    c = [frames[16 + k][0] >> 7 for k in (0, 2, 4, 6)]
    assert c == [(crc4_bitwise(smf) >> (3 - k)) & 1 for k in range(4)]


def test_framer_without_cas_or_crc4_carries_ts16_and_si(e1):
    rng = random.Random(3)
    payload = rng.randbytes(16 * 32)
    tx = e1.E1Framer(crc4=False, cas=False)
    tx.si = 0
    out = bytearray(len(payload))
    tx.encode(payload, out)
    for i in range(16):
        f = out[i * 32:(i + 1) * 32]
        assert f[1:] == payload[i * 32 + 1:(i + 1) * 32]   # TS16 is data
        assert f[0] >> 7 == 0                              # Si everywhere


def test_remote_alarm_bits_and_e_bits(e1):
    def setup(tx):
        tx.remote_alarm = True
        tx.mf_remote_alarm = True
        tx.report_crc_errors(5)
    line, frames = encode(e1, 64, setup=setup)
    assert all(f[0] & 0x20 for f in frames[1::2])
    assert all(f[16] & 0x04 for f in frames[::16])
    ebits = [frames[m * 16 + k][0] >> 7 for m in range(4) for k in (13, 15)]
    assert ebits == [0, 0, 0, 0, 0, 1, 1, 1]
    rx, out = decode(e1, line)
    assert rx.counters["e_bits"] == 1                 # CRC-4 multiframe found at frame 43: only 45 is seen
    assert rx.alarms & e1.ALARM_RAI and rx.alarms & e1.ALARM_MF_RAI


# --- round trips ------------------------------------------------------------------------

@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), offset=st.integers(0, 600),
       crc4=st.booleans(), cas=st.booleans(),
       cas_values=st.lists(st.integers(1, 15), min_size=30, max_size=30),
       chunk=st.integers(16, 700))
@pytest.mark.system
def test_round_trip_any_offset(e1, seed, offset, crc4, cas, cas_values, chunk):
    def setup(tx):
        for ch, v in enumerate(cas_values, 1):
            tx.set_cas(ch, v)
    n = 120
    line, sent = encode(e1, n, seed=seed, crc4=crc4, cas=cas, setup=setup)
    data = shifted(line, offset, seed)
    rx, out = decode(e1, data, chunks=[chunk] * (len(data) // chunk), crc4=crc4, cas=cas)
    first, run = tail_match(out, sent)
    assert first + run == n                          # every frame to the end came through
    # found within the G.706 search; random bits may imitate FAS, NFAS, FAS (p = 2^-15 per
    # position): such a false alignment is left after 3 errored FAS
    assert first <= 16
    assert rx.aligned and not rx.alarms & e1.ALARM_LOF
    c = rx.counters
    assert c["fas_errors"] <= 3 * c["realignments"] and c["crc4_errors"] == 0
    if crc4:
        assert rx.crc4_aligned and rx.counters["crc4_blocks"] >= 5
    if cas:
        assert rx.cas_aligned
        assert [rx.cas(ch) for ch in range(1, 31)] == cas_values
    assert rx.alarms == 0


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), slips=st.lists(st.integers(-3, 3).filter(bool), min_size=1, max_size=4),
       flips=st.integers(0, 12))
@pytest.mark.system
def test_alignment_regained_after_slips(e1, seed, slips, flips):
    rng = random.Random(seed)
    n = 150 * (len(slips) + 1)
    line, sent = encode(e1, n, seed=seed)
    bits = to_bits(line)
    # random bit errors too (G.706: single FAS errors never cost alignment), not in the
    # last 100 frames, which must come through intact
    for at in rng.sample(range((n - 100) * 256), flips):
        bits[at] ^= 1
    # slips at least 150 frames apart: within them G.706 regains frame and CRC-4 alignment
    cuts = sorted(rng.sample(range(1, len(slips) + 1), len(slips)))
    for k, d in zip(reversed(cuts), slips):
        at = k * 150 * 256 + rng.randrange(256)
        if d > 0:
            bits[at:at] = [rng.getrandbits(1) for _ in range(d)]
        else:
            del bits[at:at - d]
    rx, out = decode(e1, from_bits(bits), chunks=[1000] * (len(bits) // 8000))
    first, run = tail_match(out, sent)
    assert first + run == n and run >= 100
    assert rx.counters["slips"] >= 1 and rx.counters["realignments"] >= 1
    assert rx.aligned and rx.crc4_aligned and rx.cas_aligned


def test_two_bad_fas_in_a_row_keep_alignment_three_lose_it(e1):
    line, sent = encode(e1, 200)
    data = bytearray(line)
    for i in (100, 102):                        # two consecutive FAS frames errored
        data[i * 32] ^= 0x01
    rx, out = decode(e1, bytes(data))
    assert rx.counters["fas_errors"] == 2 and rx.counters["realignments"] == 0
    assert len(out) == 198
    for i in (150, 152, 154):                   # three consecutive: G.706 4.1.1 loss
        data[i * 32] ^= 0x04
    rx, out = decode(e1, bytes(data))
    assert rx.counters["realignments"] == 1 and rx.counters["slips"] == 0
    assert 154 * 32 not in [sent.index(f) * 32 for f in out if f in sent]


def test_crc_errors_counted_and_reported(e1):
    line, sent = encode(e1, 400)
    data = bytearray(line)
    for i in (200, 230, 260):                    # one payload bit error in three blocks
        data[i * 32 + 5] ^= 0x10
    rx, out = decode(e1, bytes(data))
    assert rx.counters["crc4_errors"] == 3 and rx.counters["fas_errors"] == 0
    assert rx.crc4_aligned and rx.aligned


def test_interworking_with_non_crc4_far_end(e1):
    line, sent = encode(e1, 3600, crc4=False)
    rx, out = decode(e1, line, chunks=[5120] * 22)
    assert rx.crc4_interworking and rx.aligned and not rx.crc4_aligned
    assert rx.counters["crc4_false_alignments"] >= 40   # a new search every 8 ms meanwhile
    # after 400 ms alignment holds: the last 300 frames all came through
    first, run = tail_match(out, sent)
    assert first + run == 3600 and run >= 300


def test_cas_multiframe_loss_and_zero_ts16(e1):
    line, sent = encode(e1, 128)
    data = bytearray(line)
    for m in (4, 5):                             # two consecutive errored MFAS: G.732 loss
        data[m * 16 * 32 + 16] |= 0x80
    rx, out = decode(e1, bytes(data[:6 * 16 * 32 - 10]))
    assert rx.counters["cas_mfas_errors"] == 2 and not rx.cas_aligned
    assert rx.alarms & e1.ALARM_LOMF
    rx.decode(bytes(data[6 * 16 * 32 - 10:]), bytearray(len(data)))
    assert rx.cas_aligned
    # TS16 all zero for a multiframe
    line, sent = encode(e1, 96, cas=True)
    data = bytearray(line)
    for i in range(40, 60):
        data[i * 32 + 16] = 0
    rx, out = decode(e1, bytes(data[:60 * 32]))
    assert not rx.cas_aligned


def test_ais_and_los(e1):
    rx = e1.E1Deframer()
    out = bytearray(4096 + 32)
    rx.decode(b"\xff" * 4096, out)
    assert rx.alarms & e1.ALARM_AIS and rx.alarms & e1.ALARM_LOF
    assert not rx.alarms & e1.ALARM_LOS
    rx.decode(b"\x00" * 4096, out)
    assert rx.alarms & e1.ALARM_LOS and not rx.alarms & e1.ALARM_AIS
    line, _ = encode(e1, 200)
    out = bytearray(len(line) + 32)
    rx.decode(line, out)
    assert rx.alarms == 0


def test_garbage_between_good_stretches(e1):
    rng = random.Random(5)
    a, sa = encode(e1, 200, seed=1)
    b, sb = encode(e1, 200, seed=2)
    rx, out = decode(e1, a + rng.randbytes(3001) + b, chunks=[333] * 40)
    first, run = tail_match(out, sb)
    assert first + run == 200 and run >= 150


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), crc4=st.booleans(), cas=st.booleans(), chunk=st.integers(1, 500))
def test_garbage_never_raises(e1, data, crc4, cas, chunk):
    rx = e1.E1Deframer(crc4=crc4, cas=cas)
    for i in range(0, len(data), chunk):
        part = data[i:i + chunk]
        out = bytearray(len(part) + 32)
        n = rx.decode(part, out)
        assert 0 <= n <= len(part) + 32 and n % 32 == 0
    assert isinstance(rx.alarms, int) and set(rx.counters) >= {
        "frames", "fas_errors", "crc4_errors", "e_bits", "slips", "realignments"}


# --- bad input --------------------------------------------------------------------------

def test_bad_arguments(e1):
    tx = e1.E1Framer()
    with pytest.raises(ValueError):
        tx.set_cas(1, 0)                          # 0000 is never sent
    with pytest.raises(ValueError):
        tx.set_cas(1, 16)
    with pytest.raises(ValueError):
        tx.set_cas(0, 5)
    with pytest.raises(ValueError):
        tx.set_cas(31, 5)
    with pytest.raises(TypeError):
        tx.set_cas("1", 5)
    with pytest.raises(ValueError):
        tx.encode(b"\0" * 33, bytearray(64))      # not whole frames
    with pytest.raises(ValueError):
        tx.encode(b"\0" * 64, bytearray(32))      # out too small
    with pytest.raises(TypeError):
        tx.encode(b"\0" * 32, b"\0" * 32)         # out read-only
    with pytest.raises(TypeError):
        tx.encode(np.zeros(16, np.int16), bytearray(32))
    with pytest.raises(TypeError):
        tx.encode("x" * 32, bytearray(32))
    with pytest.raises(ValueError):
        tx.report_crc_errors(-1)
    rx = e1.E1Deframer()
    with pytest.raises(ValueError):
        rx.decode(b"\0" * 64, bytearray(64))      # needs len + 32
    with pytest.raises(TypeError):
        rx.decode(None, bytearray(64))
    with pytest.raises(ValueError):
        rx.cas(0)
    assert rx.alarms == e1.ALARM_LOF | e1.ALARM_LOMF | e1.ALARM_LOCRC
    rx.decode(b"", bytearray(32))
    assert rx.counters["frames"] == 0


def test_numpy_buffers(e1):
    line, sent = encode(e1, 64)
    out = np.zeros(len(line) + 32, np.uint8)
    rx = e1.E1Deframer()
    n = rx.decode(np.frombuffer(line, np.uint8), out)
    assert n >= 60 * 32 and bytes(out[:32]) in sent


# --- the two implementations agree ------------------------------------------------------


@pytest.mark.system
def test_compiled_and_twin_agree():
    c = _select.compiled("e1frame")
    if c is None:
        pytest.skip("compiled _boardcore.e1frame_c not built")
    py = _select.twin("e1frame")
    rng = random.Random(11)
    line, _ = encode(py, 800, seed=3)
    bits = to_bits(line)
    del bits[300 * 256 + 17]
    bits[500 * 256 + 3:500 * 256 + 3] = [1, 0]
    for i in range(0, len(bits), 997):
        bits[i] ^= 1
    data = rng.randbytes(77) + from_bits(bits) + b"\xff" * 300 + b"\0" * 200 + line
    results = []
    for mod in (c, py):
        rx, out = decode(mod, data, chunks=[rng.randrange(1, 900) for _ in range(60)])
        results.append((out, rx.counters, rx.alarms, [rx.cas(ch) for ch in range(1, 31)],
                        rx.aligned, rx.crc4_aligned, rx.cas_aligned, rx.sa))
    assert results[0] == results[1]
    for crc4 in (True, False):
        enc = []
        for mod in (c, py):
            tx = mod.E1Framer(crc4=crc4)
            tx.set_cas(7, 3)
            tx.remote_alarm = True
            tx.report_crc_errors(2)
            out = bytearray(48 * 32)
            tx.encode(line[:48 * 32], out)
            enc.append(bytes(out))
        assert enc[0] == enc[1]

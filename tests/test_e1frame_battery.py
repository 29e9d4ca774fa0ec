"""E1 framing battery: long lines, bit errors, slips, alarms over time (compiled kernel).

Runs on the compiled kernel when built (the twin otherwise, slowly); the twin runs the
representative subset in test_e1frame.py.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import compiled_or_twin

from test_e1frame import encode, tail_match

pytestmark = pytest.mark.battery
e1 = compiled_or_twin("e1frame")


def line_of(frames: int, seed: int, **kw) -> tuple[bytes, list[bytes]]:
    return encode(e1, frames, seed=seed, **kw)


def flip_bits(data: bytes, ber: float, seed: int) -> bytes:
    """Independent bit errors at ratio ``ber``."""
    rng = np.random.default_rng(seed)
    arr = np.frombuffer(data, np.uint8).copy()
    nbits = arr.size * 8
    pos = rng.choice(nbits, size=rng.binomial(nbits, ber), replace=False)
    np.bitwise_xor.at(arr, pos >> 3, (0x80 >> (pos & 7)).astype(np.uint8))
    return arr.tobytes()


def run(data: bytes, chunk: int = 5120, rx=None, **kw):
    rx = rx or e1.E1Deframer(**kw)
    out = bytearray(chunk + 32)
    frames = []
    for i in range(0, len(data), chunk):
        part = data[i:i + chunk]
        n = rx.decode(part, out)
        frames += [bytes(out[k:k + 32]) for k in range(0, n, 32)]
    return rx, frames


def test_every_bit_offset_of_a_double_frame():
    line, sent = line_of(200, seed=9)
    v = int.from_bytes(line, "big")
    nbits = len(line) * 8
    for off in range(512):
        keep = nbits - off                      # the line without its first ``off`` bits
        pad = -keep % 8
        data = ((v & ((1 << keep) - 1)) << pad).to_bytes((keep + pad) // 8, "big")
        rx, out = run(data, chunk=997)
        first, count = tail_match(out, sent)
        assert first + count == 200 and first <= (off + 255) // 256 + 3, off
        assert rx.crc4_aligned and rx.cas_aligned and rx.alarms == 0


def test_bit_errors_1e4_keep_alignment_and_count_crc_blocks():
    # G.706: at a BER of 1e-4 an FAS is errored with p ~ 7e-4; 3 in a row ~ 3e-10: no loss.
    line, sent = line_of(16000, seed=4)                    # 2 s of line
    rx, out = run(flip_bits(line, 1e-4, seed=4))
    c = rx.counters
    assert c["realignments"] == 0 and rx.aligned and rx.crc4_aligned
    # an 8-frame block (2048 bits) is errored with p = 1 - (1 - 1e-4)^2048 ~ 0.185
    ratio = c["crc4_errors"] / c["crc4_blocks"]
    assert 0.14 < ratio < 0.23, ratio
    assert 1 <= c["fas_errors"] <= 20                     # 8000 FAS x 7 bits x 1e-4 = 5.6


def test_e_bits_close_the_loop():
    """Deframer A's CRC-4 errors, reported by framer B in E bits, are counted at A's far end."""
    line_ab, _ = line_of(8000, seed=1)
    rx_b, _ = run(flip_bits(line_ab, 2e-5, seed=2))        # B receives A's line with errors
    errors = rx_b.counters["crc4_errors"]
    assert errors > 5
    tx_b = e1.E1Framer()
    tx_b.report_crc_errors(errors)                         # B tells A through its E bits
    payload = random.Random(5).randbytes(4000 * 32)
    back = bytearray(len(payload))
    tx_b.encode(payload, back)
    rx_a, _ = run(bytes(back))
    # E bits go out 2 per multiframe from the start; A misses those before its CRC-4 lock
    assert errors - 6 <= rx_a.counters["e_bits"] <= errors and tx_b.pending_e_bits == 0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12))
def test_many_slips_and_bursts(seed, n):
    rng = random.Random(seed)
    frames = 200 * (n + 1)
    line, sent = line_of(frames, seed=seed)
    bits = np.unpackbits(np.frombuffer(line, np.uint8))
    for k in range(n, 0, -1):                  # one event every 200 frames (25 ms)
        at = k * 200 * 256 + rng.randrange(256)
        kind = rng.randrange(3)
        if kind == 0:
            bits = np.insert(bits, at, [rng.getrandbits(1) for _ in range(rng.randrange(1, 9))])
        elif kind == 1:
            bits = np.delete(bits, range(at, at + rng.randrange(1, 9)))
        else:                                  # an error burst up to 1 frame long
            span = rng.randrange(1, 256)
            bits[at:at + span] ^= np.frombuffer(rng.randbytes(span), np.uint8) & 1
    rx, out = run(np.packbits(bits).tobytes(), chunk=rng.randrange(50, 3000))
    first, count = tail_match(out, sent)
    assert first + count == frames and count >= 120
    assert rx.aligned and rx.crc4_aligned and rx.cas_aligned


def test_alarm_sequence_over_time():
    line, _ = line_of(4000, seed=3)
    rx = e1.E1Deframer()
    out = bytearray(len(line) + 32)
    seen = []
    for part in (line[:32000], b"\xff" * 8000, line[32000:64000], b"\0" * 8000, line[64000:]):
        for i in range(0, len(part), 1280):
            rx.decode(part[i:i + 1280], out)
            seen.append(rx.alarms)
    assert seen[-1] == 0
    ais = [a for a in seen if a & e1.ALARM_AIS]
    los = [a for a in seen if a & e1.ALARM_LOS]
    assert ais and los
    assert all(a & e1.ALARM_LOF for a in ais + los)
    # LOS and AIS never at once
    assert not [a for a in seen if a & e1.ALARM_AIS and a & e1.ALARM_LOS]


def test_ts16_all_ones_is_mf_ais():
    line, sent = line_of(400, seed=8)
    data = bytearray(line)
    for i in range(100, 400):
        data[i * 32 + 16] = 0xFF
    rx, out = run(bytes(data))
    assert rx.alarms & e1.ALARM_MF_AIS and rx.alarms & e1.ALARM_LOMF
    assert not rx.alarms & e1.ALARM_LOF


def test_false_alignment_by_crc4_is_left():
    """A line whose payload imitates the FAS one octet off the true alignment."""
    rng = random.Random(2)
    tx = e1.E1Framer()
    payload = bytearray(rng.randbytes(3000 * 32))
    for i in range(0, len(payload), 64):          # FAS-like octet in TS1 of even frames and
        payload[i + 1] = 0x1B                     # NFAS-like in TS1 of odd ones
        payload[i + 33] = 0x40
    line = bytearray(len(payload))
    tx.encode(payload, line)
    # start in the middle of frame 0 so the imitation is met first
    rx, out = run(bytes(line[1:]), chunk=4096)
    assert rx.aligned and rx.crc4_aligned
    sent = [bytes(line[i:i + 32]) for i in range(0, len(line), 32)]
    first, count = tail_match(out, sent)
    assert first + count == 3000 and count > 2900


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=0, max_size=20000), chunk=st.integers(1, 4096),
       crc4=st.booleans(), cas=st.booleans())
def test_garbage_fuzz(data, chunk, crc4, cas):
    rx = e1.E1Deframer(crc4=crc4, cas=cas)
    out = np.zeros(chunk + 32, np.uint8)
    total = 0
    for i in range(0, len(data), chunk):
        n = rx.decode(data[i:i + chunk], out)
        total += n
    assert total <= len(data) and rx.counters["frames"] * 32 >= total

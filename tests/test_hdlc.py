"""HDLC (Q.703 clause 2) on both kernels, against a bit-string reference written here."""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import kernel_impls, load_impl


@pytest.fixture(scope="module", params=kernel_impls("hdlc"))
def h(request):
    return load_impl(request.param)


# --- an independent reference: bit strings ------------------------------------------------

FLAG = "01111110"


def ref_crc(data: bytes) -> int:
    """CRC-CCITT bit by bit, reflected (poly 0x8408), init 0xFFFF, complemented."""
    c = 0xFFFF
    for o in data:
        for k in range(8):
            bit = ((o >> k) ^ c) & 1
            c >>= 1
            if bit:
                c ^= 0x8408
    return c ^ 0xFFFF


def lsb_bits(data: bytes) -> str:
    return "".join(format(o, "08b")[::-1] for o in data)


def stuff(bits: str) -> str:
    out, ones = [], 0
    for b in bits:
        out.append(b)
        ones = ones + 1 if b == "1" else 0
        if ones == 5:
            out.append("0")
            ones = 0
    return "".join(out)


def ref_frame(payload: bytes, fcs: int | None = None) -> str:
    """Stuffed bits of payload + FCS (no flags)."""
    f = ref_crc(payload) if fcs is None else fcs
    return stuff(lsb_bits(payload + bytes((f & 0xFF, f >> 8))))


def pack(bits: str) -> bytes:
    """Line octets of a bit string (LSB first), padded with flag bits to whole octets."""
    pad = (FLAG * 2)[: (-len(bits)) % 8]
    bits += pad
    return np.packbits(np.array([int(b) for b in bits], np.uint8), bitorder="little").tobytes()


def feed_split(dec, line: bytes, rng: random.Random) -> list[bytes]:
    out, i = [], 0
    while i < len(line):
        j = min(len(line), i + rng.randint(0, 9))
        out += dec.feed(line[i:j])
        i = j
    return out


# --- FCS ----------------------------------------------------------------------------------

def test_fcs16_check_values(h):
    assert h.fcs16(b"123456789") == 0x906E                 # CRC-16/X-25 check value
    assert h.fcs16(b"") == 0
    for data in (b"\x80\x80\x00", bytes(range(256)), b"\x7e" * 9):
        assert h.fcs16(data) == ref_crc(data)
        assert h.fcs16(bytearray(data)) == h.fcs16(np.frombuffer(data, np.uint8))


# --- encoder: exact line bits -------------------------------------------------------------

def test_encoder_line_bits(h):
    enc = h.HdlcEncoder()
    assert enc.idle and enc.pull(3) == b"\x7e\x7e\x7e"
    enc.send(b"\x80\x80\x00")                               # a FISU
    assert enc.pending == 1 and not enc.idle
    line = enc.pull(9)
    f = ref_crc(b"\x80\x80\x00")
    # the last idle flag is already gone: the frame gets its own opening flag
    assert line == b"\x7e\x80\x80\x00" + bytes((f & 0xFF, f >> 8)) + b"\x7e" * 3
    assert enc.idle and enc.frames == 1 and enc.octets == 12


def test_encoder_reopens_after_a_lost_flag(h):
    """A receiver that lost the idle flags (a broken link just restored) gets the frame."""
    enc, dec = h.HdlcEncoder(), h.HdlcDecoder()
    dec.feed(enc.pull(4))
    dec.feed(bytes(b ^ 0x5A for b in enc.pull(50)))    # the flags arrive corrupted
    enc.send(b"\x01\x02\x03back")
    assert dec.feed(enc.pull(20)) == [b"\x01\x02\x03back"]


def test_encoder_stuffs_and_shares_flags(h):
    enc = h.HdlcEncoder()
    frames = [b"\xff\xff\xff", b"\x7e\x7e\x7e\x7e", b"\x1f\xf8\x3e"]
    for f in frames:
        enc.send(f)
    bits = FLAG + "".join(ref_frame(f) + FLAG for f in frames)
    n = (len(bits) + 7) // 8
    assert enc.pull(n) == pack(bits)
    assert enc.frames == 3 and enc.pending == 0


def test_encoder_pull_zero_and_bad_args(h):
    enc = h.HdlcEncoder()
    assert enc.pull(0) == b""
    with pytest.raises(ValueError):
        enc.pull(-1)
    with pytest.raises(TypeError):
        enc.pull(1.5)
    with pytest.raises(ValueError):
        enc.send(b"")
    with pytest.raises(TypeError):
        enc.send("text")
    with pytest.raises(TypeError):
        enc.send([1, 2, 3])
    with pytest.raises(TypeError):
        enc.send(np.zeros(4, np.int16))
    with pytest.raises(ValueError):
        enc.send(b"\x00" * 65537)


# --- decoder: reference streams -----------------------------------------------------------

def test_decoder_counts_bad_frames(h):
    good = b"\x01\x02\x03good"
    bits = FLAG * 2
    bits += ref_frame(good) + FLAG                                        # good
    bits += ref_frame(b"\x01\x02\x03bad", fcs=0x1234) + FLAG              # bad FCS
    bits += ref_frame(b"\x01\x02") + FLAG                                 # short (MTP2: >= 3)
    bits += ref_frame(b"\x05\x06\x07abort")[:30] + "1111111" + "1" * 9    # abort
    bits += FLAG + ref_frame(good)[:-3] + FLAG                            # not whole octets
    bits += ref_frame(good) + FLAG + FLAG                                 # good again
    dec = h.HdlcDecoder()
    assert dec.feed(pack(bits)) == [good, good]
    c = dec.counters
    assert (c["frames"], c["fcs_errors"], c["short_frames"], c["aborts"], c["misaligned"]) == (2, 1, 1, 1, 1)
    assert dec.frames == 2 and dec.octets == len(pack(bits))


def test_decoder_long_frames_and_limits(h):
    dec = h.HdlcDecoder(min_frame=3, max_frame=10)
    bits = FLAG + ref_frame(b"x" * 10) + FLAG + ref_frame(b"y" * 11) + FLAG
    bits += ref_frame(b"z" * 500) + FLAG + ref_frame(b"ok!") + FLAG
    assert dec.feed(pack(bits)) == [b"x" * 10, b"ok!"]
    assert dec.long_frames == 2
    mtp2 = h.HdlcDecoder(max_frame=h.MTP2_MAX_FRAME)
    assert mtp2.feed(pack(FLAG + ref_frame(b"m" * 276) + FLAG)) == [b"m" * 276]
    for bad in ((0, 10), (5, 4), (1, 70000)):
        with pytest.raises(ValueError):
            h.HdlcDecoder(*bad)
    with pytest.raises(TypeError):
        h.HdlcDecoder(min_frame="3")


def test_decoder_shared_zero_flags_and_hunting(h):
    # flags sharing their zero (011111101111110), leading garbage, all-ones idle
    f = b"\x10\x20\x30\x40"
    bits = "1" * 40 + "0110" + "0111111011111101111110" + ref_frame(f) + FLAG
    bits += "1" * 100 + FLAG + ref_frame(f) + "0111111011111110"
    dec = h.HdlcDecoder()
    assert dec.feed(pack(bits)) == [f, f]
    assert dec.fcs_errors == 0


def test_decoder_reset(h):
    dec = h.HdlcDecoder()
    line = pack(FLAG + ref_frame(b"abcdef") + FLAG)
    assert dec.feed(line[:4]) == []
    dec.reset()
    assert dec.feed(line[4:]) == []                 # no flag seen since the reset
    assert dec.feed(line) == [b"abcdef"]


@pytest.mark.parametrize("bad, exc", [("abc", TypeError), (None, TypeError), ([1, 2], TypeError),
                                      (np.zeros(4, np.int16), TypeError),
                                      (np.zeros((4, 4), np.uint8)[:, ::2], ValueError)])
def test_decoder_bad_input(h, bad, exc):
    with pytest.raises(exc):
        h.HdlcDecoder().feed(bad)


# --- properties ---------------------------------------------------------------------------

frames_st = st.lists(st.binary(min_size=3, max_size=80), min_size=1, max_size=8)


@given(frames_st, st.lists(st.integers(0, 4), min_size=8, max_size=8), st.integers(0, 7),
       st.integers(0, 2**32 - 1))
def test_reference_stream_with_idle_flags_decodes(h, frames, idle, offset, seed):
    """Random frames, random idle flags between them, any bit offset, any split."""
    bits = "1" * offset + FLAG
    for i, f in enumerate(frames):
        bits += ref_frame(f) + FLAG * (1 + idle[i % len(idle)])
    dec = h.HdlcDecoder()
    got = feed_split(dec, pack(bits), random.Random(seed))
    assert got == frames
    assert dec.fcs_errors == dec.aborts == dec.short_frames == dec.long_frames == dec.misaligned == 0


@given(frames_st, st.lists(st.integers(0, 40), min_size=8, max_size=8), st.integers(0, 2**32 - 1))
def test_encoder_decoder_round_trip(h, frames, pulls, seed):
    """Encoder -> decoder: frames come back identical, with idle flags between them."""
    enc, dec = h.HdlcEncoder(), h.HdlcDecoder()
    rng = random.Random(seed)
    got: list[bytes] = []
    for i, f in enumerate(frames):
        enc.send(f)
        got += feed_split(dec, enc.pull(pulls[i % len(pulls)]), rng)
    got += feed_split(dec, enc.pull(2 * sum(len(f) + 4 for f in frames) + 8), rng)
    assert got == frames
    assert enc.idle and enc.frames == len(frames) == dec.frames


@given(st.binary(max_size=600), st.integers(0, 2**32 - 1))
def test_arbitrary_bytes_never_raise(h, data, seed):
    dec = h.HdlcDecoder(min_frame=1, max_frame=64)
    frames = feed_split(dec, data, random.Random(seed))
    assert dec.octets == len(data)
    for f in frames:
        assert 1 <= len(f) <= 64
    # whatever came before, a clean flag-delimited frame is received afterwards
    assert dec.feed(pack(FLAG + FLAG + ref_frame(b"\x01\x02\x03") + FLAG)) == [b"\x01\x02\x03"]


def test_twin_and_compiled_agree_on_noise():
    """Same counters and frames from both kernels on a long noisy stream (seeded)."""
    from _boardcore import _select
    comp = _select.compiled("hdlc")
    if comp is None:
        pytest.skip("hdlc_c not built")
    twin = _select.twin("hdlc")
    rng = np.random.default_rng(7)
    enc = comp.HdlcEncoder()
    for i in range(200):
        enc.send(rng.integers(0, 256, int(rng.integers(3, 60)), dtype=np.uint8).tobytes())
    line = np.frombuffer(enc.pull(12000), np.uint8).copy()
    flips = rng.integers(0, line.size * 8, 60)
    for b in flips:
        line[b // 8] ^= 1 << (b % 8)
    a, b = comp.HdlcDecoder(), twin.HdlcDecoder()
    assert a.feed(line) == b.feed(line.tobytes())
    assert a.counters == b.counters
    assert a.frames > 100 and a.fcs_errors + a.aborts + a.misaligned + a.short_frames > 0


def test_twin_and_compiled_agree_on_flag_rich_garbage():
    """Octets rich in flags, aborts and runs of 1s, split anywhere, tight limits; and the
    encoders' line octets for frames full of 1s and flags, pulled in odd amounts."""
    from _boardcore import _select
    comp = _select.compiled("hdlc")
    if comp is None:
        pytest.skip("hdlc_c not built")
    twin = _select.twin("hdlc")
    rng = np.random.default_rng(0)
    nasty = np.array([0x7E, 0xFF, 0x00, 0x3F, 0xFC, 0x1F, 0xF8, 0x7F, 0xFE], np.uint8)
    for _ in range(60):
        n = int(rng.integers(1, 2000))
        data = np.where(rng.random(n) < 0.5, rng.choice(nasty, n), rng.integers(0, 256, n)).astype(np.uint8)
        lo = int(rng.integers(1, 5))
        hi = int(rng.integers(lo, 80))
        a, b = comp.HdlcDecoder(lo, hi), twin.HdlcDecoder(lo, hi)
        i, fa, fb = 0, [], []
        while i < n:
            j = min(n, i + int(rng.integers(1, 50)))
            fa += a.feed(data[i:j])
            fb += b.feed(data[i:j].tobytes())
            i = j
        assert fa == fb and a.counters == b.counters
    for _ in range(40):
        ea, eb = comp.HdlcEncoder(), twin.HdlcEncoder()
        for _ in range(int(rng.integers(1, 12))):
            f = rng.choice(nasty, int(rng.integers(1, 60))).tobytes()
            ea.send(f)
            eb.send(f)
            m = int(rng.integers(0, 40))
            assert ea.pull(m) == eb.pull(m)
            assert (ea.pending, ea.frames) == (eb.pending, eb.frames)


# --- interop: spandsp's HDLC (Debian libspandsp-dev), an independent implementation -----

_SPANDSP_CDEF = """
typedef struct hdlc_rx_state_s hdlc_rx_state_t;
typedef struct hdlc_tx_state_s hdlc_tx_state_t;
hdlc_rx_state_t *hdlc_rx_init(hdlc_rx_state_t *s, int crc32, int report_bad_frames,
                              int framing_ok_threshold, void *handler, void *user_data);
void hdlc_rx_put_bit(hdlc_rx_state_t *s, int new_bit);
int hdlc_rx_free(hdlc_rx_state_t *s);
hdlc_tx_state_t *hdlc_tx_init(hdlc_tx_state_t *s, int crc32, int inter_frame_flags, int progressive,
                              void *handler, void *user_data);
int hdlc_tx_frame(hdlc_tx_state_t *s, const uint8_t *frame, size_t len);
int hdlc_tx_flags(hdlc_tx_state_t *s, int len);
int hdlc_tx_get_bit(hdlc_tx_state_t *s);
int hdlc_tx_free(hdlc_tx_state_t *s);
"""


@pytest.fixture(scope="module")
def spandsp():
    try:
        import cffi
        ffi = cffi.FFI()
        ffi.cdef(_SPANDSP_CDEF)
        lib = ffi.dlopen("libspandsp.so.2")
    except (ImportError, OSError) as exc:
        pytest.skip(f"spandsp not available (Debian libspandsp-dev): {exc}")
    return ffi, lib


def _interop_frames() -> list[bytes]:
    rng = np.random.default_rng(9)
    frames = [rng.integers(0, 256, int(rng.integers(3, 280)), dtype=np.uint8).tobytes() for _ in range(60)]
    return frames + [b"\xff" * 40, b"\x7e" * 40, b"\x1f\xf8" * 20, b"\x80\x80\x00"]


@pytest.mark.interop
def test_spandsp_transmits_we_receive(h, spandsp):
    ffi, lib = spandsp
    frames = _interop_frames()
    tx = lib.hdlc_tx_init(ffi.NULL, 0, 1, 0, ffi.NULL, ffi.NULL)
    try:
        lib.hdlc_tx_flags(tx, 2)
        bits: list[int] = []
        for f in frames:
            while lib.hdlc_tx_frame(tx, f, len(f)) != 0:      # one frame at a time
                bits += [lib.hdlc_tx_get_bit(tx) for _ in range(8)]
        bits += [lib.hdlc_tx_get_bit(tx) for _ in range(8 * 400)]
    finally:
        lib.hdlc_tx_free(tx)
    line = np.packbits(np.array(bits, np.uint8), bitorder="little").tobytes()   # LSB first
    dec = h.HdlcDecoder(max_frame=h.MTP2_MAX_FRAME)
    assert feed_split(dec, line, random.Random(1)) == frames
    assert dec.fcs_errors == dec.aborts == dec.misaligned == 0


@pytest.mark.interop
def test_we_transmit_spandsp_receives(h, spandsp):
    ffi, lib = spandsp
    frames = _interop_frames()
    got: list[tuple[bytes, int]] = []

    @ffi.callback("void(void *, const uint8_t *, int, int)")
    def handler(user_data, pkt, n, ok):
        if n >= 0:                                             # n < 0: status reports
            got.append((bytes(ffi.buffer(pkt, n)), ok))

    rx = lib.hdlc_rx_init(ffi.NULL, 0, 1, 1, handler, ffi.NULL)
    try:
        enc = h.HdlcEncoder()
        for i, f in enumerate(frames):
            enc.send(f)
            line = enc.pull(40 + i)
            for o in line:
                for k in range(8):
                    lib.hdlc_rx_put_bit(rx, (o >> k) & 1)
        for o in enc.pull(2 * sum(len(f) + 4 for f in frames)):
            for k in range(8):
                lib.hdlc_rx_put_bit(rx, (o >> k) & 1)
    finally:
        lib.hdlc_rx_free(rx)
    assert got == [(f, 1) for f in frames]


# --- MTP2 fill-in on the card (mtp2_fill) ------------------------------------------------------

FISU_A = b"\x80\x80\x00"
FISU_B = b"\x81\x81\x00"
SIN = b"\xff\xff\x01\x02"
MSU_X = b"\x81\x80\x05\x03\x01\x02\x03\x04"


def test_mtp2_fill_repeats_the_last_fill_in_instead_of_flags(h):
    """The encoder repeats the last FISU/LSSU whole, back to back with one flag between, as a
    bit-string reference built here says; a decoder without the filter sees every repeat."""
    enc, dec = h.HdlcEncoder(), h.HdlcDecoder()
    enc.mtp2_fill = True
    enc.send(FISU_A)
    line = b"".join(enc.pull(160) for _ in range(3))
    frames = dec.feed(line)
    assert set(frames) == {FISU_A} and len(frames) >= 3 * 160 * 8 // 48 - 1
    assert enc.fill_repeats >= len(frames) - 1 and enc.frames == 1
    fcs = ref_crc(FISU_A)
    one = stuff(lsb_bits(FISU_A + bytes((fcs & 0xFF, fcs >> 8)))) + FLAG
    bits = lsb_bits(line)
    start = bits.index(FLAG) + 8                    # the opening flag of the first FISU
    assert bits[start:start + 20 * len(one)] == one * 20


def test_mtp2_fill_keeps_the_fill_across_msus_and_stops_on_none(h):
    """An MSU goes out once, then the fill-in again; an encoder not in the mode sends flags."""
    enc, dec = h.HdlcEncoder(), h.HdlcDecoder()
    enc.mtp2_fill = True
    enc.send(FISU_A)
    enc.pull(20)
    enc.send(MSU_X)
    frames = dec.feed(enc.pull(160))
    assert frames.count(MSU_X) == 1 and frames[-1] == FISU_A
    enc.send(SIN)
    frames = dec.feed(enc.pull(160))
    assert frames[-1] == SIN and frames.count(SIN) > 10
    plain = h.HdlcEncoder()
    plain.send(FISU_A)
    assert h.HdlcDecoder().feed(plain.pull(160)) == [FISU_A] and plain.fill_repeats == 0


def test_mtp2_fill_decoder_drops_repeats_and_counts_them(h):
    """A fill-in equal to the frame before it is counted, not returned; a changed one, an MSU
    between, or an LSSU after a FISU is returned."""
    enc, dec = h.HdlcEncoder(), h.HdlcDecoder()
    dec.mtp2_fill = True
    for f in (FISU_A, FISU_A, FISU_A, FISU_B, FISU_B, MSU_X, MSU_X, FISU_B, SIN, SIN, FISU_B):
        enc.send(f)
    got = dec.feed(enc.pull(200))
    assert got == [FISU_A, FISU_B, MSU_X, MSU_X, FISU_B, SIN, FISU_B]
    assert dec.fill_repeats == 4 and dec.frames == 11
    assert not h.is_fill(MSU_X) and h.is_fill(FISU_A) and h.is_fill(SIN)


def test_mtp2_fill_same_line_from_both_kernels():
    """Compiled and twin encoders in the mode: the same line octets for random fill-ins and
    MSUs pulled in random amounts; their decoders filter the same repeats."""
    from _boardcore import _select
    comp = _select.compiled("hdlc")
    if comp is None:
        pytest.skip("hdlc_c not built")
    twin = _select.twin("hdlc")
    rng = random.Random(3)
    a, b = comp.HdlcEncoder(), twin.HdlcEncoder()
    da, db = comp.HdlcDecoder(), twin.HdlcDecoder()
    for x in (a, b, da, db):
        x.mtp2_fill = True
    for _ in range(300):
        if rng.random() < 0.3:
            f = bytes(rng.getrandbits(8) for _ in range(rng.choice([3, 3, 4, 5, 9])))
            if len(f) <= 5:
                f = f[:2] + bytes((f[2] & 0xC0 | (len(f) - 3),)) + f[3:]
            a.send(f)
            b.send(f)
        n = rng.randrange(0, 200)
        la, lb = a.pull(n), b.pull(n)
        assert la == lb
        assert da.feed(la) == db.feed(lb)
    assert a.fill_repeats == b.fill_repeats > 100
    assert da.fill_repeats == db.fill_repeats > 100 and da.counters == db.counters

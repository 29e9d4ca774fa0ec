"""G.711 codec: exhaustive against tables derived here from the G.711 decision values.

The expected tables are built from the quantisation intervals of G.711 Tables 1 and 2
(decision values and decoder outputs per segment), independently of the kernel's bit
manipulation; the 16-bit mapping follows the ITU reference (G.191): A-law uses x >> 3,
u-law x >> 2, negative samples by one's complement. Every test runs on both kernels.
"""
from __future__ import annotations

import array

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.conftest import kernel_impls, load_impl


@pytest.fixture(scope="module", params=kernel_impls("g711"))
def g(request):
    return load_impl(request.param)


# --- the reference, from the intervals ----------------------------------------------------

def _alaw_intervals() -> np.ndarray:
    """Lower decision value (12-bit magnitude) of A-law magnitude index 0..127, plus 4096."""
    lows = [2 * q for q in range(16)]                           # segment 0: step 2 from 0
    for s in range(1, 8):
        lows += [(1 << (s + 4)) + q * (1 << s) for q in range(16)]  # segment s: 2^(s+4), step 2^s
    return np.array(lows + [4096])


def _ulaw_intervals() -> np.ndarray:
    """Lower decision value (13-bit magnitude, 0..8159) of u-law magnitude index 0..127."""
    lows = []
    for s in range(8):
        lows += [max(0, (1 << (s + 5)) + q * (1 << (s + 1)) - 33) for q in range(16)]
    return np.array(lows + [8159])


A_LOW = _alaw_intervals()
U_LOW = _ulaw_intervals()
#: Decoder output (16-bit) of each magnitude index: the middle of its interval.
A_MID16 = ((A_LOW[:-1] + A_LOW[1:]) * 4).astype(np.int64)          # x8 / 2
U_MID16 = np.array([4 * ((1 << (s + 5)) + q * (1 << (s + 1)) + (1 << s) - 33)
                    for s in range(8) for q in range(16)])


def ref_alaw_code(x: int) -> int:
    pos = x >= 0
    m = (x if pos else -x - 1) >> 3
    k = int(np.searchsorted(A_LOW, m, side="right")) - 1
    k = min(k, 127)
    return ((0x80 if pos else 0) | k) ^ 0x55


def ref_ulaw_code(x: int) -> int:
    pos = x >= 0
    m = (x if pos else -x - 1) >> 2
    k = min(int(np.searchsorted(U_LOW, m, side="right")) - 1, 127)
    return (0x80 if pos else 0) | (k ^ 0x7F)


def ref_alaw_value(code: int) -> int:
    a = code ^ 0x55
    v = int(A_MID16[a & 0x7F])
    return v if a & 0x80 else -v


def ref_ulaw_value(code: int) -> int:
    k = (code & 0x7F) ^ 0x7F
    v = int(U_MID16[k])
    return v if code & 0x80 else -v


ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))


@pytest.fixture(scope="module")
def ref_tables():
    return (np.array([ref_alaw_code(int(x)) for x in ALL_PCM], dtype=np.uint8),
            np.array([ref_ulaw_code(int(x)) for x in ALL_PCM], dtype=np.uint8))


# --- exhaustive ---------------------------------------------------------------------------

def test_decode_all_256_codes(g):
    assert g.alaw_decode(ALL_CODES).tolist() == [ref_alaw_value(c) for c in range(256)]
    assert g.ulaw_decode(ALL_CODES).tolist() == [ref_ulaw_value(c) for c in range(256)]


def test_encode_all_65536_inputs(g, ref_tables):
    ra, ru = ref_tables
    assert np.array_equal(np.frombuffer(g.alaw_encode(ALL_PCM), np.uint8), ra)
    assert np.array_equal(np.frombuffer(g.ulaw_encode(ALL_PCM), np.uint8), ru)


def test_known_codes(g):
    # G.711: A-law idle 0xD5 (+8), u-law idle 0xFF; full scale 0xAA/0x2A and 0x80/0x00
    pcm = np.array([0, -1, 32767, -32768, 8, -8], np.int16)
    assert g.alaw_encode(pcm) == bytes([0xD5, 0x55, 0xAA, 0x2A, 0xD5, 0x55])
    assert g.ulaw_encode(pcm) == bytes([0xFF, 0x7F, 0x80, 0x00, 0xFE, 0x7E])
    assert g.alaw_decode(b"\xd5\x55\xaa\x2a").tolist() == [8, -8, 32256, -32256]
    assert g.ulaw_decode(b"\xff\x7f\x80\x00").tolist() == [0, 0, 32124, -32124]
    assert g.ALAW_SILENCE == 0xD5 and g.ULAW_SILENCE == 0xFF


def test_decode_encode_is_identity(g):
    assert g.alaw_encode(g.alaw_decode(ALL_CODES)) == ALL_CODES
    u = g.ulaw_encode(g.ulaw_decode(ALL_CODES))
    # u-law has two zeros; -0 (0x7F) decodes to 0 which encodes as +0 (0xFF)
    assert u == ALL_CODES.replace(b"\x7f", b"\xff")


# G.711 Table 4 (A -> u) and Table 3 (u -> A), codes numbered by magnitude as in the
# Recommendation (A-law 1..128, u-law 0..127): G711_A2U[i] is the u-law number for A-law
# number i+1, G711_U2A[i] the A-law number for u-law number i (errata applied).
G711_A2U = [1, 3, 5, 7, 9, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
            32, 32, 33, 33, 34, 34, 35, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 48, 49,
            49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 64] + list(range(65, 81)) + \
    list(range(80, 128))
G711_U2A = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8] + list(range(9, 26)) + [27, 29, 31] + \
    list(range(33, 45)) + [46, 48] + list(range(49, 63)) + list(range(64, 80)) + [80] + list(range(82, 129))


def test_conversion_tables_match_g711_tables_3_and_4(g):
    assert len(G711_A2U) == 128 and len(G711_U2A) == 128
    a2u = g.alaw_to_ulaw(ALL_CODES)
    u2a = g.ulaw_to_alaw(ALL_CODES)
    for code in range(256):
        a = code ^ 0x55
        want = (a & 0x80) | (G711_A2U[a & 0x7F] ^ 0x7F)
        assert a2u[code] == want, f"A-law {code:#04x}"
        u = code ^ 0x7F
        want = ((u & 0x80) | (G711_U2A[u & 0x7F] - 1)) ^ 0x55
        assert u2a[code] == want, f"u-law {code:#04x}"


# --- properties ---------------------------------------------------------------------------

@given(hnp.arrays(np.int16, st.integers(0, 400)))
def test_roundtrip_error_within_one_step(g, x):
    xi = x.astype(np.int32)
    # half a quantisation step is about |x|/32 in every segment (A and u), plus the
    # truncation of the 16-bit sample to 13/14 bits; 16 at the smallest steps
    bound = (np.abs(xi) + 132) // 32 + 16
    for enc, dec in ((g.alaw_encode, g.alaw_decode), (g.ulaw_encode, g.ulaw_decode)):
        y = dec(enc(x)).astype(np.int32)
        assert np.all(np.abs(y - xi) <= bound), (x, y)
        assert np.all(y * xi >= 0)                     # the sign survives


@given(st.binary(max_size=300))
def test_codes_roundtrip_and_conversions(g, data):
    assert g.alaw_encode(g.alaw_decode(data)) == data
    assert g.ulaw_to_alaw(g.alaw_to_ulaw(data)) == g.ulaw_to_alaw(g.alaw_to_ulaw(data))
    assert len(g.alaw_to_ulaw(data)) == len(data)


@given(st.lists(st.binary(min_size=40, max_size=40), min_size=1, max_size=5))
def test_mix_is_saturating_sum(g, streams):
    for mix, dec, enc in ((g.mix_alaw, g.alaw_decode, g.alaw_encode),
                          (g.mix_ulaw, g.ulaw_decode, g.ulaw_encode)):
        total = sum(dec(s).astype(np.int32) for s in streams)
        want = enc(np.clip(total, -32768, 32767).astype(np.int16))
        assert mix(*streams) == want
        assert mix(*reversed(streams)) == want


def test_mix_saturates(g):
    loud = g.alaw_encode(np.full(8, 30000, np.int16))
    assert g.mix_alaw(loud, loud) == b"\xaa" * 8
    neg = g.ulaw_encode(np.full(8, -30000, np.int16))
    assert g.mix_ulaw(neg, neg, neg) == b"\x00" * 8
    assert g.mix_alaw(b"") == b""


# --- input forms and *_into ---------------------------------------------------------------

def test_input_forms(g):
    x = np.array([[0, 100, -100, 32767], [5, -5, 1000, -32768]], np.int16)
    want = g.alaw_encode(x.reshape(-1))
    assert g.alaw_encode(x) == want                                   # 2-D (channels, n)
    assert g.alaw_encode(x.tobytes()) == want                          # bytes: native int16
    assert g.alaw_encode(bytearray(x.tobytes())) == want
    assert g.alaw_encode(memoryview(x.tobytes())) == want
    assert g.alaw_encode(array.array("h", x.reshape(-1).tolist())) == want
    assert g.alaw_encode(np.zeros(0, np.int16)) == b""
    assert g.alaw_decode(np.frombuffer(want, np.uint8)).tolist() == g.alaw_decode(want).tolist()
    assert g.alaw_decode(bytearray(want)).dtype == np.int16
    assert g.ulaw_decode(b"").shape == (0,)


def test_into_variants(g):
    x = np.arange(-32768, 32768, 97, dtype=np.int16)
    n = len(x)
    out = bytearray(n + 5)
    assert g.alaw_encode_into(x, out) == n and bytes(out[:n]) == g.alaw_encode(x)
    assert out[n:] == bytearray(5)
    o8 = np.zeros(n, np.uint8)
    assert g.ulaw_encode_into(x, o8) == n and o8.tobytes() == g.ulaw_encode(x)
    pcm = np.zeros(n, np.int16)
    assert g.alaw_decode_into(g.alaw_encode(x), pcm) == n
    assert np.array_equal(pcm, g.alaw_decode(g.alaw_encode(x)))
    assert g.ulaw_decode_into(bytes(o8), pcm) == n and np.array_equal(pcm, g.ulaw_decode(bytes(o8)))
    conv = bytearray(256)
    assert g.alaw_to_ulaw_into(ALL_CODES, conv) == 256 and bytes(conv) == g.alaw_to_ulaw(ALL_CODES)
    assert g.ulaw_to_alaw_into(ALL_CODES, conv) == 256 and bytes(conv) == g.ulaw_to_alaw(ALL_CODES)
    assert g.alaw_encode_into(b"", bytearray(0)) == 0


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad, exc", [
    (np.zeros(4, np.float64), TypeError),
    (np.array([np.nan, 1.0]), TypeError),
    (np.zeros(4, np.int32), TypeError),
    (np.zeros(4, np.uint16), TypeError),
    (b"\x00\x01\x02", ValueError),                      # odd byte count
    (np.zeros((4, 4), np.int16)[:, ::2], ValueError),   # not contiguous
    ("abcd", TypeError),
    ([1, 2, 3], TypeError),
    (None, TypeError),
    (12, TypeError),
    (array.array("i", [1, 2]), TypeError),
])
def test_bad_pcm(g, bad, exc):
    with pytest.raises(exc):
        g.alaw_encode(bad)
    with pytest.raises(exc):
        g.ulaw_encode(bad)
    with pytest.raises(exc):
        g.alaw_encode_into(bad, bytearray(64))


@pytest.mark.parametrize("bad, exc", [
    (np.zeros(4, np.int16), TypeError),
    ("abc", TypeError),
    ([1, 2], TypeError),
    (None, TypeError),
    (np.zeros((4, 4), np.uint8)[:, ::2], ValueError),
    (array.array("h", [1, 2]), TypeError),
])
def test_bad_codes(g, bad, exc):
    for fn in (g.alaw_decode, g.ulaw_decode, g.alaw_to_ulaw, g.ulaw_to_alaw, g.mix_alaw):
        with pytest.raises(exc):
            fn(bad)


def test_bad_outputs(g):
    x = np.zeros(10, np.int16)
    with pytest.raises(ValueError):
        g.alaw_encode_into(x, bytearray(9))                 # too small
    with pytest.raises(TypeError):
        g.alaw_encode_into(x, bytes(10))                    # read-only
    with pytest.raises(TypeError):
        g.alaw_encode_into(x, np.zeros(10, np.int16))       # wrong dtype
    with pytest.raises(TypeError):
        g.alaw_decode_into(b"\x00" * 10, bytearray(20).__len__())
    with pytest.raises(TypeError):
        g.alaw_decode_into(b"\x00" * 10, np.zeros(10, np.uint8))
    ro = np.zeros(10, np.int16)
    ro.flags.writeable = False
    with pytest.raises((ValueError, TypeError)):
        g.ulaw_decode_into(b"\x00" * 10, ro)
    with pytest.raises(ValueError):
        g.ulaw_decode_into(b"\x00" * 10, bytearray(19))     # 9.5 samples


def test_bad_mix(g):
    with pytest.raises(ValueError):
        g.mix_alaw()
    with pytest.raises(ValueError):
        g.mix_ulaw(b"\x00" * 4, b"\x00" * 5)
    with pytest.raises(TypeError):
        g.mix_alaw(b"\x00", "x")


@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_crash(g, data):
    for fn in (g.alaw_decode, g.ulaw_decode, g.alaw_to_ulaw, g.ulaw_to_alaw, g.mix_alaw, g.mix_ulaw):
        fn(data)
    if len(data) % 2:
        with pytest.raises(ValueError):
            g.alaw_encode(data)
    else:
        assert len(g.ulaw_encode(data)) == len(data) // 2


# --- interop: spandsp (Debian libspandsp-dev), an independent implementation ---------------

@pytest.fixture(scope="module")
def spandsp():
    try:
        import cffi
        ffi = cffi.FFI()
        ffi.cdef("""
            typedef struct g711_state_s g711_state_t;
            uint8_t alaw_to_ulaw(uint8_t alaw);
            uint8_t ulaw_to_alaw(uint8_t ulaw);
            g711_state_t *g711_init(g711_state_t *s, int mode);
            int g711_encode(g711_state_t *s, uint8_t g711_data[], const int16_t amp[], int len);
            int g711_decode(g711_state_t *s, int16_t amp[], const uint8_t g711_data[], int g711_bytes);
            int g711_free(g711_state_t *s);
        """)
        lib = ffi.dlopen("libspandsp.so.2")
    except (ImportError, OSError) as exc:
        pytest.skip(f"spandsp not available (Debian libspandsp-dev): {exc}")
    return ffi, lib


@pytest.mark.interop
def test_spandsp_agrees(g, spandsp):
    """A-law: identical for all 65 536 inputs; decoders and Tables 3/4 identical. u-law:
    spandsp takes the magnitude of a negative sample as -x (two's complement), G.191 as
    -x-1 (one's complement), so spandsp(x) == ours(x - 1) for negative x."""
    ffi, lib = spandsp
    x = np.ascontiguousarray(ALL_PCM)
    codes = np.frombuffer(ALL_CODES, np.uint8).copy()
    for mode, enc, dec in ((0, g.alaw_encode, g.alaw_decode), (1, g.ulaw_encode, g.ulaw_decode)):
        s = lib.g711_init(ffi.NULL, mode)
        try:
            out = ffi.new("uint8_t[]", len(x))
            lib.g711_encode(s, out, ffi.cast("int16_t *", x.ctypes.data), len(x))
            theirs = np.frombuffer(ffi.buffer(out, len(x)), np.uint8)
            pcm = ffi.new("int16_t[]", 256)
            lib.g711_decode(s, pcm, ffi.cast("uint8_t *", codes.ctypes.data), 256)
            assert np.array_equal(np.frombuffer(ffi.buffer(pcm, 512), np.int16), dec(ALL_CODES))
        finally:
            lib.g711_free(s)
        ours = np.frombuffer(enc(x), np.uint8)
        if mode == 0:
            assert np.array_equal(theirs, ours)
        else:
            pos = x >= 0
            assert np.array_equal(theirs[pos], ours[pos])
            assert np.array_equal(theirs[1:32768], ours[:32767])   # x in -32767..-1 vs x - 1
    assert bytes(lib.alaw_to_ulaw(i) for i in range(256)) == g.alaw_to_ulaw(ALL_CODES)
    assert bytes(lib.ulaw_to_alaw(i) for i in range(256)) == g.ulaw_to_alaw(ALL_CODES)

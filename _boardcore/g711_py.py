"""G.711 A-law and u-law (pure-Python twin of ``g711_c``): encode, decode, convert, mix.

Bit-exact with ITU-T G.711 as implemented by the ITU reference software (G.191 STL
``g711.c``), for 16-bit linear PCM:

* A-law (G.711 clause 2, Tables 1a/1b): 13-bit segment code of the 16-bit sample
  (``x >> 3``), negative samples by one's complement (``~x >> 3``), even bits inverted
  (XOR 0x55), sign bit 1 for positive;
* u-law (G.711 clause 3, Tables 2a/2b): 14-bit magnitude (``x >> 2``, one's complement for
  negatives) biased by 33, clipped at 8158, all bits inverted;
* decoding gives the middle of each quantisation interval (A-law 0xD5 -> +8, u-law
  0xFF -> 0);
* ``alaw_to_ulaw`` / ``ulaw_to_alaw`` follow G.711 Tables 3 and 4 (direct conversion
  without passing through linear PCM of another scale): nearest decoder value with both
  laws normalised to their own overload point (A-law 4096, u-law 8159), ties to the larger
  magnitude, plus the two u-law codes (segment 3, steps 0 and 1) where Table 3 picks the
  next A-law step up.

Everything works through lookup tables computed once here; the compiled kernel copies
these same tables, so both implementations agree by construction and the tests compare
both against a table derived independently from the segment rules.

Inputs: linear PCM is an int16 numpy array (any shape, C-contiguous) or any buffer of
int16 (bytes/bytearray read as native-endian int16, so an odd byte count is an error);
G.711 codes are any buffer of octets. Wrong types raise TypeError, wrong sizes ValueError.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._blocks import as_octets

__all__ = [
    "alaw_encode", "alaw_decode", "ulaw_encode", "ulaw_decode", "alaw_to_ulaw", "ulaw_to_alaw",
    "alaw_encode_into", "alaw_decode_into", "ulaw_encode_into", "ulaw_decode_into",
    "alaw_to_ulaw_into", "ulaw_to_alaw_into", "mix_alaw", "mix_ulaw",
    "ALAW_DECODE", "ULAW_DECODE", "ALAW_SILENCE", "ULAW_SILENCE",
]

#: The code of a zero sample (idle channel), G.711 clause 2 / 3.
ALAW_SILENCE: int = 0xD5
ULAW_SILENCE: int = 0xFF


# --- tables -------------------------------------------------------------------------------

def _alaw_decode_table() -> NDArray[np.int16]:
    """G.711 Table 1: decoder output of each A-law code, scaled to 16 bits (x8)."""
    out = np.zeros(256, dtype=np.int16)
    for code in range(256):
        a = code ^ 0x55
        seg, q = (a >> 4) & 7, a & 15
        mag = (q << 4) + 8 if seg == 0 else ((q << 4) + 0x108) << (seg - 1)
        out[code] = mag if a & 0x80 else -mag
    return out


def _ulaw_decode_table() -> NDArray[np.int16]:
    """G.711 Table 2: decoder output of each u-law code, scaled to 16 bits (x4)."""
    out = np.zeros(256, dtype=np.int16)
    for code in range(256):
        u = ~code & 0xFF
        seg, q = (u >> 4) & 7, u & 15
        mag = (((q << 3) + 0x84) << seg) - 0x84
        out[code] = -mag if u & 0x80 else mag
    return out


def _alaw_encode_table() -> NDArray[np.uint8]:
    """A-law code of every 13-bit value ``x >> 3`` (index ``(x >> 3) & 0x1FFF``)."""
    v = np.arange(8192, dtype=np.int32)
    v = np.where(v >= 4096, v - 8192, v)              # the signed 13-bit value
    pos = v >= 0
    mag = np.where(pos, v, ~v)                        # one's complement: 0..4095
    seg = np.zeros_like(mag)
    for s in range(1, 8):
        seg += mag >= (16 << s)                       # segment s starts at 32 << (s-1)
    shift = np.maximum(seg, 1)
    code = (seg << 4) | ((mag >> shift) & 15)
    code = np.where(pos, code | 0x80, code) ^ 0x55
    return code.astype(np.uint8)


def _ulaw_encode_table() -> NDArray[np.uint8]:
    """u-law code of every 14-bit value ``x >> 2`` (index ``(x >> 2) & 0x3FFF``)."""
    v = np.arange(16384, dtype=np.int32)
    v = np.where(v >= 8192, v - 16384, v)
    pos = v >= 0
    biased = np.minimum(np.where(pos, v, ~v) + 33, 0x1FFF)   # 33..8191 after the clip
    seg = np.zeros_like(biased)
    for s in range(1, 8):
        seg += biased >= (64 << (s - 1))              # segment s starts at 64 << (s-1)
    code = (seg << 4) | ((biased >> (seg + 1)) & 15)
    code = np.where(pos, code | 0x80, code) ^ 0x7F    # u-law sends every bit inverted
    return code.astype(np.uint8)


def _conversion_tables() -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """(A->u, u->A) per G.711 Tables 3/4, over all 256 codes (sign kept)."""
    # decoder magnitude of each magnitude index 0..127 (index = seg << 4 | step)
    # (16-bit A-law values are 8x the 13-bit ones, u-law values 4x the 14-bit ones)
    a_mag = np.array([_ALAW_DECODE[(i | 0x80) ^ 0x55] for i in range(128)], dtype=np.float64) / (8 * 4096.0)
    u_mag = np.array([_ULAW_DECODE[(i | 0x80) ^ 0x7F] for i in range(128)], dtype=np.float64) / (4 * 8159.0)

    def nearest(v: float, table: np.ndarray) -> int:
        d = np.abs(table - v)
        return int(np.nonzero(d <= d.min() + 1e-12)[0][-1])   # ties: the larger magnitude

    a2u_mag = [nearest(a_mag[i], u_mag) for i in range(128)]
    u2a_mag = [nearest(u_mag[i], a_mag) for i in range(128)]
    # G.711 Table 3: u-law segment 3 steps 0 and 1 go one A-law step up (A-law codes
    # 45 and 47 counted from the smallest magnitude), not to the nearest value.
    u2a_mag[48] = 45
    u2a_mag[49] = 47
    a2u = np.zeros(256, dtype=np.uint8)
    u2a = np.zeros(256, dtype=np.uint8)
    for code in range(256):
        a = code ^ 0x55
        sign = a & 0x80
        a2u[code] = (sign | a2u_mag[a & 0x7F]) ^ 0x7F
        u = code ^ 0x7F
        sign = u & 0x80
        u2a[code] = (sign | u2a_mag[u & 0x7F]) ^ 0x55
    return a2u, u2a


_ALAW_DECODE = _alaw_decode_table()
_ULAW_DECODE = _ulaw_decode_table()
#: Decoder tables (read-only views): code -> 16-bit linear sample.
ALAW_DECODE: np.ndarray = _ALAW_DECODE.view()
ULAW_DECODE: np.ndarray = _ULAW_DECODE.view()
ALAW_DECODE.flags.writeable = False
ULAW_DECODE.flags.writeable = False
ALAW_ENCODE: NDArray[np.uint8] = _alaw_encode_table()
ULAW_ENCODE: NDArray[np.uint8] = _ulaw_encode_table()
ALAW_TO_ULAW, ULAW_TO_ALAW = _conversion_tables()
for _t in (ALAW_ENCODE, ULAW_ENCODE, ALAW_TO_ULAW, ULAW_TO_ALAW):
    _t.flags.writeable = False


# --- argument checks (shared with the compiled kernel) -------------------------------------

def as_pcm(samples: object) -> np.ndarray:
    """``samples`` as a 1-D C-contiguous int16 array (a view when possible)."""
    if isinstance(samples, np.ndarray):
        arr = samples
        if arr.dtype.kind == "f":
            raise TypeError(f"linear PCM must be int16, got float dtype {arr.dtype} "
                            "(scale, check for NaN and convert to int16 first)")
        if arr.dtype != np.int16:
            raise TypeError(f"linear PCM must be int16, got dtype {arr.dtype}")
        if not arr.flags.c_contiguous:
            raise ValueError("linear PCM array must be C-contiguous (np.ascontiguousarray)")
        return arr.reshape(-1)
    if isinstance(samples, (str, int, float, list, tuple)) or samples is None:
        raise TypeError(f"linear PCM must be an int16 array or buffer, got {type(samples).__name__}")
    try:
        mv = memoryview(samples)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"linear PCM must be an int16 array or buffer, got {type(samples).__name__}") from None
    if not mv.c_contiguous:
        raise ValueError("linear PCM buffer must be C-contiguous")
    if mv.itemsize == 1 and mv.format in ("B", "b", "c"):
        if mv.nbytes % 2:
            raise ValueError(f"byte buffer of odd length {mv.nbytes} is not int16 samples")
        return np.frombuffer(mv, dtype=np.int16)
    if mv.itemsize == 2 and mv.format in ("h", "=h", "<h", "@h"):
        return np.frombuffer(mv.cast("B"), dtype=np.int16)
    raise TypeError(f"linear PCM buffer must hold int16 samples, got format {mv.format!r}")


def as_codes(data: object) -> np.ndarray:
    """``data`` (G.711 octets) as a 1-D uint8 array (a view when possible)."""
    return np.frombuffer(as_octets(data, "G.711 codes"), dtype=np.uint8)


def out_array(out: object, dtype: type, n: int, what: str) -> np.ndarray:
    """A writable 1-D view of ``out`` with at least ``n`` items of ``dtype``."""
    if isinstance(out, np.ndarray):
        arr = out
        if dtype is np.uint8 and arr.dtype == np.int8:
            arr = arr.view(np.uint8)
        if arr.dtype != dtype:
            raise TypeError(f"{what} output must have dtype {np.dtype(dtype)}, got {arr.dtype}")
        if not arr.flags.c_contiguous:
            raise ValueError(f"{what} output array must be C-contiguous")
        if not arr.flags.writeable:
            raise ValueError(f"{what} output array is read-only")
        arr = arr.reshape(-1)
    else:
        try:
            mv = memoryview(out)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"{what} output must be a writable buffer, got {type(out).__name__}") from None
        if mv.readonly:
            raise TypeError(f"{what} output buffer is read-only ({type(out).__name__})")
        if not mv.c_contiguous:
            raise ValueError(f"{what} output buffer must be C-contiguous")
        size = np.dtype(dtype).itemsize
        if mv.nbytes % size:
            raise ValueError(f"{what} output of {mv.nbytes} bytes is not whole {np.dtype(dtype)} items")
        arr = np.frombuffer(mv.cast("B"), dtype=dtype)
    if arr.shape[0] < n:
        raise ValueError(f"{what} output holds {arr.shape[0]} items, {n} needed")
    return arr


def check_streams(streams: tuple[object, ...]) -> list[np.ndarray]:
    """The mixer's inputs as uint8 arrays of one common length."""
    if not streams:
        raise ValueError("mix needs at least one stream")
    arrs = [as_codes(s) for s in streams]
    n = arrs[0].shape[0]
    for i, a in enumerate(arrs):
        if a.shape[0] != n:
            raise ValueError(f"mix streams must have equal lengths: stream 0 has {n} octets, "
                             f"stream {i} has {a.shape[0]}")
    return arrs


# --- codec --------------------------------------------------------------------------------

def alaw_encode(pcm: object) -> bytes:
    """A-law octets of 16-bit linear PCM (G.711 clause 2)."""
    x = as_pcm(pcm)
    return ALAW_ENCODE[(x >> 3) & 0x1FFF].tobytes()


def ulaw_encode(pcm: object) -> bytes:
    """u-law octets of 16-bit linear PCM (G.711 clause 3)."""
    x = as_pcm(pcm)
    return ULAW_ENCODE[(x >> 2) & 0x3FFF].tobytes()


def alaw_decode(data: object) -> np.ndarray:
    """16-bit linear PCM (int16 array) of A-law octets."""
    return _ALAW_DECODE[as_codes(data)]


def ulaw_decode(data: object) -> np.ndarray:
    """16-bit linear PCM (int16 array) of u-law octets."""
    return _ULAW_DECODE[as_codes(data)]


def alaw_to_ulaw(data: object) -> bytes:
    """u-law octets for A-law octets (G.711 Table 4)."""
    return ALAW_TO_ULAW[as_codes(data)].tobytes()


def ulaw_to_alaw(data: object) -> bytes:
    """A-law octets for u-law octets (G.711 Table 3)."""
    return ULAW_TO_ALAW[as_codes(data)].tobytes()


def alaw_encode_into(pcm: object, out: object) -> int:
    """Encode into the caller's buffer ``out`` (>= len(pcm) octets); returns octets written."""
    x = as_pcm(pcm)
    o = out_array(out, np.uint8, x.shape[0], "alaw_encode_into")
    np.take(ALAW_ENCODE, (x >> 3) & 0x1FFF, out=o[:x.shape[0]])
    return int(x.shape[0])


def ulaw_encode_into(pcm: object, out: object) -> int:
    """Encode into the caller's buffer ``out`` (>= len(pcm) octets); returns octets written."""
    x = as_pcm(pcm)
    o = out_array(out, np.uint8, x.shape[0], "ulaw_encode_into")
    np.take(ULAW_ENCODE, (x >> 2) & 0x3FFF, out=o[:x.shape[0]])
    return int(x.shape[0])


def alaw_decode_into(data: object, out: object) -> int:
    """Decode into the caller's int16 buffer ``out``; returns samples written."""
    c = as_codes(data)
    o = out_array(out, np.int16, c.shape[0], "alaw_decode_into")
    np.take(_ALAW_DECODE, c, out=o[:c.shape[0]])
    return int(c.shape[0])


def ulaw_decode_into(data: object, out: object) -> int:
    """Decode into the caller's int16 buffer ``out``; returns samples written."""
    c = as_codes(data)
    o = out_array(out, np.int16, c.shape[0], "ulaw_decode_into")
    np.take(_ULAW_DECODE, c, out=o[:c.shape[0]])
    return int(c.shape[0])


def alaw_to_ulaw_into(data: object, out: object) -> int:
    """Convert into the caller's octet buffer ``out``; returns octets written."""
    c = as_codes(data)
    o = out_array(out, np.uint8, c.shape[0], "alaw_to_ulaw_into")
    np.take(ALAW_TO_ULAW, c, out=o[:c.shape[0]])
    return int(c.shape[0])


def ulaw_to_alaw_into(data: object, out: object) -> int:
    """Convert into the caller's octet buffer ``out``; returns octets written."""
    c = as_codes(data)
    o = out_array(out, np.uint8, c.shape[0], "ulaw_to_alaw_into")
    np.take(ULAW_TO_ALAW, c, out=o[:c.shape[0]])
    return int(c.shape[0])


# --- mixer (conference, whisper, barge) ---------------------------------------------------

def _mix(streams: tuple[object, ...], dec: NDArray[np.int16], enc: NDArray[np.uint8], shift: int, mask: int) -> bytes:
    arrs = check_streams(streams)
    acc = np.zeros(arrs[0].shape[0], dtype=np.int32)
    for a in arrs:
        acc += dec[a]
    np.clip(acc, -32768, 32767, out=acc)
    return enc[(acc >> shift) & mask].tobytes()


def mix_alaw(*streams: object) -> bytes:
    """Sum of A-law streams of equal length, saturated at full scale, as A-law."""
    return _mix(streams, _ALAW_DECODE, ALAW_ENCODE, 3, 0x1FFF)


def mix_ulaw(*streams: object) -> bytes:
    """Sum of u-law streams of equal length, saturated at full scale, as u-law."""
    return _mix(streams, _ULAW_DECODE, ULAW_ENCODE, 2, 0x3FFF)

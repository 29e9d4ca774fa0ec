"""Audio helpers of the media packages: A-law <-> linear through the G.711 kernel (compiled or
twin, typed here once) and the beep tone. On the lowest media floor so TTS, prompts and
voicemail can all use them."""
from __future__ import annotations

from typing import Any

import numpy as np

from _boardcore import g711 as _g711

_k: Any = _g711          # the kernel module is chosen at import (compiled or twin): no static attributes


def encode(pcm: np.ndarray) -> bytes:
    """int16 linear samples -> A-law octets."""
    return bytes(_k.alaw_encode(np.ascontiguousarray(pcm, dtype=np.int16)))


def decode(alaw: bytes) -> np.ndarray:
    """A-law octets -> int16 linear samples."""
    return np.asarray(_k.alaw_decode(np.frombuffer(bytes(alaw), np.uint8)), dtype=np.int16)


def beep(ms: int = 400, hz: float = 1000.0, dbm0: float = -10.0) -> bytes:
    """A tone as A-law (the voicemail beep: 1 kHz, 400 ms, -10 dBm0)."""
    n = 8 * ms
    amp = 32768 * 10 ** (-3.14 / 20) * 10 ** (dbm0 / 20)
    return encode((amp * np.sin(2 * np.pi * hz * np.arange(n) / 8000)).astype(np.int16))

"""A-law <-> linear through the G.711 kernel (compiled or twin), typed for the media packages."""
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

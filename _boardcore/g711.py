"""G.711 A-law / u-law codec and saturating mixer (ITU-T G.711, bit-exact with G.191).

The compiled kernel ``g711_c`` is used when built, else the pure-Python twin ``g711_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/kernels.md.

    alaw = alaw_encode(pcm)                 # int16 array or int16 buffer -> bytes
    pcm = alaw_decode(alaw)                 # bytes-like -> np.ndarray[int16]
    ulaw = alaw_to_ulaw(alaw)               # G.711 Table 4
    alaw_encode_into(pcm, out)              # into a caller-owned buffer; returns the count
    conf = mix_alaw(a, b, c)                # conference / whisper / barge, saturating
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = [
    "alaw_encode", "alaw_decode", "ulaw_encode", "ulaw_decode", "alaw_to_ulaw", "ulaw_to_alaw",
    "alaw_encode_into", "alaw_decode_into", "ulaw_encode_into", "ulaw_decode_into",
    "alaw_to_ulaw_into", "ulaw_to_alaw_into", "mix_alaw", "mix_ulaw",
    "ALAW_DECODE", "ULAW_DECODE", "ALAW_SILENCE", "ULAW_SILENCE",
]

_select.export("g711", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .g711_py import *  # noqa: F403


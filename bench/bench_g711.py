"""G.711 throughput, compiled vs twin: encode, decode, Table 3/4 conversion and the mixer.

Two shapes of call: one timeslot's 20 ms block (160 samples, what a media path does per
channel) and a whole second of a span's 30 timeslots in one call (240 000 samples, what a
recorder or a bulk converter does). Units: samples per second (one sample = one octet).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import Result, rate

from _boardcore import _select

SMALL = 160
LARGE = 30 * 8000


def _cases(mod: Any, n: int) -> dict[str, Callable[[], int]]:
    rng = np.random.default_rng(1)
    pcm = (rng.normal(0, 6000, n)).clip(-32768, 32767).astype(np.int16)
    alaw = mod.alaw_encode(pcm)
    b, c = mod.alaw_encode(pcm[::-1].copy()), mod.alaw_encode((pcm // 2).copy())
    out = bytearray(n)
    return {
        "alaw_encode": lambda: (mod.alaw_encode(pcm), n)[1],
        "alaw_encode_into": lambda: mod.alaw_encode_into(pcm, out),
        "alaw_decode": lambda: (mod.alaw_decode(alaw), n)[1],
        "alaw_to_ulaw": lambda: (mod.alaw_to_ulaw(alaw), n)[1],
        "mix_alaw (3 streams)": lambda: (mod.mix_alaw(alaw, b, c), n)[1],
    }


def run(quick: bool = False) -> list[Result]:
    seconds, repeat = (0.1, 1) if quick else (0.5, 3)
    impls = [("twin (numpy tables)", _select.twin("g711"), True)]
    compiled = _select.compiled("g711")
    if compiled is not None:
        impls.insert(0, ("compiled", compiled, False))
    results: list[Result] = []
    for n, shape in ((SMALL, "160-sample blocks"), (LARGE, "1 s x 30 timeslots per call")):
        for name, mod, ref in impls:
            for op, fn in _cases(mod, n).items():
                results.append(Result(f"{op}, {shape}", name, rate(fn, seconds=seconds, repeat=repeat),
                                      "samples/s", reference=ref))
    return results

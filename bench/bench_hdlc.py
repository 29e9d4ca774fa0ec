"""HDLC octets per second on a 64 kbit/s signalling link, compiled vs twin.

Traffic like a loaded MTP2 link: MSUs of 6..276 octets back to back (random contents, so
zero-bit insertion happens as it does on a real link), encoded with HdlcEncoder.send()
and pulled in 20 ms blocks (160 octets), then decoded by HdlcDecoder.feed() in the same
blocks. One link carries 8000 octets/s, so octets/s / 8000 is the number of links one
core keeps up with.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import Result, rate

from _boardcore import _select

BLOCK = 160
LINK_OCTETS = 8000


def _traffic(seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, int(rng.integers(6, 277)), dtype=np.uint8).tobytes() for _ in range(200)]


def _encode_step(mod: Any) -> tuple[Callable[[], int], Callable[[], None] | None]:
    frames = _traffic()
    enc = mod.HdlcEncoder()
    state = {"i": 0}

    def step() -> int:
        while enc.pending < 4:                    # keep the link busy
            enc.send(frames[state["i"] % len(frames)])
            state["i"] += 1
        enc.pull(BLOCK)
        return BLOCK
    return step, None


def _decode_step(mod: Any) -> tuple[Callable[[], int], Callable[[], None] | None]:
    enc = mod.HdlcEncoder()
    for f in _traffic():
        enc.send(f)
    line = enc.pull(40000)
    assert enc.idle
    blocks = [line[i:i + BLOCK] for i in range(0, len(line), BLOCK)]
    dec = mod.HdlcDecoder(max_frame=mod.MTP2_MAX_FRAME)
    state = {"i": 0}

    def step() -> int:
        dec.feed(blocks[state["i"] % len(blocks)])
        state["i"] += 1
        return BLOCK
    def check() -> None:
        bad = dec.fcs_errors + dec.aborts + dec.short_frames + dec.long_frames + dec.misaligned
        # where the recorded line wraps round, the idle flags are cut off the bit grid
        assert dec.frames > 0 and bad <= 2 * (state["i"] // len(blocks) + 1), dec.counters
    return step, check


def run(quick: bool = False) -> list[Result]:
    seconds, repeat = (0.1, 1) if quick else (0.5, 3)
    impls = [("twin (pure Python)", _select.twin("hdlc"), True)]
    compiled = _select.compiled("hdlc")
    if compiled is not None:
        impls.insert(0, ("compiled", compiled, False))
    results: list[Result] = []
    for what, make in (("encode (send + pull)", _encode_step), ("decode (feed)", _decode_step)):
        for name, mod, ref in impls:
            step, check = make(mod)
            v = rate(step, seconds=seconds, repeat=repeat)
            results.append(Result(f"HDLC {what}, 160-octet blocks", name, v, "octets/s", reference=ref,
                                  note=f"= {v / LINK_OCTETS:,.0f} links of 64 kbit/s"))
            if check is not None:
                check()
    return results

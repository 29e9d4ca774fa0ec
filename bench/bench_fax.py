"""Fax channels per core: a 14 400 bit/s V.17 ECM fax (send + receive) through our path, against
libspandsp driven directly through cffi, in the same run.

*Our path* is what the server runs per timeslot: :class:`cti.fax.runner.FaxRunner` on each
end (A-law blocks of 160 octets in and out, T.30 events polled and turned into FaxStarted /
FaxPage / FaxCompleted, silence fill, pool accounting), two runners wired back to back.
*spandsp direct* is the same two ``fax_state_t`` channels fed linear 16-bit blocks with
``fax_rx`` / ``fax_tx`` from a cffi loop (no A-law, no events, no runner). Both send the same
multi-page document, so both do the same modem work; the difference is our per-block cost.

Figure: channels one core keeps in real time = 2 x (seconds of fax audio) / (CPU seconds),
median of the runs; the ratio column compares with the direct row measured in the same run.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Result

BLOCK = 160


def _document(path: Path, pages: int) -> Path:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(3)
    frames = []
    for i in range(pages):
        im = Image.new("1", (1728, 1100), 1)
        d = ImageDraw.Draw(im)
        d.text((100, 80), f"bench page {i + 1}", fill=0)
        for _ in range(40):
            x, y = int(rng.integers(0, 1400)), int(rng.integers(100, 900))
            d.rectangle((x, y, x + int(rng.integers(10, 300)), y + int(rng.integers(5, 150))), outline=0, width=2)
        frames.append(im)
    frames[0].save(path, compression="group4", save_all=True, append_images=frames[1:], dpi=(204, 98))
    return path


def _ours(doc: Path, out: Path) -> tuple[float, float, int]:
    from cti.fax.runner import FaxRunner

    wire: dict[tuple[int, int], bytes] = {}
    silence = b"\xd5" * BLOCK

    def write(circuit: tuple[int, int], alaw: bytes) -> None:
        wire[circuit] = alaw

    a, b = FaxRunner(write), FaxRunner(write)
    a.send("tx", (0, 1), doc, 0.0)
    b.receive("rx", (1, 1), 0.0, path=out)
    t, n, pages = 0.0, 0, 0
    c0 = time.process_time()
    while a.jobs or b.jobs:
        a.audio((0, 1), wire.pop((1, 1), silence), t)
        b.audio((1, 1), wire.pop((0, 1), silence), t)
        for ev in a.tick(t) + b.tick(t):
            pages += type(ev).__name__ == "FaxPage"
        t += 0.02
        n += 1
    cpu = time.process_time() - c0
    return n * 0.02, cpu, pages // 2


def _direct(doc: Path, out: Path) -> tuple[float, float, int]:
    from cti.fax._native import native
    from cti.fax.session import SIZES_DEFAULT

    m = native()
    ffi, lib = m.ffi, m.lib
    a = ffi.gc(lib.fx_new(1, 1, str(doc).encode(), -1, -1, 1, 7, 3, SIZES_DEFAULT, b"", b"", 0), lib.fx_free)
    b = ffi.gc(lib.fx_new(0, 0, str(out).encode(), -1, -1, 1, 7, 3, SIZES_DEFAULT, b"", b"", 0), lib.fx_free)
    ab, ba = ffi.new("int16_t[]", BLOCK), ffi.new("int16_t[]", BLOCK)
    rx_a, rx_b = ffi.new("int16_t[]", BLOCK), ffi.new("int16_t[]", BLOCK)
    n = 0
    c0 = time.process_time()
    while not (lib.fx_done(a) and lib.fx_done(b)) and n < 30000:
        ffi.memmove(rx_a, ba, BLOCK * 2)
        ffi.memmove(rx_b, ab, BLOCK * 2)
        lib.fx_linear(a, rx_a, ab, BLOCK)
        lib.fx_linear(b, rx_b, ba, BLOCK)
        n += 1
    cpu = time.process_time() - c0
    ev = ffi.new("int[]", 64 * 12)
    pages = sum(1 for j in range(lib.fx_events(b, ev, 64)) if ev[j * 12] == 2)
    return n * 0.02, cpu, pages


def run(quick: bool = False) -> list[Result]:
    from cti.fax import available

    ok, why = available()
    if not ok:
        return [Result("fax", "unavailable", 0.0, "channels/core", note=why)]
    pages = 1 if quick else 3
    rounds = 1 if quick else 5
    ours: list[float] = []
    direct: list[float] = []
    ratios: list[float] = []
    audio = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        doc = _document(Path(tmp) / "doc.tif", pages)
        for i in range(rounds):           # alternate, so both see the same machine load
            secs, cpu, got = _ours(doc, Path(tmp) / f"o{i}.tif")
            assert got == pages, f"our path delivered {got} of {pages} pages"
            o = 2 * secs / max(cpu, 1e-9)
            secs2, cpu2, got2 = _direct(doc, Path(tmp) / f"d{i}.tif")
            assert got2 == pages, f"spandsp direct delivered {got2} of {pages} pages"
            d = 2 * secs2 / max(cpu2, 1e-9)
            ours.append(o)
            direct.append(d)
            ratios.append(o / d)
            audio = secs
    note = (f"{pages}-page V.17 14400 ECM fax, {audio:.0f} s of audio per run; median of {rounds} runs; "
            f"same-round ratio median {statistics.median(ratios):.2f} "
            f"(spread {min(ratios):.2f}-{max(ratios):.2f})")
    return [Result("fax", "spandsp direct (cffi, linear)", statistics.median(direct), "channels/core",
                   reference=True, note="fax_rx/fax_tx on int16 blocks, no events"),
            Result("fax", "our path (FaxRunner, A-law timeslots)", statistics.median(ours), "channels/core",
                   note=note)]

"""MF (R2 / China No.1) receiver: channels per core in real time, ours vs spandsp.

One signal for every implementation: per channel, speech (the talk-off corpus when
tests/audio_corpus.py is there, else espeak-ng, else none) plus white noise at -45 dBm0 plus
an MF forward signal of 100 ms every 0.5 s. Each implementation runs a forward receiver on
every channel, fed 20 ms blocks (160 samples x channels) as a span delivers them:

* compiled  ``_boardcore.mf_c.MfDetector`` (one call per block: a span's 30 channels with
            ``process``, or 16 spans' 480 with the batch entry ``process_channels``)
* twin      ``_boardcore.mf_py.MfDetector`` (numpy)
* spandsp   ``r2_mf_rx`` per channel, the channel loop in C (bench/spandsp_mf.py), reference

"channels/core" = audio seconds processed per CPU second of the measuring thread, summed
over channels: how many timeslots one core keeps up with in real time. Implementations
alternate over 7 rounds (bench/kernel_rounds.py): median rates, and the median and range
of the per-round ratio to spandsp.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from bench.common import Result

RATE = 8000
BLOCK = 160
ROOT = Path(__file__).resolve().parents[1]


def _speech() -> tuple[np.ndarray | None, str]:
    """Some speech at 8 kHz, and where it came from."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import audio_corpus

        clips = audio_corpus.talkoff_speech()
        return np.concatenate([np.asarray(x, np.int16) for _, x in clips]), "talk-off corpus speech"
    except Exception:
        pass
    finally:
        sys.path.pop(0)
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not (espeak and sox):
        return None, "no speech (espeak-ng/sox missing)"
    text = ("Please hold the line while we connect your call. 您好，欢迎致电客户服务中心。"
            "请稍候，我们正在为您转接。 Thank you for calling, your call is important to us.")
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "s.wav")
        subprocess.run([espeak, "-v", "cmn", "-w", raw, text], check=True, capture_output=True)
        subprocess.run([sox, raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wavpcm",
                        out, "norm", "-6"], check=True, capture_output=True)
        with wave.open(out) as w:
            return np.frombuffer(w.readframes(w.getnframes()), np.int16).copy(), "espeak-ng speech"


def make_signal(channels: int, seconds: float, seed: int = 1) -> tuple[np.ndarray, str]:
    """(channels, n) int16: speech + noise + MF bursts, different per channel."""
    from _boardcore import mf_py

    n = int(seconds * RATE) // BLOCK * BLOCK
    rng = np.random.default_rng(seed)
    speech, source = _speech()
    x = rng.normal(0.0, mf_py.DBM0_PEAK * 10 ** (-45 / 20) / np.sqrt(2), (channels, n))
    for c in range(channels):
        if speech is not None and speech.size:
            start = int(rng.integers(0, max(1, speech.size - n)))
            seg = speech[start:start + n].astype(np.float64)
            x[c, :seg.size] += seg
        gen = mf_py.MfGenerator(forward=True, level_dbm0=float(rng.uniform(-30, -8)))
        for t in range(int(rng.integers(0, 2000)), n - 800, 4000):
            x[c, t:t + 800] += gen.tone(int(rng.integers(1, 16)), 800)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16), source + " + noise + MF"


def _blocks(x: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(x[:, k:k + BLOCK]) for k in range(0, x.shape[1], BLOCK)]


#: the two feeds measured: one span per call (process), and 16 spans' channels in one
#: batch call (process_channels), as a board driver feeds the register-phase channels
SPANS = 16


def run(quick: bool = False) -> list[Result]:
    """Rounds alternate the implementations (CPU time of this thread, bench/kernel_rounds.py):
    median rates, and the median and range of each round's ratio to spandsp."""
    from _boardcore import _select

    from bench import spandsp_mf
    from bench.kernel_rounds import alternate, spread

    seconds, rounds = (0.1, 1) if quick else (0.4, 7)
    ok, why = spandsp_mf.available()
    results: list[Result] = []
    for channels, batch in ((30, False), (30 * SPANS, True)):
        label = (f"forward receiver, {channels} channels per call "
                 + ("(process_channels)" if batch else "(process)"))
        x, source = make_signal(channels, 2.0)
        blocks = _blocks(x)
        per_block = channels * BLOCK / RATE          # channel-seconds in one block
        rows = np.arange(channels, dtype=np.int32) if batch else None
        impls = {}
        if ok:
            impls["spandsp r2_mf_rx"] = _runner(spandsp_mf.SpandspMfRx(channels, forward=True, log=False),
                                                blocks, None, per_block, ours=False)
        comp = _select.compiled("mf")
        if comp is not None:
            impls["compiled (mf_c)"] = _runner(comp.MfDetector(channels), blocks, rows, per_block)
        got = alternate(impls, rounds, seconds)
        ref = got.get("spandsp r2_mf_rx")
        for name, vals in got.items():
            sp = spread(vals, ref)
            is_ref = name.startswith("spandsp") or ref is None
            note = ("C loop over channels" if name.startswith("spandsp") else source + "; " + (sp.note("spandsp") if ref else ""))
            results.append(Result(label, name, sp.median, "channels/core", reference=is_ref,
                                  note=note + f" ({rounds} rounds, CPU time)"))
        twin = _runner(_select.twin("mf").MfDetector(channels), blocks, rows, per_block)
        results.append(Result(label, "twin (mf_py)", spread(alternate({"t": twin}, 1, seconds)["t"]).median,
                              "channels/core", note="one round"))
        if not ok:
            results.append(Result(label, "spandsp r2_mf_rx", 0.0, "channels/core", note=f"skipped: {why}"))
    return results


def _runner(det: Any, blocks: list[np.ndarray], rows: np.ndarray | None, per_block: float,
            ours: bool = True) -> Callable[[], float]:
    """fn() for kernel_rounds: one 20 ms block per call, time advancing; channel-seconds done.
    ``rows``: through the batch entry point (process_channels) for those channels."""
    state = {"i": 0}

    def fn() -> float:
        i = state["i"]
        blk = blocks[i % len(blocks)]
        if not ours:
            det.process(blk)
        elif rows is None:
            det.process(blk, i * BLOCK / RATE)
        else:
            det.process_channels(blk, i * BLOCK / RATE, rows)
        state["i"] = i + 1
        return per_block
    return fn


# --- receiver characterisation (docs/mf.md): where each Q.441 figure actually falls ---------

def _cases(mod: Any, make: Callable[..., np.ndarray], forward: bool = True, reps: int = 2, seed: int = 7,
           adjacent: bool | None = None) -> float:
    """Share of cases (every signal x ``reps`` random phases) giving exactly one signal.

    ``adjacent``: only the signals whose two frequencies are (True) / are not (False) adjacent.
    """
    freqs = mod.FORWARD_HZ if forward else mod.BACKWARD_HZ
    rng = np.random.default_rng(seed)
    rows, want = [], []
    for sig, (i, j) in mod.SIGNAL_PAIRS.items():
        if adjacent is not None and (j - i == 1) != adjacent:
            continue
        for _ in range(reps):
            rows.append(make(freqs[i], freqs[j], j - i == 1, rng))
            want.append(sig)
    n = max(len(r) for r in rows) + 960
    x = np.zeros((len(rows), n))
    for k, r in enumerate(rows):
        x[k, 400:400 + len(r)] = r
    x = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    evs = mod.MfDetector(len(rows), forward=forward).process(x, 0.0)
    got: list[list[int]] = [[] for _ in rows]
    for e in evs:
        got[e.channel].append(e.signal)
    return sum(g == [w, 0] for g, w in zip(got, want, strict=False)) / len(rows)


def _pair(fa: float, fb: float, la: float, lb: float, n: int, rng: np.random.Generator,
          gap: tuple[int, int] | None = None) -> np.ndarray:
    t = np.arange(n) / RATE
    peak = 22812.0
    x = (peak * 10 ** (la / 20) * np.sin(2 * np.pi * fa * t + rng.uniform(0, 6.3))
         + peak * 10 ** (lb / 20) * np.sin(2 * np.pi * fb * t + rng.uniform(0, 6.3)))
    if gap:
        x[gap[0]:gap[0] + gap[1]] = 0.0
    return x


def _edge(values: list[int], share: list[float], want_all: bool) -> int | None:
    """Last value (in sweep order) where share is 1.0 (want_all) / first where it is 0."""
    if want_all:
        ok = [v for v, s in zip(values, share, strict=False) if s == 1.0]
        return ok[-1] if ok else None
    zero = [v for v, s in zip(values, share, strict=False) if s == 0.0]
    return zero[0] if zero else None


def characterise(mod: Any = None) -> list[tuple[str, str]]:
    """Sweeps over each Q.441 receiver figure, forward and backward; (figure, measured)."""
    if mod is None:
        from _boardcore import mf as mod  # the live implementation
    out = []
    for forward in (True, False):
        d = "forward" if forward else "backward"
        offs = list(range(0, 41, 1))
        same = [_cases(mod, lambda a, b, adj, r, o=o: _pair(a + o, b + o, -20, -20, 800, r), forward) for o in offs]
        opp = [_cases(mod, lambda a, b, adj, r, o=o: _pair(a + o, b - o, -20, -20, 800, r), forward) for o in offs]
        out.append((f"{d}: frequency offset, both tones +f / opposite",
                    f"all operate up to {_edge(offs, same, True)} / {_edge(offs, opp, True)} Hz; "
                    f"none from {_edge(offs, same, False)} / {_edge(offs, opp, False)} Hz"))
        levels = [-30 - k for k in range(0, 21)]
        lv = [_cases(mod, lambda a, b, adj, r, v=v: _pair(a, b, v, v, 800, r), forward) for v in levels]
        out.append((f"{d}: level per tone", f"all operate down to {_edge(levels, lv, True)} dBm0; "
                                             f"none at {_edge(levels, lv, False)} dBm0 and below"))
        tw = list(range(0, 21))
        for adj_only in (True, False):
            share = [min(_cases(mod, lambda a, b, adj, r, t=t: _pair(a, b, -10, -10 - t, 800, r), forward,
                                adjacent=adj_only),
                         _cases(mod, lambda a, b, adj, r, t=t: _pair(a, b, -10 - t, -10, 800, r), forward,
                                adjacent=adj_only)) for t in tw]
            kind = "adjacent" if adj_only else "non-adjacent"
            out.append((f"{d}: level difference, {kind}", f"all operate up to {_edge(tw, share, True)} dB; "
                                                            f"none from {_edge(tw, share, False)} dB"))
        durs = list(range(4, 61, 1))
        bs = [_cases(mod, lambda a, b, adj, r, m=m: _pair(a, b, -5, -5, m * 8, r), forward, reps=4) for m in durs]
        out.append((f"{d}: signal duration", f"none operate up to {max(m for m, s in zip(durs, bs, strict=False) if s == 0)} ms; "
                                              f"all from {min(m for m, s in zip(durs, bs, strict=False) if s == 1.0)} ms"))
        gaps = list(range(0, 31, 1))
        gs = [_cases(mod, lambda a, b, adj, r, g=g: _pair(a, b, -20, -20, 1200, r, gap=(500, g * 8)), forward, reps=4)
              for g in gaps]
        out.append((f"{d}: interruption bridged", f"all bridged up to {_edge(gaps, gs, True)} ms"))
        out.append((f"{d}: operate / release time", _timing(mod, forward)))
        snrs = list(range(10, -11, -1))

        def noisy(a: float, b: float, adj: bool, r: np.random.Generator, s: float) -> np.ndarray:
            x = _pair(a, b, -25, -25, 800, r)
            return x + r.normal(0, 22812.0 * 10 ** ((-25 - s) / 20) / np.sqrt(2), x.size)
        ns = [_cases(mod, lambda a, b, adj, r, s=s: noisy(a, b, adj, r, s), forward) for s in snrs]
        out.append((f"{d}: white noise (tone/noise per tone, -25 dBm0)",
                    f"all operate down to {_edge(snrs, ns, True)} dB"))
    return out


def _timing(mod: Any, forward: bool) -> str:
    """Operate and release times over every signal, +/-10 Hz, -5..-35 dBm0, 8 start phases."""
    freqs = mod.FORWARD_HZ if forward else mod.BACKWARD_HZ
    rng = np.random.default_rng(3)
    rows, starts = [], []
    for _sig, (i, j) in mod.SIGNAL_PAIRS.items():
        for o in (-10, 0, 10):
            for lv in (-5, -20, -35):
                for ph in range(0, 40, 5):
                    rows.append(_pair(freqs[i] + o, freqs[j] - o, lv, lv, 800, rng))
                    starts.append(400 + ph)
    x = np.zeros((len(rows), 2400))
    for k, (r, st) in enumerate(zip(rows, starts, strict=False)):
        x[k, st:st + 800] = r
    x = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    ops, rels = [], []
    evs = mod.MfDetector(len(rows), forward=forward).process(x, 0.0)
    on = {}
    for e in evs:
        if e.signal:
            on[e.channel] = e.time * RATE - starts[e.channel]
        else:
            ops.append(on[e.channel] / 8)
            rels.append((e.time * RATE - starts[e.channel] - 800) / 8)
    tot = [a + b for a, b in zip(ops, rels, strict=False)]
    return (f"operate {min(ops):.0f}-{max(ops):.0f} ms, release {min(rels):.0f}-{max(rels):.0f} ms, "
            f"sum <= {max(tot):.0f} ms ({len(tot)} of {len(rows)} cases)")


if __name__ == "__main__":
    for figure, measured in characterise():
        print(f"{figure:55s} {measured}")

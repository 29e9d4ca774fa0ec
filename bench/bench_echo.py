"""G.168 line echo cancellers side by side: ours, libspeexdsp's, spandsp's, same signals.

Signals (also used by tests/test_echo.py): per channel, the far end (Rin) is speech-band
noise (300-3400 Hz) at -15 dBm0; Sin is its echo through a hybrid model after G.168
Annex D: a bulk delay, a dispersive decaying response over a few ms, an echo return loss
(ERL) from G.168's 6 dB minimum up. Five models: (delay, dispersion, ERL) =
(0, 4, 6), (5, 8, 6), (20, 6, 11), (40, 3, 20), (55, 8, 8) ms / ms / dB. 64 ms tails.

Rows (every implementation on the same int16 arrays, 20 ms blocks, the linear canceller:
our NLP is off, speexdsp's residual suppressor is its preprocessor and not run, spandsp's
NLP off):

* ERLE after 0.5 s and 1 s, steady-state ERLE (last second of 4 s), convergence time to
  20 dB ERLE (median over the models);
* ERLE in the second after 2 s of double talk (near end at the far end's level, ERL 6 dB):
  divergence shows here;
* cost: channels per core in real time (audio seconds per CPU second, all channels).

    .venv/bin/python -m bench echo
"""
from __future__ import annotations

import time

import numpy as np

from bench.common import Result

RATE = 8000
BLOCK = 160
DBM0_PEAK = 22812.0
#: (delay ms, dispersion ms, ERL dB)
MODELS: list[tuple[float, float, float]] = [(0, 4, 6.0), (5, 8, 6.0), (20, 6, 11.0), (40, 3, 20.0), (55, 8, 8.0)]


def level(dbm0: float) -> float:
    """RMS of a signal at ``dbm0`` (a 0 dBm0 sine has RMS 22812/sqrt 2)."""
    return float(DBM0_PEAK / np.sqrt(2.0) * 10.0 ** (dbm0 / 20.0))


def speech_band_noise(n: int, dbm0: float, rng: np.random.Generator) -> np.ndarray:
    """White noise through a 300-3400 Hz band-pass (FFT mask), at ``dbm0``."""
    x = rng.standard_normal(n + 256)
    f = np.fft.rfft(x)
    hz = np.fft.rfftfreq(x.size, 1.0 / RATE)
    f[(hz < 300) | (hz > 3400)] = 0.0
    y: np.ndarray = np.fft.irfft(f, x.size)[128:128 + n]
    return y * (level(dbm0) / float(np.sqrt(np.mean(y * y))))


def hybrid(delay_ms: float, dispersion_ms: float, erl_db: float, rng: np.random.Generator) -> np.ndarray:
    """A hybrid echo path: bulk delay, then a dispersive decaying response, ERL ``erl_db``."""
    m = max(int(dispersion_ms * 8), 4)
    t = np.arange(m)
    h = rng.standard_normal(m) * np.exp(-t / (m / 4.0))
    h = np.convolve(h, [0.2, 0.5, 0.2, -0.1])[:m]        # hybrid + line: a little low-pass
    h *= 10.0 ** (-erl_db / 20.0) / np.sqrt(np.sum(h * h))
    out: np.ndarray = np.concatenate([np.zeros(int(delay_ms * 8)), h])
    return out


def i16(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return out


def make_echo(models: list[tuple[float, float, float]], seconds: float, far_dbm0: float,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(sin as float echo, rin as int16), one channel per model."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    rin = np.stack([speech_band_noise(n, far_dbm0, rng) for _ in models])
    sin = np.stack([np.convolve(r, hybrid(*m, rng))[:n] for r, m in zip(rin, models, strict=True)])
    return sin, i16(rin)


def feed(ec: object, sin: np.ndarray, rin: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Feed (channels, n) int16 in ``block`` samples to ``ec.process(sin, rin)``."""
    out = [ec.process(np.ascontiguousarray(sin[:, k:k + block]),   # type: ignore[attr-defined]
                      np.ascontiguousarray(rin[:, k:k + block]))
           for k in range(0, sin.shape[1], block)]
    return np.concatenate(out, axis=1)


def erle_db(sin: np.ndarray, out: np.ndarray) -> float:
    s = sin.astype(np.float64)
    o = out.astype(np.float64)
    return float(10.0 * np.log10(np.mean(s * s) / max(float(np.mean(o * o)), 1e-6)))


def erle_curve(sin: np.ndarray, out: np.ndarray, step: int = 2000) -> list[float]:
    return [erle_db(sin[k:k + step], out[k:k + step]) for k in range(0, sin.size, step)]


def _factories(tail_ms: int) -> dict[str, object]:
    """name -> (channels -> canceller), for every implementation available here."""
    from _boardcore import _select
    from bench import spandsp_echo

    out: dict[str, object] = {}
    comp = _select.compiled("echo")
    if comp is not None:
        out["ours (compiled)"] = lambda c: comp.EchoCanceller(c, tail_ms, nlp=False)
    twin = _select.twin("echo")
    out["ours (twin)"] = lambda c: twin.EchoCanceller(c, tail_ms, nlp=False)
    if spandsp_echo.speex_available()[0]:
        out["speexdsp MDF"] = lambda c: spandsp_echo.SpeexEcho(c, tail_ms)
    if spandsp_echo.spandsp_available()[0]:
        out["spandsp 0.0.6"] = lambda c: spandsp_echo.SpandspEcho(c, tail_ms)
    return out


def quality(make: object, seconds: float = 4.0) -> dict[str, float]:
    """ERLE figures of one implementation on the five models (medians over models)."""
    sin, rin = make_echo(MODELS, seconds, -15.0, 1)
    s = i16(sin)
    out = feed(make(len(MODELS)), s, rin)                    # type: ignore[operator]
    half = RATE // 2
    e05 = [erle_db(s[c, half - 2000:half], out[c, half - 2000:half]) for c in range(len(MODELS))]
    e1 = [erle_db(s[c, RATE - 2000:RATE], out[c, RATE - 2000:RATE]) for c in range(len(MODELS))]
    steady = [erle_db(s[c, -RATE:], out[c, -RATE:]) for c in range(len(MODELS))]
    conv = []
    for c in range(len(MODELS)):
        curve = erle_curve(s[c], out[c], 400)               # 50 ms steps
        hit = next((k for k, v in enumerate(curve) if v >= 20.0), None)
        conv.append(float("inf") if hit is None else (hit + 1) * 50.0)
    # double talk: converge 2 s, near end 2 s at the far end's level, then 1 s alone
    rng = np.random.default_rng(3)
    sin2, rin2 = make_echo([(10, 6, 6.0)] * 2, 5.0, -15.0, 3)
    near = np.zeros_like(sin2)
    near[:, 2 * RATE:4 * RATE] = np.stack([speech_band_noise(2 * RATE, -15.0, rng) for _ in range(2)])
    s2 = i16(sin2)
    out2 = feed(make(2), i16(sin2 + near), rin2)           # type: ignore[operator]
    after = [erle_db(s2[c, 4 * RATE + 800:], out2[c, 4 * RATE + 800:]) for c in range(2)]
    return {"erle_0.5s": float(np.median(e05)), "erle_1s": float(np.median(e1)),
            "steady": float(np.median(steady)), "worst_steady": float(np.min(steady)),
            "conv_ms": float(np.median(conv)), "worst_conv_ms": float(np.max(conv)),
            "after_dt": float(np.min(after))}


def cost(make: object, channels: int, seconds: float) -> float:
    """Channels per core: audio seconds per CPU second over ``channels`` channels."""
    sin, rin = make_echo([(5, 6, 6.0)] * channels, 2.0, -15.0, 9)
    s = i16(sin)
    ec = make(channels)                                     # type: ignore[operator]
    done = 0
    t0 = time.process_time()
    while True:
        for k in range(0, s.shape[1], BLOCK):
            ec.process(np.ascontiguousarray(s[:, k:k + BLOCK]), np.ascontiguousarray(rin[:, k:k + BLOCK]))
            done += BLOCK
        dt = time.process_time() - t0
        if dt >= seconds:
            return done * channels / RATE / dt


def run_bench(quick: bool = False, tail_ms: int = 64) -> list[Result]:
    results: list[Result] = []
    facts = _factories(tail_ms)
    for name, make in facts.items():
        q = quality(make, 2.5 if quick else 4.0)
        twin = name.endswith("(twin)")
        ch = 2 if twin else 30
        cps = cost(make, ch, 0.3 if quick else (1.0 if twin else 2.0))
        note = (f"ERLE 0.5 s {q['erle_0.5s']:.1f} dB, 1 s {q['erle_1s']:.1f}, steady {q['steady']:.1f} "
                f"(worst {q['worst_steady']:.1f}); to 20 dB {q['conv_ms']:.0f} ms (worst "
                f"{q['worst_conv_ms']:.0f}); after double talk {q['after_dt']:.1f} dB")
        results.append(Result(f"echo canceller, {tail_ms} ms tail: cost", name, cps, "channels/core",
                              reference=name.startswith("speexdsp"), note=note))
    return results


def run(quick: bool = False) -> list[Result]:
    """The bench runner's entry point (``python -m bench echo``)."""
    return run_bench(quick)

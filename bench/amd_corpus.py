"""A labelled answering-machine corpus, generated reproducibly with espeak-ng and sox.

Human answers: a short "喂?" / "hello?"-style greeting after 0.2-1.2 s, then the silence of
someone waiting (2.5 s), sometimes a second "喂?". Machine answers: a long announcement
("请在提示音后留言" / "leave a message after the tone") after 0.1-1.0 s, a gap of 0.2-0.8 s, a
beep (400-1400 Hz, 0.2-0.8 s), then silence. Mandarin (espeak-ng voice ``cmn``) and English
(``en``, ``en-us``), several pitches and speeds, speech levels -12..-28 dBm0, white noise at
10-30 dB SNR (against the rms of the speech where it is not silent), then through G.711 A-law as a trunk carries it.

The utterances are cached under ``tests/.cache/amd_corpus/`` keyed by a hash of the recipe and
the tools' versions; the mix (silences, beep, noise) is drawn from ``random.Random(seed)`` so
the same seed gives the same corpus, sample for sample.

    corpus(n=120, seed=18) -> [Item(name, label, pcm, beep_end_ms, lang), ...]
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 8000
DBM0_PEAK = 22812.0
CACHE = Path(__file__).resolve().parent.parent / "tests" / ".cache" / "amd_corpus"

HUMAN = {
    "cmn": ["喂？", "喂，你好？", "你好，哪位？", "喂，哪位啊？", "嗯，喂？", "你好。"],
    "en": ["Hello?", "Hello, who is this?", "Yes?", "Hi, this is Tom.", "Hello, yes?", "Good morning?"],
}
MACHINE = {
    "cmn": ["您好，我现在不方便接听电话，请在提示音后留言，谢谢。",
            "您好，这里是张伟的语音信箱，我暂时无法接听，请在嘀声后留下您的姓名和电话，我会尽快回复。",
            "您拨打的用户暂时无法接通，请在提示音后留言，挂机即可发送。",
            "你好，我是李娜，现在不在，有事请留言。"],
    "en": ["Hi, you have reached the voicemail of John Smith. I can't take your call right now, "
           "please leave a message after the tone.",
           "Thank you for calling. Nobody is available to take your call. Please leave your name, "
           "number and a short message after the beep.",
           "The person you are calling is not available. Please record your message after the tone. "
           "When you have finished, hang up.",
           "Hey, it's Sam, leave a message."],
}
VOICES = {"cmn": ["cmn"], "en": ["en", "en-us"]}


@dataclass(frozen=True)
class Item:
    name: str
    label: str                  #: "human" or "machine"
    pcm: np.ndarray             #: int16, 8 kHz, after A-law
    beep_end_ms: float          #: machine: when the beep ends (ms from the answer); human: 0
    lang: str


class CorpusUnavailable(RuntimeError):
    """espeak-ng or sox is missing (Debian packages espeak-ng, sox)."""


def _tools() -> tuple[str, str]:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not (espeak and sox):
        raise CorpusUnavailable("the AMD corpus needs espeak-ng and sox (Debian packages espeak-ng, sox)")
    return espeak, sox


def _versions() -> str:
    out = []
    for cmd in (["espeak-ng", "--version"], ["sox", "--version"]):
        try:
            out.append(subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            out.append("?")
    return "|".join(out)


def speak(text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    """``text`` spoken by espeak-ng at 8 kHz, peak-normalised to -1 dBFS (cached)."""
    espeak, sox = _tools()
    key = hashlib.sha256(json.dumps([text, voice, pitch, speed, _versions()], ensure_ascii=False).encode()).hexdigest()[:16]
    path = CACHE / f"{key}.npy"
    if path.exists():
        try:
            return np.asarray(np.load(path), dtype=np.int16)
        except (OSError, ValueError):
            pass
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "out.wav")
        subprocess.run([espeak, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", raw, text],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([sox, raw, "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                        "-t", "wavpcm", out, "norm", "-1", "silence", "1", "0.02", "0.5%", "reverse",
                        "silence", "1", "0.02", "0.5%", "reverse"], check=True, capture_output=True, timeout=120)
        with wave.open(out) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).copy()
    CACHE.mkdir(parents=True, exist_ok=True)
    fd, tmpf = tempfile.mkstemp(dir=CACHE, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.save(f, x)
    os.replace(tmpf, path)
    return x


def _alaw(x: np.ndarray) -> np.ndarray:
    from _boardcore.g711 import alaw_decode, alaw_encode
    return np.asarray(alaw_decode(alaw_encode(x)), dtype=np.int16)


def _item(rng: random.Random, i: int, label: str, lang: str) -> Item:
    voice = rng.choice(VOICES[lang])
    pitch, speed = rng.choice([35, 50, 65]), rng.choice([150, 175, 200])
    level = rng.uniform(-28.0, -12.0)                      # speech peak, dBm0
    snr = rng.choice([10.0, 20.0, 30.0])
    segs: list[np.ndarray] = []
    talked: list[np.ndarray] = []               # the speech alone: the SNR is against its rms
    beep_end = 0.0

    def sil(sec: float) -> None:
        segs.append(np.zeros(int(sec * RATE)))

    def talk(text: str) -> None:
        s = speak(text, voice, pitch, speed).astype(np.float64)
        segs.append(s / 32767.0 * DBM0_PEAK * 10 ** (level / 20.0))
        talked.append(segs[-1])

    if label == "human":
        text = rng.choice(HUMAN[lang])
        sil(rng.uniform(0.2, 1.2))
        talk(text)
        sil(2.5)
        if rng.random() < 0.5:
            talk(rng.choice(HUMAN[lang][:2]))
            sil(1.0)
    else:
        text = rng.choice(MACHINE[lang])
        sil(rng.uniform(0.1, 1.0))
        talk(text)
        sil(rng.uniform(0.2, 0.8))
        f, dur = rng.choice([400.0, 440.0, 850.0, 1000.0, 1400.0]), rng.uniform(0.2, 0.8)
        t = np.arange(int(dur * RATE)) / RATE
        start = sum(len(s) for s in segs)
        segs.append(DBM0_PEAK * 10 ** (rng.uniform(-20.0, -10.0) / 20.0) * np.sin(2 * np.pi * f * t))
        beep_end = (start + len(t)) * 1000.0 / RATE
        sil(2.0)
    x = np.concatenate(segs)
    active = np.concatenate(talked)
    speech_rms = float(np.sqrt(np.mean(active[np.abs(active) > 0.01 * np.abs(active).max()] ** 2)))
    nrng = np.random.default_rng(rng.randrange(2**32))
    x = x + nrng.normal(0.0, speech_rms * 10 ** (-snr / 20.0), x.size)
    pcm = _alaw(np.clip(np.round(x), -32768, 32767).astype(np.int16))
    return Item(f"{i:03d}-{label}-{lang}-{voice}-p{pitch}-s{speed}-snr{snr:.0f}", label, pcm, beep_end, lang)


def corpus(n: int = 120, seed: int = 18) -> list[Item]:
    """``n`` items, half human and half machine, half Mandarin and half English."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = "human" if i % 2 == 0 else "machine"
        lang = "cmn" if (i // 2) % 2 == 0 else "en"
        out.append(_item(rng, i, label, lang))
    return out

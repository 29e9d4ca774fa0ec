"""Rendering off the board loop, with a cache: :class:`TtsService`.

The board loop must never wait for speech. ``say(text, voice)`` returns a :class:`TtsJob`
at once: from the cache (memory, then ``<cache>/<key>.wav``) it is already done; otherwise
it is queued to a small pool of worker threads that call the engine. The loop polls the job
each block (``job.done``); a job not finished by its deadline (``timeout`` seconds) ends with
a :class:`~cti.tts.engine.TtsError` saying so, whatever the engine thread is still doing
(subprocess engines are killed at the same deadline; an in-process engine that hangs leaves
its thread behind, counted in ``stuck``; a new thread replaces it).

Rendered audio is kept as 8 kHz A-law, the cache key is a hash of the engine, its
version, the voice and the text, so a prompt is rendered once per engine version. Failed
renders are not cached.

    tts = TtsService(EspeakEngine(), cache_dir="var/tts")
    job = tts.say("您前面还有三位", "cmn")
    ... every block: if job.done: job.audio (A-law bytes) or job.error (a message)
"""
from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cti.tts.audio import encode as alaw_encode
from cti.media import wavfile

from .engine import TtsEngine, TtsError


@dataclass
class TtsJob:
    text: str
    voice: str
    key: str
    deadline: float                       #: time.monotonic() by which it must be done
    audio: bytes = b""
    error: str = ""
    cached: bool = False
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        """Finished, failed or past its deadline (then ``error`` says it timed out)."""
        if self._finished.is_set():
            return True
        if time.monotonic() >= self.deadline:
            self._fail(f"TTS timed out: {self.voice!r} did not render in time")
            return True
        return False

    @property
    def ok(self) -> bool:
        return self.done and not self.error and bool(self.audio)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (tests and tools only, never the board loop)."""
        left = max(0.0, self.deadline - time.monotonic())
        self._finished.wait(left if timeout is None else min(timeout, left))
        return self.done

    def _fail(self, why: str) -> None:
        if not self._finished.is_set():
            self.error = why
            self._finished.set()

    def _succeed(self, audio: bytes) -> None:
        if not self._finished.is_set():
            self.audio = audio
            self._finished.set()


class TtsService:
    """See the module docstring."""

    def __init__(self, engine: TtsEngine, *, cache_dir: str | Path | None = None, workers: int = 2,
                 timeout: float = 10.0, memory_items: int = 256) -> None:
        self.engine = engine
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.timeout = float(timeout)
        self.stats = {"rendered": 0, "cache_hits": 0, "failed": 0, "timed_out": 0, "stuck": 0}
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()
        self._q: queue.Queue[TtsJob | None] = queue.Queue()
        self._busy: dict[int, TtsJob] = {}
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._workers = max(1, int(workers))
        self._version = ""
        for _ in range(self._workers):
            self._spawn()

    # ---- the loop's side ----------------------------------------------------------------------------
    def say(self, text: str, voice: str, timeout: float | None = None) -> TtsJob:
        """A job for ``text`` in ``voice`` (done at once from the cache)."""
        key = self.key(text, voice)
        job = TtsJob(text, voice, key, time.monotonic() + (self.timeout if timeout is None else timeout))
        audio = self._cached(key)
        if audio is not None:
            job.cached = True
            self.stats["cache_hits"] += 1
            job._succeed(audio)
            return job
        if self._closed:
            job._fail("TTS service is closed")
            return job
        self._reap()
        self._q.put(job)
        return job

    def key(self, text: str, voice: str) -> str:
        if not self._version:
            try:
                self._version = self.engine.version()
            except Exception as exc:  # an engine that cannot even say its version: key on its name
                self._version = f"unknown ({exc})"
        h = hashlib.sha256("\x1f".join((self.engine.name, self._version, voice, text)).encode("utf-8"))
        return h.hexdigest()[:24]

    def close(self) -> None:
        self._closed = True
        for _ in self._threads:
            self._q.put(None)

    # ---- cache ---------------------------------------------------------------------------------------
    def _cached(self, key: str) -> bytes | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        if self.cache_dir is not None:
            p = self.cache_dir / f"{key}.wav"
            if p.is_file():
                try:
                    audio = wavfile.read_alaw(p)
                except (wavfile.WavError, OSError, ValueError):
                    return None           # a damaged cache file is rendered again
                self._remember(key, audio)
                return audio
        return None

    def _remember(self, key: str, audio: bytes) -> None:
        with self._lock:
            self._memory[key] = audio
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)

    def _store(self, key: str, audio: bytes) -> None:
        self._remember(key, audio)
        if self.cache_dir is not None:
            tmp = self.cache_dir / f".{key}.{threading.get_ident()}.tmp"
            try:
                wavfile.write(tmp, audio)
                tmp.replace(self.cache_dir / f"{key}.wav")
            except OSError:
                tmp.unlink(missing_ok=True)   # disk full: the memory copy serves

    # ---- workers -------------------------------------------------------------------------------------
    def _spawn(self) -> None:
        t = threading.Thread(target=self._work, name="tts-worker", daemon=True)
        self._threads.append(t)
        t.start()

    def _reap(self) -> None:
        """Replace workers stuck past their job's deadline (an in-process engine that hangs)."""
        now = time.monotonic()
        with self._lock:
            stuck = [tid for tid, job in self._busy.items() if now > job.deadline + 1.0]
            for tid in stuck:
                del self._busy[tid]
                self.stats["stuck"] += 1
        for _ in stuck:
            self._spawn()

    def _work(self) -> None:
        me = threading.get_ident()
        while True:
            job = self._q.get()
            if job is None:
                return
            left = job.deadline - time.monotonic()
            if left <= 0 or job._finished.is_set():
                self.stats["timed_out"] += 1
                job._fail(job.error or "TTS timed out: waited too long in the queue")
                continue
            audio = self._cached(job.key)          # another job may have rendered it meanwhile
            if audio is not None:
                job.cached = True
                job._succeed(audio)
                continue
            with self._lock:
                self._busy[me] = job
            try:
                pcm, rate = self.engine.render(job.text, job.voice, left)
                pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
                if rate != wavfile.RATE:
                    pcm = wavfile.resample(pcm, rate)
                audio = alaw_encode(pcm)
                if not audio:
                    raise TtsError("engine returned no audio")
            except TtsError as exc:
                self.stats["failed"] += 1
                job._fail(str(exc))
            except Exception as exc:  # an engine's own bug must not kill the worker
                self.stats["failed"] += 1
                job._fail(f"TTS engine {self.engine.name!r} failed: {type(exc).__name__}: {exc}")
            else:
                self.stats["rendered"] += 1
                self._store(job.key, audio)
                if not job._finished.is_set():
                    job._succeed(audio)
                else:
                    self.stats["timed_out"] += 1
            finally:
                with self._lock:
                    if self._busy.get(me) is job:
                        del self._busy[me]
                    elif me not in self._busy and job.deadline < time.monotonic() - 1.0:
                        return               # reaped while stuck: a replacement runs; this thread ends

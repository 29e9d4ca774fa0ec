"""Reference line echo cancellers through cffi: libspeexdsp's (MDF) and spandsp's (0.0.6).

Both run every channel of a block in one C call, like our kernel, so the comparison in
bench/bench_echo.py measures the cancellers and not Python calls:

* speexdsp ``speex_echo_cancellation`` (frequency-domain MDF, linear part only: speex's
  residual suppression lives in its preprocessor), 20 ms frames, filter = the tail;
* spandsp ``echo_can_update`` per sample (NLMS, with adaption; NLP off unless asked).
  Debian's 0.0.6 build prints debugging lines ("echo is ...", "Revert to ...") on the C
  stdout for every block: they are sent to /dev/null while it runs.

    ec = SpeexEcho(channels=4, tail_ms=64); out = ec.process(sin, rin)   # int16 (4, 160k)
    ec = SpandspEcho(channels=4, tail_ms=64); out = ec.process(sin, rin)
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np

from bench.spandsp import CffiWrapper, as_channel_block

__all__ = ["SpeexEcho", "SpandspEcho", "speex_available", "spandsp_available"]

_SPEEX_CDEF = """
typedef struct SpeexEchoState_ SpeexEchoState;
SpeexEchoState *speex_echo_state_init(int frame_size, int filter_length);
void speex_echo_state_destroy(SpeexEchoState *st);
int speex_echo_ctl(SpeexEchoState *st, int request, void *ptr);
void bench_speex_run(SpeexEchoState **st, int channels, int frame, int frames,
                     const int16_t *sin, const int16_t *rin, int16_t *out, int n);
"""
_SPEEX_SOURCE = r"""
#include <speex/speex_echo.h>
#include <stdint.h>
/* every channel, every whole frame: (channels, n) int16 arrays, row-major */
void bench_speex_run(SpeexEchoState **st, int channels, int frame, int frames,
                     const int16_t *sin, const int16_t *rin, int16_t *out, int n)
{
    for (int c = 0; c < channels; c++)
        for (int f = 0; f < frames; f++)
            speex_echo_cancellation(st[c], sin + (long) c * n + (long) f * frame,
                                    rin + (long) c * n + (long) f * frame, out + (long) c * n + (long) f * frame);
}
"""
_SPEEX = CffiWrapper("speexdsp_echo", _SPEEX_CDEF, _SPEEX_SOURCE, libraries=("speexdsp", "m"),
                     package="libspeexdsp-dev")

_SPANDSP_CDEF = """
typedef struct echo_can_state_s echo_can_state_t;
echo_can_state_t *echo_can_init(int len, int adaption_mode);
int echo_can_free(echo_can_state_t *ec);
void bench_spandsp_run(echo_can_state_t **st, int channels, const int16_t *sin, const int16_t *rin,
                       int16_t *out, int n);
"""
_SPANDSP_SOURCE = r"""
#include <stdint.h>
#include <spandsp.h>
void bench_spandsp_run(echo_can_state_t **st, int channels, const int16_t *sin, const int16_t *rin,
                       int16_t *out, int n)
{
    for (int c = 0; c < channels; c++)
        for (int i = 0; i < n; i++)
            out[(long) c * n + i] = echo_can_update(st[c], rin[(long) c * n + i], sin[(long) c * n + i]);
}
"""
_SPANDSP = CffiWrapper("spandsp_echo", _SPANDSP_CDEF, _SPANDSP_SOURCE)

SPEEX_SET_SAMPLING_RATE = 24
#: spandsp echo_can adaption_mode bits (spandsp/echo.h)
ECHO_CAN_USE_ADAPTION = 0x01
ECHO_CAN_USE_NLP = 0x02
ECHO_CAN_USE_CNG = 0x04


def speex_available() -> tuple[bool, str]:
    return _SPEEX.available()


def spandsp_available() -> tuple[bool, str]:
    return _SPANDSP.available()


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """The process's file descriptor 1 to /dev/null for the duration (C printf included)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


class SpeexEcho:
    """libspeexdsp's MDF canceller on ``channels`` channels, ``frame`` samples per call."""

    def __init__(self, channels: int, tail_ms: int = 64, frame: int = 160) -> None:
        mod = _SPEEX.require()
        self._lib, self._ffi = mod.lib, mod.ffi
        self.channels, self.frame = channels, frame
        self._st = self._ffi.new("SpeexEchoState *[]", channels)
        rate = self._ffi.new("int *", 8000)
        for c in range(channels):
            self._st[c] = self._lib.speex_echo_state_init(frame, tail_ms * 8)
            self._lib.speex_echo_ctl(self._st[c], SPEEX_SET_SAMPLING_RATE, rate)

    def __del__(self) -> None:
        st = getattr(self, "_st", None)
        if st is not None:
            for c in range(self.channels):
                self._lib.speex_echo_state_destroy(st[c])

    def process(self, sin: np.ndarray, rin: np.ndarray) -> np.ndarray:
        d = as_channel_block(sin, self.channels)
        x = as_channel_block(rin, self.channels)
        n = d.shape[1]
        if n % self.frame:
            raise ValueError(f"speexdsp takes whole frames of {self.frame} samples, got {n}")
        out = np.empty_like(d)
        f = self._ffi
        self._lib.bench_speex_run(self._st, self.channels, self.frame, n // self.frame,
                                  f.cast("int16_t *", f.from_buffer(d)), f.cast("int16_t *", f.from_buffer(x)),
                                  f.cast("int16_t *", f.from_buffer(out)), n)
        return out


class SpandspEcho:
    """spandsp's echo_can on ``channels`` channels (adaption on; NLP/CNG when ``nlp``)."""

    def __init__(self, channels: int, tail_ms: int = 64, nlp: bool = False) -> None:
        mod = _SPANDSP.require()
        self._lib, self._ffi = mod.lib, mod.ffi
        self.channels = channels
        mode = ECHO_CAN_USE_ADAPTION | ((ECHO_CAN_USE_NLP | ECHO_CAN_USE_CNG) if nlp else 0)
        self._st = self._ffi.new("echo_can_state_t *[]", channels)
        for c in range(channels):
            self._st[c] = self._lib.echo_can_init(tail_ms * 8, mode)

    def __del__(self) -> None:
        st = getattr(self, "_st", None)
        if st is not None:
            for c in range(self.channels):
                self._lib.echo_can_free(st[c])

    def process(self, sin: np.ndarray, rin: np.ndarray) -> np.ndarray:
        d = as_channel_block(sin, self.channels)
        x = as_channel_block(rin, self.channels)
        out = np.empty_like(d)
        f = self._ffi
        with _quiet_stdout():
            self._lib.bench_spandsp_run(self._st, self.channels, f.cast("int16_t *", f.from_buffer(d)),
                                        f.cast("int16_t *", f.from_buffer(x)),
                                        f.cast("int16_t *", f.from_buffer(out)), d.shape[1])
        return out

"""spandsp's R2 MF receiver (``r2_mf_rx``) as a reference for the MF kernel: talk-off and speed.

A cffi API-mode wrapper built on first use (C compiler + ``libspandsp.so`` from the Debian
package libspandsp-dev; the result is cached under ``build/spandsp_mf/``). The prototypes
are declared here (spandsp's ``bell_r2_mf.h``), so only the shared library is needed:

    r2_mf_rx_state_t *r2_mf_rx_init(r2_mf_rx_state_t *s, int fwd,
                                    tone_report_func_t callback, void *user_data);
    int r2_mf_rx(r2_mf_rx_state_t *s, const int16_t amp[], int samples);
    int r2_mf_rx_get(r2_mf_rx_state_t *s);
    int r2_mf_rx_free(r2_mf_rx_state_t *s);
    typedef void (*tone_report_func_t)(void *user_data, int code, int level, int delay);

A small C loop runs every channel of a block (as our kernel does), so the benchmark
compares detectors, not Python call overhead. The callback records each report (digit
character, or 0 when a digit ends) with its block position.

    ok, why = available()
    rx = SpandspMfRx(channels=30, forward=True)
    rx.process(block)                  # int16 (30, n); -> [(channel, "5", sample), (channel, "", sample)]
    detect(pcm, forward=True) -> str   # digits reported, in order (spandsp characters)
"""
from __future__ import annotations

import numpy as np

from bench.spandsp import CffiWrapper, as_channel_block

__all__ = ["available", "SpandspMfRx", "detect"]

_CDEF = """
typedef struct r2_mf_rx_state_s r2_mf_rx_state_t;
typedef struct {
    int32_t channel;
    int64_t base;          /* sample position of the block being processed */
    int64_t n;             /* reports written */
    int64_t cap;
    int32_t *code;         /* digit character, 0 when a digit ends */
    int64_t *pos;
} mfref_log_t;
r2_mf_rx_state_t *r2_mf_rx_init(r2_mf_rx_state_t *s, int fwd, void *callback, void *user_data);
int r2_mf_rx(r2_mf_rx_state_t *s, const int16_t amp[], int samples);
int r2_mf_rx_get(r2_mf_rx_state_t *s);
int r2_mf_rx_free(r2_mf_rx_state_t *s);
r2_mf_rx_state_t *mfref_new(int fwd, mfref_log_t *log, int with_callback);
void mfref_run(r2_mf_rx_state_t **rx, mfref_log_t **logs, int channels, const int16_t *x, int64_t n);
"""

_SOURCE = r"""
#include <stdint.h>
typedef struct r2_mf_rx_state_s r2_mf_rx_state_t;
typedef void (*tone_report_func_t)(void *user_data, int code, int level, int delay);
/* spandsp bell_r2_mf.h */
r2_mf_rx_state_t *r2_mf_rx_init(r2_mf_rx_state_t *s, int fwd, tone_report_func_t callback, void *user_data);
int r2_mf_rx(r2_mf_rx_state_t *s, const int16_t amp[], int samples);
int r2_mf_rx_get(r2_mf_rx_state_t *s);
int r2_mf_rx_free(r2_mf_rx_state_t *s);

typedef struct {
    int32_t channel;
    int64_t base;
    int64_t n;
    int64_t cap;
    int32_t *code;
    int64_t *pos;
} mfref_log_t;

static void mfref_report(void *user_data, int code, int level, int delay)
{
    mfref_log_t *log = (mfref_log_t *) user_data;
    (void) level; (void) delay;
    if (log->n < log->cap) {
        log->code[log->n] = code;
        log->pos[log->n] = log->base;
    }
    log->n++;
}

static r2_mf_rx_state_t *mfref_new(int fwd, mfref_log_t *log, int with_callback)
{
    return r2_mf_rx_init(NULL, fwd, with_callback ? mfref_report : NULL, log);
}

/* x: channels rows of n samples; every channel in one call, as the MF kernel does */
static void mfref_run(r2_mf_rx_state_t **rx, mfref_log_t **logs, int channels, const int16_t *x, int64_t n)
{
    for (int c = 0; c < channels; c++) {
        const int16_t *row = x + (int64_t) c * n;
        int64_t done = 0;
        while (done < n) {
            int k = (n - done) > 0x10000 ? 0x10000 : (int) (n - done);
            if (logs[c] != NULL)
                logs[c]->base += k;
            r2_mf_rx(rx[c], row + done, k);
            done += k;
        }
    }
}
"""

_WRAPPER = CffiWrapper("spandsp_mf", _CDEF, _SOURCE)


def available() -> tuple[bool, str]:
    """(True, "") when spandsp's r2_mf_rx can be used, else (False, the reason)."""
    return _WRAPPER.available()


class SpandspMfRx:
    """``channels`` spandsp R2 MF receivers fed block by block; reports with sample positions.

    ``log=False`` runs without the report callback (for timing the detector alone).
    """

    def __init__(self, channels: int, forward: bool = True, log: bool = True, capacity: int = 1 << 16) -> None:
        mod = _WRAPPER.require()
        if not isinstance(channels, int) or not 1 <= channels <= 4096:
            raise ValueError(f"channels must be 1..4096, got {channels!r}")
        self._mod, ffi, lib = mod, mod.ffi, mod.lib
        self.channels = channels
        self.forward = bool(forward)
        self._keep = []
        self._logs = ffi.new("mfref_log_t *[]", channels)
        self._rx = ffi.new("r2_mf_rx_state_t *[]", channels)
        for c in range(channels):
            if log:
                lg = ffi.new("mfref_log_t *")
                codes = ffi.new("int32_t[]", capacity)
                pos = ffi.new("int64_t[]", capacity)
                lg.channel, lg.cap, lg.code, lg.pos = c, capacity, codes, pos
                self._keep += [lg, codes, pos]
                self._logs[c] = lg
            self._rx[c] = lib.mfref_new(int(self.forward), self._logs[c], int(log))
            if self._rx[c] == ffi.NULL:
                raise MemoryError("r2_mf_rx_init failed")
        self._read = [0] * channels
        self._log = bool(log)

    def __del__(self) -> None:
        try:
            for c in range(self.channels):
                self._mod.lib.r2_mf_rx_free(self._rx[c])
        except Exception:
            pass

    def process(self, samples: np.ndarray) -> list[tuple[int, str, int]]:
        """Feed (channels, n) int16; new reports as (channel, digit or "" for end, block end sample)."""
        x = as_channel_block(samples, self.channels)
        ffi = self._mod.ffi
        self._mod.lib.mfref_run(self._rx, self._logs, self.channels,
                                ffi.cast("const int16_t *", ffi.from_buffer(x)), x.shape[1])
        out: list[tuple[int, str, int]] = []
        if not self._log:
            return out
        for c in range(self.channels):
            lg = self._logs[c]
            if lg == ffi.NULL:
                continue
            top = min(lg.n, lg.cap)
            for i in range(self._read[c], top):
                code = lg.code[i]
                out.append((c, chr(code) if code else "", int(lg.pos[i])))
            self._read[c] = top
        return out

    def reports(self, channel: int = 0) -> int:
        """Reports so far on ``channel`` (digit starts and ends)."""
        return int(self._logs[channel].n)


def detect(samples: np.ndarray, forward: bool = True) -> str:
    """Digits spandsp reports on one channel, in order (fresh receiver, silence appended)."""
    rx = SpandspMfRx(1, forward=forward)
    x = np.concatenate([np.asarray(samples, dtype=np.int16).ravel(), np.zeros(800, np.int16)])
    return "".join(d for _, d, _ in rx.process(x[None, :]) if d)

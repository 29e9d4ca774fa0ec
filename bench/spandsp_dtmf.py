"""spandsp's DTMF receiver (``dtmf_rx``) as the reference for the DTMF kernel: quality and speed.

A cffi API-mode wrapper built on first use (C compiler + ``libspandsp.so`` from the Debian
package libspandsp-dev; cached under ``build/spandsp_dtmf/``). The prototypes are declared
here (spandsp's ``dtmf.h``), so only the shared library is needed:

    dtmf_rx_state_t *dtmf_rx_init(dtmf_rx_state_t *s, digits_rx_callback_t callback, void *user_data);
    int dtmf_rx(dtmf_rx_state_t *s, const int16_t amp[], int samples);
    size_t dtmf_rx_get(dtmf_rx_state_t *s, char *digits, int max);
    int dtmf_rx_free(dtmf_rx_state_t *s);

spandsp buffers the digits it recognises (no callback); a small C loop runs every channel
of a block in one call, as our kernel does, so the benchmark compares detectors, not
Python call overhead.

    ok, why = available()
    rx = SpandspDtmfRx(channels=30)
    rx.process(block)                 # int16 (30, n) -> ["", "5", ...] digits per channel
    detect(pcm) -> str                # digits spandsp reports on one channel, in order
"""
from __future__ import annotations

import numpy as np

from bench.spandsp import CffiWrapper, as_channel_block

__all__ = ["available", "SpandspDtmfRx", "detect"]

_CDEF = """
typedef struct dtmf_rx_state_s dtmf_rx_state_t;
dtmf_rx_state_t *dtref_new(void);
int dtmf_rx_free(dtmf_rx_state_t *s);
size_t dtmf_rx_get(dtmf_rx_state_t *s, char *digits, int max);
void dtref_run(dtmf_rx_state_t **rx, int channels, const int16_t *x, int64_t n);
"""

_SOURCE = r"""
#include <stdint.h>
#include <stddef.h>
typedef struct dtmf_rx_state_s dtmf_rx_state_t;
typedef void (*digits_rx_callback_t)(void *user_data, const char *digits, int len);
/* spandsp dtmf.h */
dtmf_rx_state_t *dtmf_rx_init(dtmf_rx_state_t *s, digits_rx_callback_t callback, void *user_data);
int dtmf_rx(dtmf_rx_state_t *s, const int16_t amp[], int samples);
size_t dtmf_rx_get(dtmf_rx_state_t *s, char *digits, int max);
int dtmf_rx_free(dtmf_rx_state_t *s);

static dtmf_rx_state_t *dtref_new(void)
{
    return dtmf_rx_init(NULL, NULL, NULL);   /* digits are buffered, read with dtmf_rx_get */
}

/* x: channels rows of n samples; every channel in one call */
static void dtref_run(dtmf_rx_state_t **rx, int channels, const int16_t *x, int64_t n)
{
    for (int c = 0; c < channels; c++) {
        const int16_t *row = x + (int64_t) c * n;
        int64_t done = 0;
        while (done < n) {
            int k = (n - done) > 0x10000 ? 0x10000 : (int) (n - done);
            dtmf_rx(rx[c], row + done, k);
            done += k;
        }
    }
}
"""

_WRAPPER = CffiWrapper("spandsp_dtmf", _CDEF, _SOURCE, compile_args=["-O2"])


def available() -> tuple[bool, str]:
    """(True, "") when spandsp's dtmf_rx can be used, else (False, the reason)."""
    return _WRAPPER.available()


class SpandspDtmfRx:
    """``channels`` spandsp DTMF receivers fed block by block."""

    def __init__(self, channels: int) -> None:
        mod = _WRAPPER.require()
        if not isinstance(channels, int) or not 1 <= channels <= 4096:
            raise ValueError(f"channels must be 1..4096, got {channels!r}")
        self._mod, ffi, lib = mod, mod.ffi, mod.lib
        self.channels = channels
        self._rx = ffi.new("dtmf_rx_state_t *[]", channels)
        for c in range(channels):
            self._rx[c] = lib.dtref_new()
            if self._rx[c] == ffi.NULL:
                raise MemoryError("dtmf_rx_init failed")
        self._buf = ffi.new("char[]", 130)

    def __del__(self) -> None:
        try:
            for c in range(self.channels):
                self._mod.lib.dtmf_rx_free(self._rx[c])
        except Exception:
            pass

    def run(self, samples: np.ndarray) -> None:
        """Feed (channels, n) int16 without collecting digits (for timing)."""
        x = as_channel_block(samples, self.channels)
        ffi = self._mod.ffi
        self._mod.lib.dtref_run(self._rx, self.channels, ffi.cast("const int16_t *", ffi.from_buffer(x)),
                                x.shape[1])

    def digits(self) -> list[str]:
        """Digits recognised since the last call, per channel (spandsp keeps up to 128)."""
        ffi, lib = self._mod.ffi, self._mod.lib
        out = []
        for c in range(self.channels):
            n = lib.dtmf_rx_get(self._rx[c], self._buf, 128)
            out.append(ffi.string(self._buf, n).decode("ascii") if n else "")
        return out

    def process(self, samples: np.ndarray) -> list[str]:
        """Feed (channels, n) int16; the digits recognised in it, per channel."""
        self.run(samples)
        return self.digits()


def detect(samples: np.ndarray) -> str:
    """Digits spandsp reports on one channel, in order (fresh receiver, silence appended)."""
    x = np.concatenate([np.asarray(samples, dtype=np.int16).ravel(), np.zeros(800, np.int16)])
    rx = SpandspDtmfRx(1)
    out = []
    for i in range(0, x.size, 8000):          # read often: spandsp buffers at most 128 digits
        out.append(rx.process(x[None, i:i + 8000])[0])
    return "".join(out)

"""The C side of the fax engine: libspandsp's fax/T.30 engine reached through cffi (API mode).

Why C here: the modems (V.21 HDLC, V.27ter, V.29, V.17) and the T.30 procedure are
libspandsp's (the engine Asterisk and FreeSWITCH use); we never write modems by hand. What
is ours is the thin shim below: one ``fx_chan_t`` per channel holding a ``fax_state_t``, the
A-law <-> linear conversion of a whole 20 ms block, a multi-channel block call (so a
board tick costs one Python->C crossing for every fax channel), and the phase B/D/E
handlers, which only append fixed-size records to a per-channel event list that Python
drains after the block (no Python callback ever runs inside spandsp).

The shim is compiled on first use against the installed ``libspandsp.so`` and its headers
(Debian package libspandsp-dev), cached under ``build/cti_fax/`` of the source tree (or
``$XDG_CACHE_HOME/e1cti`` when that is read-only), keyed by a hash of the C text.
:func:`native` returns the module, or raises :class:`FaxUnavailable` saying why.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

__all__ = ["FaxUnavailable", "native", "available", "build_shim", "EVENT_FIELDS"]


class FaxUnavailable(RuntimeError):
    """libspandsp (or a C compiler) is missing: the fax engine cannot run on this machine."""


#: The int fields of one event record, in order (kind: 1 phase B, 2 phase D (a page), 3 phase E (end)).
EVENT_FIELDS = ("kind", "code", "pages_tx", "pages_rx", "bit_rate", "ecm", "x_resolution",
                "y_resolution", "width", "length", "bad_rows", "encoding")

_CDEF = """
typedef struct fx_chan_s fx_chan_t;
typedef struct t30_state_s t30_state_t;
fx_chan_t *fx_new(int calling, int transmit, const char *file, int start_page, int stop_page,
                  int ecm, int modems, int resolutions, int image_sizes, const char *ident,
                  const char *header, int log_level);
void fx_free(fx_chan_t *c);
int fx_block(fx_chan_t *c, const uint8_t *rx, uint8_t *tx, int n);
int fx_many(fx_chan_t **c, int k, const uint8_t *rx, uint8_t *tx, int n);
int fx_linear(fx_chan_t *c, int16_t *rx, int16_t *tx, int n);
int fx_events(fx_chan_t *c, int *out, int max_records);
int fx_done(fx_chan_t *c);
void fx_terminate(fx_chan_t *c);
const char *fx_remote_ident(fx_chan_t *c);
const char *t30_completion_code_to_str(int result);
const char *t30_frametype(uint8_t x);
#define T30_ERR_OK ...
#define T30_ERR_T0_EXPIRED ...
#define T30_ERR_T1_EXPIRED ...
#define T30_ERR_CANNOT_TRAIN ...
#define T30_ERR_FILEERROR ...
#define T30_ERR_BADTIFF ...
#define T30_ERR_RETRYDCN ...
#define T30_ERR_CALLDROPPED ...
"""

_SOURCE = r"""
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <tiffio.h>
#include <spandsp.h>

#define FX_FIELDS 12
#define FX_MAX_EVENTS 64

typedef struct fx_chan_s {
    fax_state_t *fax;
    t30_state_t *t30;
    int done;
    int nev;
    int ev[FX_MAX_EVENTS][FX_FIELDS];
    int16_t lin_rx[8000];
    int16_t lin_tx[8000];
    char remote[64];
} fx_chan_t;

static void fx_push(fx_chan_t *c, int kind, int code)
{
    t30_stats_t st;
    int *e;
    if (c->nev >= FX_MAX_EVENTS)
        return;
    memset(&st, 0, sizeof(st));
    t30_get_transfer_statistics(c->t30, &st);
    e = c->ev[c->nev++];
    e[0] = kind; e[1] = code; e[2] = st.pages_tx; e[3] = st.pages_rx; e[4] = st.bit_rate;
    e[5] = st.error_correcting_mode; e[6] = st.x_resolution; e[7] = st.y_resolution;
    e[8] = st.width; e[9] = st.length; e[10] = st.bad_rows; e[11] = st.encoding;
}

static int fx_phase_b(t30_state_t *s, void *user, int result)
{
    fx_chan_t *c = (fx_chan_t *) user;
    const char *id = t30_get_rx_ident(s);
    if (id) {
        strncpy(c->remote, id, sizeof(c->remote) - 1);
        c->remote[sizeof(c->remote) - 1] = 0;
    }
    fx_push(c, 1, result);
    return T30_ERR_OK;
}

static int fx_phase_d(t30_state_t *s, void *user, int result)
{
    fx_push((fx_chan_t *) user, 2, result);
    return T30_ERR_OK;
}

static void fx_phase_e(t30_state_t *s, void *user, int code)
{
    fx_chan_t *c = (fx_chan_t *) user;
    fx_push(c, 3, code);
    c->done = 1;
}

static fx_chan_t *fx_new(int calling, int transmit, const char *file, int start_page, int stop_page,
                         int ecm, int modems, int resolutions, int image_sizes, const char *ident,
                         const char *header, int log_level)
{
    fx_chan_t *c = calloc(1, sizeof(fx_chan_t));
    if (c == NULL)
        return NULL;
    c->fax = fax_init(NULL, calling);
    if (c->fax == NULL) {
        free(c);
        return NULL;
    }
    c->t30 = fax_get_t30_state(c->fax);
    fax_set_transmit_on_idle(c->fax, 1);
    fax_set_tep_mode(c->fax, 0);
    span_log_set_level(fax_get_logging_state(c->fax), log_level);
    span_log_set_level(t30_get_logging_state(c->t30), log_level);
    t30_set_supported_modems(c->t30, modems);
    t30_set_ecm_capability(c->t30, ecm);
    t30_set_supported_compressions(c->t30, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION
                                           | (ecm ? T30_SUPPORT_T6_COMPRESSION : 0));
    t30_set_supported_resolutions(c->t30, resolutions);
    t30_set_supported_image_sizes(c->t30, image_sizes);
    if (ident && ident[0])
        t30_set_tx_ident(c->t30, ident);
    if (header && header[0])
        t30_set_tx_page_header_info(c->t30, header);
    if (transmit)
        t30_set_tx_file(c->t30, file, start_page, stop_page);
    else
        t30_set_rx_file(c->t30, file, -1);
    t30_set_phase_b_handler(c->t30, fx_phase_b, c);
    t30_set_phase_d_handler(c->t30, fx_phase_d, c);
    t30_set_phase_e_handler(c->t30, fx_phase_e, c);
    return c;
}

static void fx_free(fx_chan_t *c)
{
    if (c == NULL)
        return;
    fax_free(c->fax);
    free(c);
}

/* One block: n received A-law octets in, n A-law octets to send out (silence-padded). */
static int fx_block(fx_chan_t *c, const uint8_t *rx, uint8_t *tx, int n)
{
    int i, got;
    if (n > 8000)
        n = 8000;
    for (i = 0; i < n; i++)
        c->lin_rx[i] = alaw_to_linear(rx[i]);
    fax_rx(c->fax, c->lin_rx, n);
    got = fax_tx(c->fax, c->lin_tx, n);
    for (i = got; i < n; i++)
        c->lin_tx[i] = 0;
    for (i = 0; i < n; i++)
        tx[i] = linear_to_alaw(c->lin_tx[i]);
    return c->done;
}

/* k channels in one call: rx and tx are k rows of n octets. Returns how many are done. */
static int fx_many(fx_chan_t **c, int k, const uint8_t *rx, uint8_t *tx, int n)
{
    int j, done = 0;
    for (j = 0; j < k; j++)
        done += fx_block(c[j], rx + (size_t) j * n, tx + (size_t) j * n, n);
    return done;
}

/* Linear samples straight through spandsp (the benchmark's "spandsp driven directly"). */
static int fx_linear(fx_chan_t *c, int16_t *rx, int16_t *tx, int n)
{
    int i, got;
    fax_rx(c->fax, rx, n);
    got = fax_tx(c->fax, tx, n);
    for (i = got; i < n; i++)
        tx[i] = 0;
    return c->done;
}

static int fx_events(fx_chan_t *c, int *out, int max_records)
{
    int k = c->nev < max_records ? c->nev : max_records;
    memcpy(out, c->ev, (size_t) k * FX_FIELDS * sizeof(int));
    if (k < c->nev)
        memmove(c->ev, c->ev[k], (size_t) (c->nev - k) * FX_FIELDS * sizeof(int));
    c->nev -= k;
    return k;
}

static int fx_done(fx_chan_t *c) { return c->done; }

static void fx_terminate(fx_chan_t *c)
{
    if (!c->done)
        t30_terminate(c->t30);
}

static const char *fx_remote_ident(fx_chan_t *c) { return c->remote; }
"""

_lock = threading.Lock()
_mod: ModuleType | None = None
_why = ""


def _cache_dirs() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    xdg = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "e1cti"
    return [root / "build" / "cti_fax", xdg / "cti_fax"]


def _build() -> ModuleType:
    return build_shim("_cti_fax", _CDEF, _SOURCE)


def build_shim(prefix: str, cdef: str, source: str) -> ModuleType:
    """Compile (once, cached by a hash of the C text) and import a cffi shim over libspandsp;
    :class:`FaxUnavailable` saying why when it cannot be built (also used by the interop rig)."""
    try:
        import cffi
    except ImportError as exc:
        raise FaxUnavailable(f"cffi not installed: {exc}") from None
    import ctypes.util

    if ctypes.util.find_library("spandsp") is None:
        raise FaxUnavailable("libspandsp not found (Debian package libspandsp-dev)")
    tag = hashlib.sha1((cdef + source).encode()).hexdigest()[:10]
    name = f"{prefix}_{tag}"
    errors = []
    for outdir in _cache_dirs():
        try:
            outdir.mkdir(parents=True, exist_ok=True)
            found = sorted(outdir.glob(f"{name}*.so"))
            if not found:
                ffi = cffi.FFI()
                ffi.cdef(cdef)
                ffi.set_source(name, source, libraries=["spandsp", "tiff", "m"],
                               extra_compile_args=["-O2", "-Wno-unused-function", "-Wno-deprecated-declarations"])
                ffi.compile(tmpdir=str(outdir), verbose=False)
                found = sorted(outdir.glob(f"{name}*.so"))
            spec = importlib.util.spec_from_file_location(name, found[0])
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            sys.modules[name] = mod
            return mod
        except Exception as exc:  # read-only tree, compiler missing, link error: try the next place
            errors.append(f"{outdir}: {exc}")
    raise FaxUnavailable("fax engine not built: " + "; ".join(errors))


def native() -> ModuleType:
    """The compiled shim (``.ffi``, ``.lib``); :class:`FaxUnavailable` with the reason otherwise."""
    global _mod, _why
    with _lock:
        if _mod is None and not _why:
            try:
                _mod = _build()
            except FaxUnavailable as exc:
                _why = str(exc)
        if _mod is None:
            raise FaxUnavailable(_why)
        return _mod


def available() -> tuple[bool, str]:
    """(True, "") when faxes can be sent and received here, else (False, why)."""
    try:
        native()
    except FaxUnavailable as exc:
        return False, str(exc)
    return True, ""

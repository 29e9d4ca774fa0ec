"""A software Class 1 fax modem on a pseudo-terminal, so efax (an independent T.30
implementation: its own T.30 over Class 1 AT commands) can fax to and from our timeslots.

The modem is spandsp's T.31 (modulations + AT interpreter, no T.30: efax does T.30), reached
through cffi like cti/fax. efax talks to the pty's slave as to a serial modem; the harness
reads the master and feeds the AT interpreter only while T.31 says clear-to-send (so efax's
writes block when the modem's buffer is full: flow control without XON/XOFF), and exchanges
one 20 ms A-law block per tick with the far side. ``ATD`` is connected at once, as if
the number answered. Time runs in real time (efax's timeouts are real seconds).
"""
from __future__ import annotations

import os
import pty
import select
import tty
from typing import Any

from cti.fax._native import build_shim

_CDEF = """
typedef struct md_s md_t;
md_t *md_new(int fd);
void md_free(md_t *m);
int md_at(md_t *m, const char *buf, int len);
int md_block(md_t *m, const uint8_t *rx, uint8_t *tx, int n);
int md_state(md_t *m, int what);
void md_event(md_t *m, int event);
"""

_SOURCE = r"""
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <tiffio.h>
#include <spandsp.h>

typedef struct md_s {
    t31_state_t *t31;
    int fd;
    int call;      /* 1 dialled, 2 answer asked, 0 on hook */
    int cts;
    int16_t lin[8000];
} md_t;

static int md_at_tx(at_state_t *s, void *user, const uint8_t *buf, size_t len)
{
    md_t *m = (md_t *) user;
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(m->fd, buf + done, len - done);
        if (k <= 0)
            break;
        done += (size_t) k;
    }
    return (int) len;
}

static int md_control(t31_state_t *s, void *user, int op, const char *num)
{
    md_t *m = (md_t *) user;
    switch (op) {
    case AT_MODEM_CONTROL_CALL: m->call = 1; break;
    case AT_MODEM_CONTROL_ANSWER: m->call = 2; break;
    case AT_MODEM_CONTROL_HANGUP: m->call = 0; break;
    case AT_MODEM_CONTROL_ONHOOK: m->call = 0; break;
    case AT_MODEM_CONTROL_CTS: m->cts = (num != NULL); break;
    default: break;
    }
    return 0;
}

static md_t *md_new(int fd)
{
    md_t *m = calloc(1, sizeof(md_t));
    m->fd = fd;
    m->cts = 1;
    m->t31 = t31_init(NULL, md_at_tx, m, md_control, m, NULL, NULL);
    t31_set_transmit_on_idle(m->t31, 1);
    return m;
}

static void md_free(md_t *m) { t31_free(m->t31); free(m); }

static int md_at(md_t *m, const char *buf, int len) { return t31_at_rx(m->t31, buf, len); }

static int md_block(md_t *m, const uint8_t *rx, uint8_t *tx, int n)
{
    int i, got;
    for (i = 0; i < n; i++)
        m->lin[i] = alaw_to_linear(rx[i]);
    t31_rx(m->t31, m->lin, n);
    got = t31_tx(m->t31, m->lin, n);
    for (i = got; i < n; i++)
        m->lin[i] = 0;
    for (i = 0; i < n; i++)
        tx[i] = linear_to_alaw(m->lin[i]);
    return got;
}

static int md_state(md_t *m, int what) { return what == 0 ? m->call : m->cts; }

static void md_event(md_t *m, int event) { t31_call_event(m->t31, event); }
"""

#: AT_CALL_EVENT_ALERTING / CONNECTED / ANSWERED (spandsp at_interpreter.h)
ALERTING, CONNECTED, ANSWERED = 1, 2, 3


class SoftModem:
    """One T.31 modem on a fresh pty: ``device`` is the path efax opens."""

    def __init__(self) -> None:
        self.mod: Any = build_shim("_efax_modem", _CDEF, _SOURCE)
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.device = os.ttyname(slave)
        self._slave = slave                      # kept open: the pty lives while we run
        ffi, lib = self.mod.ffi, self.mod.lib
        self.m = ffi.gc(lib.md_new(self.master), lib.md_free)
        self._tx = ffi.new("uint8_t[]", 160)
        self.connected = False
        self.log = bytearray()

    def pump_at(self) -> None:
        """Hand what efax wrote to the AT interpreter (while clear to send)."""
        lib = self.mod.lib
        while lib.md_state(self.m, 1) and select.select([self.master], [], [], 0)[0]:
            try:
                data = os.read(self.master, 256)
            except OSError:
                return
            if not data:
                return
            self.log += data[:64]
            lib.md_at(self.m, data, len(data))
        state = lib.md_state(self.m, 0)
        if state == 1 and not self.connected:          # ATD: the number answers at once
            self.connected = True
            lib.md_event(self.m, CONNECTED)
        elif state == 2 and not self.connected:        # ATA
            self.connected = True
            lib.md_event(self.m, ANSWERED)
        elif state == 0:
            self.connected = False

    def ring(self) -> None:
        """A call arrives (the modem says RING; efax then answers with ATA)."""
        self.mod.lib.md_event(self.m, ALERTING)

    def block(self, rx: bytes) -> bytes:
        """One 20 ms block: what the line carried to the modem in, what it sends out."""
        self.mod.lib.md_block(self.m, rx, self._tx, 160)
        return bytes(self.mod.ffi.buffer(self._tx, 160))

    def close(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

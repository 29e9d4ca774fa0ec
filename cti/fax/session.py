"""One fax call on one timeslot: a T.30 session fed one 20 ms A-law block at a time.

:class:`FaxSession` wraps one channel of the libspandsp engine (:mod:`cti.fax._native`):

    s = FaxSession.send("doc.tif", call="c1", calling=True)     # or FaxSession.receive("in.tif")
    tx = s.process(rx_block, now)     # 160 A-law octets in -> 160 out, every 20 ms
    for ev in s.poll(): ...           # FaxStarted / FaxPage / FaxCompleted, in order
    s.hangup(now)                     # the call cleared: ends with T30_ERR_CALLDROPPED

The events carry the T.30 figures the engine reports: pages, bit rate (14400 .. 2400:
V.17, V.29, V.27ter), ECM, resolution, and the T.30 completion code with its text
(``t30_completion_code_to_str``). A session ends exactly once with one
:class:`FaxCompleted`: from phase E, from :meth:`hangup`, or from its own time limit
(``timeout``: a call that stays silent, or a far end that never completes). Time is passed in.
"""
from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._native import EVENT_FIELDS, native

BLOCK = 160

#: T.30 completion codes we name in our own results (spandsp's t30_err_e values, checked
#: against the compiled library by tests/test_fax.py).
T30_ERR_OK = 0
T30_ERR_T0_EXPIRED = 2
T30_ERR_T1_EXPIRED = 3
T30_ERR_CANNOT_TRAIN = 6
T30_ERR_FILEERROR = 41
T30_ERR_BADTIFF = 43
T30_ERR_RETRYDCN = 48
T30_ERR_CALLDROPPED = 49


class Modem(enum.IntFlag):
    """Fax modems offered (spandsp T30_SUPPORT_*)."""

    V27TER = 0x01   #: 4800 / 2400 bit/s
    V29 = 0x02      #: 9600 / 7200 bit/s
    V17 = 0x04      #: 14400 / 12000 / 9600 / 7200 bit/s
    ALL = 0x07


#: Resolutions we accept on receive: standard (98 lpi) and fine (196 lpi) (T30_SUPPORT_*).
RES_STANDARD = 0x01
RES_FINE = 0x02
#: Image sizes: 215 mm (1728 px) wide, A4 / B4 / US letter / legal / unlimited length.
SIZES_DEFAULT = 0x01 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | 0x100000


@dataclass(frozen=True)
class FaxEvent:
    call: str
    direction: str          #: "send" / "receive"

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class FaxStarted(FaxEvent):
    """Phase B done: the two machines agreed (DIS/DCS) and the first page is about to go."""

    bit_rate: int = 0
    ecm: bool = False
    remote_ident: str = ""


@dataclass(frozen=True)
class FaxPage(FaxEvent):
    """Phase D: one page sent or received (``page`` counts from 1)."""

    page: int = 0
    bit_rate: int = 0
    ecm: bool = False
    x_resolution: int = 0   #: pixels per metre (8031 = 204 dpi)
    y_resolution: int = 0   #: 3850 standard, 7700 fine
    width: int = 0
    length: int = 0
    bad_rows: int = 0
    post_page: str = ""     #: the T.30 message that closed the page (MPS, EOP, MCF, ...)


@dataclass(frozen=True)
class FaxCompleted(FaxEvent):
    """Phase E (or the call ended first): the final result with its T.30 completion code."""

    ok: bool = False
    result: int = 0          #: T.30 completion code (0 = OK)
    reason: str = ""         #: its text, e.g. "OK", "Timed out waiting for initial communication"
    pages: int = 0
    bit_rate: int = 0
    ecm: bool = False
    path: str = ""
    remote_ident: str = ""
    seconds: float = 0.0


def completion_text(code: int) -> str:
    m = native()
    return str(m.ffi.string(m.lib.t30_completion_code_to_str(int(code))).decode("ascii", "replace"))


def frame_name(fcf: int) -> str:
    m = native()
    return str(m.ffi.string(m.lib.t30_frametype(fcf & 0xFF)).decode("ascii", "replace")) if fcf else ""


@dataclass
class FaxOptions:
    """What a session offers (both directions)."""

    ecm: bool = True
    modems: int = int(Modem.ALL)
    resolutions: int = RES_STANDARD | RES_FINE
    image_sizes: int = SIZES_DEFAULT
    ident: str = ""                 #: our TSI/CSI (20 characters at most, digits, + and space)
    header: str = ""                #: page header line printed by the sender ("" = none)
    timeout: float = 300.0          #: hard limit on one fax call (s)
    log_level: int = 0              #: spandsp logging (0 = none)


@dataclass
class FaxSession:
    """One T.30 session (see the module docstring). Build with :meth:`send` / :meth:`receive`."""

    direction: str
    path: Path
    call: str = ""
    options: FaxOptions = field(default_factory=FaxOptions)
    started_at: float | None = None
    done: bool = False
    completed: FaxCompleted | None = None
    _chan: Any = None
    _events: list[FaxEvent] = field(default_factory=list)
    _pages: int = 0
    _rate: int = 0
    _ecm: bool = False
    _remote: str = ""
    _said_started: bool = False
    _tx: Any = None
    _ev: Any = None

    @classmethod
    def send(cls, path: str | os.PathLike[str], *, call: str = "", calling: bool = True,
             options: FaxOptions | None = None, first_page: int = -1, last_page: int = -1) -> FaxSession:
        """Transmit the TIFF-F at ``path``; ``calling``: we dialled (we send CNG, they answer with CED)."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"fax document {p} not found")
        return cls._open("send", p, call, calling, options or FaxOptions(), first_page, last_page)

    @classmethod
    def receive(cls, path: str | os.PathLike[str], *, call: str = "", calling: bool = False,
                options: FaxOptions | None = None) -> FaxSession:
        """Receive into a new TIFF at ``path`` (its directory must exist)."""
        p = Path(path)
        if not p.parent.is_dir():
            raise FileNotFoundError(f"fax inbox directory {p.parent} not found")
        return cls._open("receive", p, call, calling, options or FaxOptions(), -1, -1)

    @classmethod
    def _open(cls, direction: str, path: Path, call: str, calling: bool, o: FaxOptions,
              first: int, last: int) -> FaxSession:
        m = native()
        chan = m.lib.fx_new(int(calling), int(direction == "send"), str(path).encode(), first, last,
                            int(o.ecm), o.modems, o.resolutions, o.image_sizes, o.ident[:20].encode(),
                            o.header.encode(), o.log_level)
        if chan == m.ffi.NULL:
            raise MemoryError("spandsp fax_init failed")
        s = cls(direction, path, call, o)
        s._chan = m.ffi.gc(chan, m.lib.fx_free)
        s._tx = m.ffi.new("uint8_t[]", BLOCK)
        s._ev = m.ffi.new("int[]", 64 * len(EVENT_FIELDS))
        return s

    # ---- the data path ------------------------------------------------------------------------
    def process(self, rx: bytes, now: float) -> bytes:
        """One block: what the far end sent (A-law) in, what to send (A-law, same length) out."""
        if self.started_at is None:
            self.started_at = now
        n = len(rx)
        if self.done:
            return b"\xd5" * n
        m = native()
        if n > BLOCK:
            out = b"".join(self.process(rx[i:i + BLOCK], now) for i in range(0, n, BLOCK))
            return out
        m.lib.fx_block(self._chan, rx, self._tx, n)
        out = bytes(m.ffi.buffer(self._tx, n))
        self._drain(now)
        if not self.done and now - self.started_at >= self.options.timeout:
            self._finish(T30_ERR_T1_EXPIRED if not self._pages else T30_ERR_CALLDROPPED, now,
                         reason=f"fax call exceeded {self.options.timeout:g} s")
        return out

    def poll(self) -> list[FaxEvent]:
        """The events since the last poll, in order."""
        out, self._events = self._events, []
        return out

    def hangup(self, now: float) -> FaxCompleted | None:
        """The call cleared (or we give up): end the session now if phase E has not ended it."""
        if not self.done:
            native().lib.fx_terminate(self._chan)
            self._drain(now)
            if not self.done:
                self._finish(T30_ERR_CALLDROPPED, now)
        return self.completed

    # ---- internals ----------------------------------------------------------------------------
    def _drain(self, now: float) -> None:
        m = native()
        nf = len(EVENT_FIELDS)
        k = m.lib.fx_events(self._chan, self._ev, 64)
        for j in range(k):
            rec = dict(zip(EVENT_FIELDS, self._ev[j * nf:(j + 1) * nf], strict=True))
            self._rate, self._ecm = rec["bit_rate"], bool(rec["ecm"])
            if rec["kind"] == 1:
                self._remote = m.ffi.string(m.lib.fx_remote_ident(self._chan)).decode("ascii", "replace").strip()
                if not self._said_started:
                    self._said_started = True
                    self._events.append(FaxStarted(self.call, self.direction, self._rate, self._ecm, self._remote))
            elif rec["kind"] == 2:
                page = rec["pages_tx"] if self.direction == "send" else rec["pages_rx"]
                if page == self._pages:       # a page repeated after RTN: not a new page
                    continue
                self._pages = page
                self._events.append(FaxPage(self.call, self.direction, page, rec["bit_rate"], bool(rec["ecm"]),
                                            rec["x_resolution"], rec["y_resolution"], rec["width"],
                                            rec["length"], rec["bad_rows"], frame_name(rec["code"])))
            elif rec["kind"] == 3:
                self._pages = max(self._pages, rec["pages_tx"] if self.direction == "send" else rec["pages_rx"])
                self._finish(rec["code"], now)

    def _finish(self, code: int, now: float, reason: str = "") -> None:
        if self.done:
            return
        self.done = True
        self.completed = FaxCompleted(self.call, self.direction, code == T30_ERR_OK and self._pages > 0, code,
                                      reason or completion_text(code), self._pages, self._rate, self._ecm,
                                      str(self.path), self._remote, round(now - (now if self.started_at is None else self.started_at), 3))
        self._events.append(self.completed)

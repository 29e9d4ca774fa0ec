"""Q.921 LAPD data link, sans-IO, on the one FSM engine: multiple frame operation for SAPI 0,
TEI 0 (point-to-point primary rate), user or network side.

The table :data:`LINK_TABLE` is the whole machine of Q.921 Annex B (SDL, states 4-8 for a
fixed TEI): establishment (SABME/UA/DM), release (DISC), acknowledged information transfer
(I, RR, RNR, REJ with modulo-128 sequence numbers and window ``k``), timer recovery (T200
enquiry, N200 retries), link supervision (T203), FRMR and invalid frames (5.8.5: the link is
re-established, the calls above it are kept). Timers start and stop in the table: a state's
entry timers, and the internal events ``I_SENT`` (T200 starts when the first frame is
outstanding, T203 stops) and ``ACKED`` (all acknowledged: T200 stops, T203 starts).

Transports call ``receive(frame, now)``, ``su_error(now)`` (a frame with a bad FCS: Q.921
2.9, discarded), ``line_fault(now, reason)`` (LOS/AIS: no flags, the link is lost) and
``data_to_send(now)``; the layer above calls ``send(octets, now)`` (DL-DATA-REQUEST) and
drains ``events()`` (:class:`LinkEvent`: established, released, data, error).

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``link_c.pxd`` as ``link_c`` (:mod:`.link` picks the live one).
The I / RR path is written for the compiled build: an I or supervisory frame is decoded here
from its four octets (C integers, no :func:`.lapd.decode` call), the sequence variables are C
ints (modulo 128 by masking), frames out are written into one new bytes each (:mod:`._octets`).
In the established state an I or supervisory frame goes to its action (``i_frame``,
``supervisory``) with its fields as C ints, without a :class:`~.lapd.Frame` and without the
engine's lookup: only where the table's row for it is the action alone (no guard, no next
state, no timers: :func:`_plain` checks the table at import) and the machine records no trace,
so the table stays the whole machine. Written by hand because it is the per-frame cost of every
PRI call; U frames and every error go through :func:`.lapd.decode`, whose checks are the
reference.
"""
from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import cython

from _boardcore import _select
from cti.signaling.engine import ANY, Machine, Row, Table
from cti.signaling.errors import DecodeError

from . import _octets
from .lapd import S_CODES, SAPI_CALL_CONTROL, TEI_PRI, Frame, Kind, cr_bit, decode, encode
from .timers import Q921_PARAMETERS, Q921_TIMERS


class LinkState(enum.Enum):
    """Q.921 Annex B states (numbers of the SDL) for a fixed TEI."""

    #: members are singletons compared by identity: hashed by identity too, in C, rather than by
    #: name in Python (Enum.__hash__) on every table lookup of the per-frame path
    __hash__ = object.__hash__

    TEI_ASSIGNED = 4
    AWAITING_ESTABLISHMENT = 5
    AWAITING_RELEASE = 6
    MULTIPLE_FRAME_ESTABLISHED = 7
    TIMER_RECOVERY = 8


class Ev(enum.Enum):
    """Events that are not received frames: layer 3 primitives, timers, internal."""

    #: members are singletons compared by identity: hashed by identity too, in C, rather than by
    #: name in Python (Enum.__hash__) on every table lookup of the per-frame path
    __hash__ = object.__hash__

    DL_ESTABLISH_REQUEST = "DL-ESTABLISH-REQUEST"
    DL_RELEASE_REQUEST = "DL-RELEASE-REQUEST"
    T200 = "T200 expiry"
    T203 = "T203 expiry"
    T_REEST = "re-establishment due"
    I_SENT = "I frame sent"
    ACKED = "all I frames acknowledged"
    PARTIAL_ACK = "some I frames acknowledged"
    INVALID = "invalid frame (5.8.5)"
    LINE_FAULT = "line fault (LOS, AIS: no flags)"


@dataclass(slots=True)
class LinkEvent:
    kind: str                #: "established" | "released" | "data" | "error"
    time: float
    data: bytes = b""
    reason: str = ""


#: the control octet of an S frame -> its kind (RR, RNR, REJ)
_S_KIND: dict[int, Kind] = dict(S_CODES)
S_OCTET_OF: dict[Kind, int] = {k: c for c, k in S_CODES.items()}
_I = Kind.I
#: control octets of the supervisory frames (Q.921 Table 5)
RR_C, RNR_C, REJ_C = 0x01, 0x05, 0x09
_S4 = LinkState.TEI_ASSIGNED
_S7 = LinkState.MULTIPLE_FRAME_ESTABLISHED
_S8 = LinkState.TIMER_RECOVERY
_I_SENT, _ACKED, _PARTIAL_ACK, _INVALID = Ev.I_SENT, Ev.ACKED, Ev.PARTIAL_ACK, Ev.INVALID
#: the machine class: this build types it as the compiled engine (``link_c.pxd``), so with the twins
#: forced on (BOARDCORE_NO_EXTENSIONS=1 and the compiled module imported all the same) it takes that
#: engine all the same; the twin takes the live one
_Machine: Any = Machine
if cython.compiled:
    _machine_c = _select.compiled("cti.signaling.machine")
    if _machine_c is not None:
        _Machine = _machine_c.MachineCore


class Upper:
    """The layer above a data link (Q.921 4.1: DL-DATA-INDICATION): a link whose ``upper`` is
    set hands each layer 3 message received in sequence to ``upper.data_ind(octets, now)``; in
    the compiled build a subclass compiled against ``link_c.pxd`` is called in C (a vtable
    call, no Python call). Layer 3 subclasses it; this base keeps what it is handed, in order,
    in ``received`` (``(octets, time)`` pairs), for a user of the data link alone."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, float]] = []

    def data_ind(self, info: bytes, now: float) -> int:
        """DL-DATA-INDICATION: ``info``, one message received in sequence."""
        if self.received is None:          # a subclass that did not run this __init__
            self.received = []
        self.received.append((info, now))
        return 0


class LapdLink:
    """One LAPD data link (SAPI 0, TEI 0). ``network`` is our side (C/R rule of Q.921 Table 1)."""

    def __init__(self, network: bool = False, *, timers: dict[str, float] | None = None,
                 auto_establish: bool = True, name: str = "q921", trace: int = 0) -> None:
        self.network = network
        self.name = name
        self.auto = auto_establish
        t = dict(timers or {})
        params = {n: Q921_PARAMETERS[n].check(float(t.pop(n))) if n in t else s.default
                  for n, s in Q921_PARAMETERS.items()}
        self.n200, self.n201, self.k = int(params["N200"]), int(params["N201"]), int(params["k"])
        #: address octets (SAPI 0, TEI 0) of our commands and responses: I and S frames are built
        #: from them directly on the per-frame path (lapd.encode builds the same octets)
        self._addr_c = bytes((cr_bit(True, network) << 1, TEI_PRI << 1 | 1))
        self._addr_r = bytes((cr_bit(False, network) << 1, TEI_PRI << 1 | 1))
        #: C/R bit of a command received from the peer (Q.921 Table 1)
        self._peer_cmd = cr_bit(True, not network)
        self.m: Machine[LapdLink] = _Machine(LINK_TABLE, self, name=name, timer_values=t, trace=trace)
        self.vs = self.va = self.vr = 0
        self.rc = 0
        self.reject = False            #: reject exception condition (REJ sent, Q.921 5.6.2.1)
        self.peer_busy = False
        self.ack_pending = False
        #: information of I frames V(A)..V(S)-1 (at most k: a list, its operations C calls)
        self.unacked: list[bytes] = []
        self.queue: list[bytes] = []           #: DL-DATA-REQUESTs not yet sent
        self._out: list[bytes] = []
        self._events: list[LinkEvent] = []
        #: DL-DATA-INDICATION: when set, each layer 3 message received in sequence is handed to
        #: ``deliver(octets, now)`` at once instead of a "data" :class:`LinkEvent` (a stack wires
        #: its layer 3 so: one object and one queue less per message)
        self.deliver: Callable[[bytes, float], Any] | None = None
        #: DL-DATA-INDICATION to the layer above as a C call (compiled build), when ``deliver``
        #: is not set (a test or a tap setting ``deliver`` takes the messages first)
        self.upper: Upper | None = None
        #: frames received / sent, I frames received / sent (per frame: C ints; :attr:`counters`)
        self.n_rx = self.n_tx = self.n_i_rx = self.n_i_tx = 0
        self._counters: dict[str, int] = {k: 0 for k in (
            "retransmitted", "rej_tx", "rej_rx", "fcs_errors", "invalid",
            "established", "released", "frmr_rx", "t200_expiry", "t203_expiry")}
        #: Q.921 Annex II management error codes seen (A..O), for diagnostics
        self.mdl_errors: dict[str, int] = {}

    # ---- sans-IO shape ----------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        """Frames and events counted (a copy: "rx", "tx", "i_rx", "i_tx", "retransmitted" ...)."""
        return {"rx": self.n_rx, "tx": self.n_tx, "i_rx": self.n_i_rx, "i_tx": self.n_i_tx, **self._counters}

    @property
    def state(self) -> LinkState:
        return self.m.state  # type: ignore[no-any-return]

    @property
    def up(self) -> bool:
        return self.m.state is _S7 or self.m.state is _S8

    def start(self, now: float) -> None:
        """DL-ESTABLISH-REQUEST (a PRI establishes its link at start-up)."""
        self.m.fire_if(Ev.DL_ESTABLISH_REQUEST, None, now)

    def stop(self, now: float) -> None:
        """DL-RELEASE-REQUEST, and no automatic re-establishment."""
        self.auto = False
        self.m.fire_if(Ev.DL_RELEASE_REQUEST, None, now)

    def receive(self, data: bytes | bytearray, now: float) -> None:
        self.n_rx += 1
        b = data if type(data) is bytes else bytes(data)
        n = len(b)
        if n == 4 or (n > 4 and n - 4 <= self.n201 and not b[2] & 1):
            a0 = b[0]
            a1 = b[1]
            c0 = b[2]
            c1 = b[3]
            # SAPI 0, TEI 0, two address octets: I, RR, RNR or REJ (the rest: lapd.decode)
            if a0 & 0xFD == 0 and a1 == 1:
                command = ((a0 >> 1) & 1) == self._peer_cmd
                if not c0 & 1:
                    if command:
                        if self.m.state is _S7 and _FAST and self._untraced():
                            self._i(c0 >> 1, c1 >> 1, c1 & 1 != 0, _octets.tail(b, 4), now)     # the row (7, I): i_frame
                        else:
                            self.m.fire(_I, Frame(_I, True, bool(c1 & 1), c0 >> 1, c1 >> 1, b[4:]), now)
                        return
                elif n == 4:
                    kind = _S_KIND.get(c0)
                    if kind is not None:
                        if self.m.state is _S7 and _FAST and self._untraced():
                            self._sup(c0, command, c1 & 1 != 0, c1 >> 1, now)    # the rows (7, RR/RNR/REJ)
                        else:
                            self.m.fire(kind, Frame(kind, command, bool(c1 & 1), None, c1 >> 1), now)
                        return
        try:
            f = decode(b, not self.network, self.n201)
        except DecodeError as e:
            self._counters["invalid"] += 1
            self.m.fire(_INVALID, str(e), now)
            return
        if f.sapi != SAPI_CALL_CONTROL or f.tei != TEI_PRI:
            return                               # another data link (5.3.1): not ours
        self.m.fire(f.kind, f, now)

    def _untraced(self) -> bool:
        """The machine records no transitions (the fast path would leave them out)."""
        if cython.compiled:                 # the compiled engine's fields, read in C
            return self.m._rn == 0 and self.m._sink is None  # type: ignore[attr-defined]
        return self.m.trace is None

    def su_error(self, now: float) -> None:
        """A frame with a bad FCS or too short (Q.921 2.9): discarded."""
        self._counters["fcs_errors"] += 1

    def line_fault(self, now: float, reason: str) -> None:
        """No flags on the D channel (LOS, AIS): the link is lost at once (MDL / persistent
        deactivation); establishment is asked again when the line returns."""
        self.m.fire(Ev.LINE_FAULT, reason, now)

    def send(self, data: bytes | bytearray, now: float) -> None:
        """DL-DATA-REQUEST: queue a layer 3 message (sent in order once the link allows)."""
        b = data if type(data) is bytes else bytes(data)
        if len(b) > self.n201:
            raise ValueError(f"{len(b)} octets exceed N201={self.n201}")
        self.queue.append(b)
        if self.m.state is _S4:
            self.m.fire(Ev.DL_ESTABLISH_REQUEST, None, now)

    def data_to_send(self, now: float) -> list[bytes]:
        if not (self.queue or self.ack_pending or self._out):
            return []
        self._push(now)
        if self.ack_pending and (self.m.state is _S7 or self.m.state is _S8):
            self._s(RR_C, False, False)
        self.ack_pending = False
        out = self._out
        self._out = []
        self.n_tx += len(out)
        return out

    def events(self) -> list[LinkEvent]:
        ev, self._events = self._events, []
        return ev

    def timer_deadline(self) -> float | None:
        d: float | None = self.m.deadline()
        return d

    def handle_timer(self, now: float) -> None:
        self.m.handle_timer(now)

    # ---- frames out -------------------------------------------------------------------------
    def _frame(self, f: Frame) -> None:
        self._out.append(encode(f, self.network))

    def _s(self, control: cython.int, command: bool, pf: bool) -> None:
        """A supervisory frame (``control``: :data:`RR_C`, :data:`RNR_C`, :data:`REJ_C`) with V(R)."""
        self._out.append(_octets.sframe(self._addr_c if command else self._addr_r, control, self.vr, pf))
        self.ack_pending = False

    def _push(self, now: float) -> None:
        """Send queued I frames while the window (k) and the state allow (Q.921 5.6.1)."""
        q = self.queue
        taken = 0
        while (taken < len(q) and self.m.state is _S7 and not self.peer_busy
               and ((self.vs - self.va) & 0x7F) < self.k):
            info = q[taken]
            taken += 1
            self._out.append(_octets.frame(self._addr_c, self.vs, self.vr, info))
            self.unacked.append(info)
            self.vs = (self.vs + 1) & 0x7F
            self.ack_pending = False
            self.n_i_tx += 1
            if _ROWS:          # the rows (7, I_SENT): T200 started unless running, T203 stopped
                if self.m.running._at[_T200] is None:  # type: ignore[attr-defined]
                    self.m._apply(_R_SENT, _I_SENT, None, now)  # type: ignore[attr-defined]
            else:
                self.m.fire_if(_I_SENT, None, now)
        if taken:                                # the frames sent leave the queue at once
            if taken == len(q):
                self.queue = []
            else:
                del q[:taken]

    # ---- actions (the table names them) -------------------------------------------------------
    def _mdl(self, code: str) -> None:
        self.mdl_errors[code] = self.mdl_errors.get(code, 0) + 1

    def _clear(self, discard: bool) -> None:
        self.vs = self.va = self.vr = 0
        self.reject = self.peer_busy = self.ack_pending = False
        self.unacked.clear()
        if discard:
            self.queue.clear()

    def _released(self, now: float, reason: str) -> None:
        self._counters["released"] += 1
        self._events.append(LinkEvent("released", now, reason=reason))

    def send_sabme(self, msg: Any, now: float) -> None:
        self.rc = 0
        self._frame(Frame(Kind.SABME, True, True))

    def resend_sabme(self, msg: Any, now: float) -> None:
        self.rc += 1
        self._counters["t200_expiry"] += 1
        self._frame(Frame(Kind.SABME, True, True))

    def reestablish(self, msg: Any, now: float) -> None:
        """Link re-establishment after an error (Q.921 5.7): the calls above are kept."""
        kind = msg.kind if isinstance(msg, Frame) else None
        self._mdl({Kind.FRMR: "K", Kind.DM: "E"}.get(kind, "I") if kind else "I" if msg == "T200" else "L")
        if getattr(msg, "kind", None) is Kind.FRMR:
            self._counters["frmr_rx"] += 1
        self._events.append(LinkEvent("error", now, reason=f"re-establishing the link after {msg}"))
        unsent = self.unacked + self.queue                  # kept for layer 3 (5.7.1 note)
        self._clear(discard=True)
        self.queue.extend(unsent)
        self.send_sabme(msg, now)

    def ua_answer(self, msg: Frame, now: float) -> None:
        self._frame(Frame(Kind.UA, False, msg.pf))

    def dm_answer(self, msg: Frame, now: float) -> None:
        self._frame(Frame(Kind.DM, False, msg.pf))

    def dm_f1(self, msg: Frame, now: float) -> None:
        """Q.921 Annex B state 4: a command with P=1 while not established gets DM F=1."""
        self._frame(Frame(Kind.DM, False, True))

    def established_by_peer(self, msg: Frame, now: float) -> None:
        self._frame(Frame(Kind.UA, False, msg.pf))
        self._up(now, "SABME received")

    def reset_by_peer(self, msg: Frame, now: float) -> None:
        """SABME in the established states (5.5.3.2): UA, variables reset, frames kept above."""
        self._mdl("F")
        self._frame(Frame(Kind.UA, False, msg.pf))
        unsent = self.unacked + self.queue
        self._clear(discard=True)
        self.queue.extend(unsent)
        self._counters["established"] += 1
        self._events.append(LinkEvent("established", now, reason="re-established by the peer"))

    def established(self, msg: Frame, now: float) -> None:
        self._up(now, "UA received")

    def _up(self, now: float, why: str) -> None:
        self.vs = self.va = self.vr = 0
        self.reject = self.peer_busy = self.ack_pending = False
        self.unacked.clear()
        self._counters["established"] += 1
        self._events.append(LinkEvent("established", now, reason=why))

    def establish_failed(self, msg: Any, now: float) -> None:
        self._mdl("G" if msg == "T200" else "B")
        self._clear(discard=True)
        self._released(now, "establishment failed" if msg == "T200" else "DM received")

    def released_by_peer(self, msg: Frame, now: float) -> None:
        self._frame(Frame(Kind.UA, False, msg.pf))
        self._clear(discard=True)
        self._released(now, "DISC received")

    def send_disc(self, msg: Any, now: float) -> None:
        self.rc = 0
        self._clear(discard=True)
        self._frame(Frame(Kind.DISC, True, True))

    def resend_disc(self, msg: Any, now: float) -> None:
        self.rc += 1
        self._frame(Frame(Kind.DISC, True, True))

    def release_done(self, msg: Any, now: float) -> None:
        self._released(now, "released")

    def line_lost(self, msg: Any, now: float) -> None:
        """The D channel carries no flags: whatever was in progress is lost."""
        self._clear(discard=True)
        self._out.clear()
        self._released(now, f"line fault: {msg}")

    def mdl_error(self, msg: Any, now: float) -> None:
        self._mdl({Kind.UA: "C", Kind.DM: "B"}.get(msg.kind, "A") if isinstance(msg, Frame) else "A")

    def enquiry(self, msg: Any, now: float) -> None:
        """T200 or T203 expiry in the established state: RR command P=1 (5.6.7, 5.6.8)."""
        self.rc = 1
        self._counters["t200_expiry" if msg == "T200" else "t203_expiry"] += 1
        self._s(RR_C, True, True)

    def enquiry_again(self, msg: Any, now: float) -> None:
        self.rc += 1
        self._counters["t200_expiry"] += 1
        self._s(RR_C, True, True)

    def i_frame(self, msg: Frame, now: float) -> None:
        """Q.921 5.6.2: in sequence: accept and acknowledge; out of sequence: REJ once."""
        assert msg.ns is not None and msg.nr is not None
        self._i(msg.ns, msg.nr, msg.pf, msg.info, now)

    def _i(self, ns: cython.int, nr: cython.int, pf: bool, info: bytes, now: float) -> None:
        """:meth:`i_frame` on the frame's fields."""
        if ns == self.vr:
            self.vr = (self.vr + 1) & 0x7F
            self.reject = False
            self.n_i_rx += 1
            if self.deliver is not None:
                self.deliver(info, now)
            elif self.upper is not None:
                self.upper.data_ind(info, now)
            else:
                self._events.append(LinkEvent("data", now, info))
            if pf:
                self._s(RR_C, False, True)
            else:
                self.ack_pending = True
        elif not self.reject:
            self.reject = True
            self._counters["rej_tx"] += 1
            self._s(REJ_C, False, pf)
        elif pf:
            self._s(RR_C, False, True)
        self._nr(nr, now, True)

    def supervisory(self, msg: Frame, now: float) -> None:
        """RR / RNR / REJ in the established state (5.6.3-5.6.6)."""
        assert msg.nr is not None
        self._sup(S_OCTET_OF[msg.kind], msg.command, msg.pf, msg.nr, now)

    def _sup(self, control: cython.int, command: bool, pf: bool, nr: cython.int, now: float) -> None:
        """:meth:`supervisory` on the frame's fields (``control``: its control octet)."""
        if command and pf:
            self._s(RR_C, False, True)
        elif not command and pf:
            self._mdl("A")
        self.peer_busy = control == RNR_C
        if control == REJ_C:
            self._counters["rej_rx"] += 1
            if self._nr(nr, now, False):
                self._retransmit()
            return
        self._nr(nr, now, True)

    def recovery_supervisory(self, msg: Frame, now: float) -> None:
        """RR / RNR / REJ in timer recovery that is not the final answer (5.6.7)."""
        if msg.command and msg.pf:
            self._s(RR_C, False, True)
        self.peer_busy = msg.kind is Kind.RNR
        assert msg.nr is not None
        self._nr(msg.nr, now, False)

    def recovered(self, msg: Frame, now: float) -> None:
        """The response with F=1 to our enquiry: acknowledge, retransmit from N(R) (5.6.7)."""
        self.peer_busy = msg.kind is Kind.RNR
        if msg.kind is Kind.REJ:
            self._counters["rej_rx"] += 1
        assert msg.nr is not None
        if self._nr(msg.nr, now, False):
            self._retransmit()

    # ---- N(R) -----------------------------------------------------------------------------------
    def _nr(self, nr: cython.int, now: float, move: bool) -> bool:
        """Acknowledge up to N(R) (5.6.3.2); an N(R) outside V(A)..V(S) re-establishes (error J).
        ``move``: fire ACKED / PARTIAL_ACK for the timers (not in timer recovery)."""
        if ((nr - self.va) & 0x7F) > ((self.vs - self.va) & 0x7F):     # V(A) <= N(R) <= V(S)
            self._mdl("J")
            self.m.fire(_INVALID, f"N(R)={nr} outside V(A)={self.va}..V(S)={self.vs}", now)
            return False
        n = (nr - self.va) & 0x7F
        if n:
            if n == len(self.unacked):
                self.unacked = []
            else:
                del self.unacked[:n]
        self.va = nr
        if n and move and self.m.state is _S7:
            if _ROWS:        # the rows (7, ACKED) / (7, PARTIAL_ACK): their timers, applied directly
                if self.va == self.vs:
                    self.m._apply(_R_ACKED, _ACKED, None, now)  # type: ignore[attr-defined]
                else:
                    self.m._apply(_R_PARTIAL, _PARTIAL_ACK, None, now)  # type: ignore[attr-defined]
            else:
                self.m.fire(_ACKED if self.va == self.vs else _PARTIAL_ACK, None, now)
        return True

    def _retransmit(self) -> None:
        """V(S) = N(R): the unacknowledged frames go out again (5.6.4 / 5.6.7)."""
        self._counters["retransmitted"] += len(self.unacked)
        self.queue[:0] = self.unacked
        self.unacked = []
        self.vs = self.va

    def nothing(self, msg: Any, now: float) -> None:
        """Frames the state ignores (Q.921 Annex B: discard)."""

    def t200_idle(self, msg: Any) -> bool:
        return not self.m.is_running("T200")

    def retries_left(self, msg: Any) -> bool:
        return self.rc < self.n200

    def is_auto(self, msg: Any) -> bool:
        return self.auto

    @staticmethod
    def final_f(msg: Frame) -> bool:
        return not msg.command and msg.pf

    @staticmethod
    def poll(msg: Frame) -> bool:
        return msg.command and msg.pf

    @staticmethod
    def f1(msg: Frame) -> bool:
        return msg.pf


# ---- the table --------------------------------------------------------------------------------
S4, S5, S6, S7, S8 = (LinkState.TEI_ASSIGNED, LinkState.AWAITING_ESTABLISHMENT, LinkState.AWAITING_RELEASE,
                      LinkState.MULTIPLE_FRAME_ESTABLISHED, LinkState.TIMER_RECOVERY)
L = LapdLink
_SUP = (Kind.RR, Kind.RNR, Kind.REJ)


def _g(fn: Any) -> Any:
    return lambda ctx, msg: fn(msg)


_rows: list[Row] = [
    # state 4: TEI assigned (5.5.1)
    Row(S4, Ev.DL_ESTABLISH_REQUEST, S5, L.send_sabme, clause="Q.921 5.5.1.1"),
    Row(S4, Ev.T_REEST, S5, L.send_sabme, guard=L.is_auto, clause="Q.921 5.5.1.1 (PRI keeps the link up)"),
    Row(S4, Ev.T_REEST, None, L.nothing),
    Row(S4, Kind.SABME, S7, L.established_by_peer, clause="Q.921 5.5.1.2"),
    Row(S4, Kind.DISC, None, L.dm_answer, clause="Q.921 5.5.3.1"),
    Row(S4, Kind.I, None, L.dm_f1, guard=_g(L.f1), clause="Q.921 Annex B state 4"),
    *[Row(S4, k, None, L.dm_f1, guard=_g(L.poll), clause="Q.921 Annex B state 4") for k in _SUP],
    # state 5: awaiting establishment (5.5.1.2-5.5.1.3)
    Row(S5, Kind.UA, S7, L.established, guard=_g(L.f1), clause="Q.921 5.5.1.2"),
    Row(S5, Kind.DM, S4, L.establish_failed, guard=_g(L.f1), clause="Q.921 5.5.1.2"),
    Row(S5, Kind.SABME, None, L.ua_answer, clause="Q.921 5.5.1.3 (collision of identical commands)"),
    Row(S5, Kind.DISC, None, L.dm_answer, clause="Q.921 5.5.1.3"),
    Row(S5, Ev.T200, None, L.resend_sabme, guard=L.retries_left, start=("T200",), clause="Q.921 5.5.1.3"),
    Row(S5, Ev.T200, S4, L.establish_failed, clause="Q.921 5.5.1.3 (N200 reached: error G)"),
    # state 6: awaiting release (5.5.3)
    Row(S6, Kind.UA, S4, L.release_done, guard=_g(L.f1), clause="Q.921 5.5.3.2"),
    Row(S6, Kind.DM, S4, L.release_done, guard=_g(L.f1), clause="Q.921 5.5.3.2"),
    Row(S6, Kind.SABME, None, L.dm_answer, clause="Q.921 5.5.3.3"),
    Row(S6, Kind.DISC, None, L.ua_answer, clause="Q.921 5.5.3.3"),
    Row(S6, Ev.T200, None, L.resend_disc, guard=L.retries_left, start=("T200",), clause="Q.921 5.5.3.2"),
    Row(S6, Ev.T200, S4, L.release_done, clause="Q.921 5.5.3.2 (N200 reached: error H)"),
    # state 7: multiple frame established (5.6)
    Row(S7, Ev.I_SENT, None, None, guard=L.t200_idle, start=("T200",), stop=("T203",), clause="Q.921 5.6.1"),
    Row(S7, Ev.I_SENT, None, None, clause="Q.921 5.6.1 (T200 already running)"),
    Row(S7, Ev.ACKED, None, None, stop=("T200",), start=("T203",), clause="Q.921 5.6.3.2"),
    Row(S7, Ev.PARTIAL_ACK, None, None, start=("T200",), clause="Q.921 5.6.3.2 (T200 restarted)"),
    Row(S7, Kind.I, None, L.i_frame, clause="Q.921 5.6.2"),
    *[Row(S7, k, None, L.supervisory, clause="Q.921 5.6.3-5.6.6") for k in _SUP],
    Row(S7, Ev.T200, S8, L.enquiry, start=("T200",), clause="Q.921 5.6.7"),
    Row(S7, Ev.T203, S8, L.enquiry, start=("T200",), clause="Q.921 5.6.8"),
    Row(S7, Ev.DL_RELEASE_REQUEST, S6, L.send_disc, clause="Q.921 5.5.3.1"),
    # state 8: timer recovery (5.6.7)
    Row(S8, Kind.I, None, L.i_frame, clause="Q.921 5.6.7 (I frames accepted, N(R) noted)"),
    *[Row(S8, k, S7, L.recovered, guard=_g(L.final_f), clause="Q.921 5.6.7 (response with F=1)") for k in _SUP],
    *[Row(S8, k, None, L.recovery_supervisory, clause="Q.921 5.6.7") for k in _SUP],
    Row(S8, Ev.T200, None, L.enquiry_again, guard=L.retries_left, start=("T200",), clause="Q.921 5.6.7"),
    Row(S8, Ev.T200, S5, L.reestablish, clause="Q.921 5.6.7 (N200 reached: error I), 5.7"),
    Row(S8, Ev.DL_RELEASE_REQUEST, S6, L.send_disc, clause="Q.921 5.5.3.1"),
    Row(S8, Ev.I_SENT, None, None),
    # states 7 and 8 alike
    *[r for s in (S7, S8) for r in (
        Row(s, Kind.SABME, S7, L.reset_by_peer, clause="Q.921 5.5.3.2 / 5.7.1"),
        Row(s, Kind.DISC, S4, L.released_by_peer, stop=("T200",), clause="Q.921 5.5.3.1"),
        Row(s, Kind.DM, S5, L.reestablish, guard=lambda c, m: not m.pf, clause="Q.921 5.7.2 (error E)"),
        Row(s, Kind.FRMR, S5, L.reestablish, clause="Q.921 5.8.6 (FRMR received: error K)"),
        Row(s, Ev.INVALID, S5, L.reestablish, clause="Q.921 5.8.5 (errors L, M, N, O), 5.7"),
        Row(s, Ev.ACKED, None, None),
        Row(s, Ev.PARTIAL_ACK, None, None),
    )],
    Row(S7, Ev.DL_ESTABLISH_REQUEST, None, None),
    Row(S8, Ev.DL_ESTABLISH_REQUEST, None, None),
    # anything else is discarded, with its management error noted (Annex B)
    *[Row(ANY, k, None, L.mdl_error, clause="Q.921 Annex B (discard)") for k in Kind],
    Row(ANY, Ev.INVALID, None, L.nothing, clause="Q.921 5.8.5 (discarded when not established)"),
    Row(ANY, Ev.DL_ESTABLISH_REQUEST, None, None),
    Row(ANY, Ev.DL_RELEASE_REQUEST, S4, L.release_done, stop=("T200",), clause="Q.921 5.5.3.1"),
    Row(ANY, Ev.T203, None, None),
    Row(S4, Ev.LINE_FAULT, None, None, start=("T_REEST",), clause="Q.921 5.5.1.1 (asked again when the line returns)"),
    Row(ANY, Ev.LINE_FAULT, S4, L.line_lost, start=("T_REEST",), stop=("T200", "T203"),
        clause="Q.921 5.7 / Q.931 5.8.8 (link lost)"),
    Row(ANY, Ev.I_SENT, None, None),
]

# a frame whose P/F bit no guarded row of its state accepts is discarded (Annex B), not an error
_guarded_only = {(r.state, r.event) for r in _rows if r.guard is not None and isinstance(r.event, Kind)} - {
    (r.state, r.event) for r in _rows if r.guard is None}
_rows += [Row(s, e, None, L.mdl_error, clause="Q.921 Annex B (discard)")
          for s, e in sorted(_guarded_only, key=lambda se: (se[0].value, se[1].value))]

LINK_TABLE = Table(
    "Q.921 data link (Annex B, fixed TEI)", S4, tuple(_rows), timers={**Q921_TIMERS},
    entry={S4: ("T_REEST",), S5: ("T200",), S6: ("T200",), S7: ("T203",), S8: ("T200",)},
    expiry={"T200": Ev.T200, "T203": Ev.T203, "T_REEST": Ev.T_REEST},
)


def _plain(state: LinkState, event: Kind, action: Any) -> bool:
    """The table's row for ``event`` in ``state`` is ``action`` alone: the first row of the
    state for the event, with no guard, no next state, no timers and no follow-on event, so
    that calling the action is all the engine would do (the receive path's shortcut)."""
    for r in LINK_TABLE.rows:
        if r.state is state and r.event is event:
            return (r.guard is None and r.next is None and r.action is action and not r.start and not r.stop
                    and r.then is None)
    return False


#: I, RR, RNR and REJ in state 7 go to their actions without the engine (see the docstring)
_FAST: bool = _plain(S7, Kind.I, L.i_frame) and all(_plain(S7, k, L.supervisory) for k in _SUP)


#: the engine's compiled form of the table (the module of the live Machine class, compiled or twin)
_K: Any = importlib.import_module(_Machine.__module__).compiled(LINK_TABLE)


def _timer_row(event: Ev, guard: Any) -> Any:
    """The compiled row the engine applies for ``event`` in state 7 when ``guard`` (None: the
    first row) accepts: checked to be a timers-only row (no action, no next state, no
    follow-on), the alternative of a guarded one doing nothing at all; None otherwise."""
    k = _K
    row = k.cells[k.state_ix[S7] * k.nev + k.event_ix[event]]
    if row is None or row.guard is not guard or row.action is not None or row.nxt >= 0 or row.then is not None:
        return None
    if guard is not None:
        alt = row.alt
        if (alt is None or alt.guard is not None or alt.action is not None or alt.nxt >= 0 or alt.then is not None
                or alt.start_ix or alt.stop_ix):
            return None
    return row


#: I_SENT, ACKED and PARTIAL_ACK in state 7 are applied as their rows (the engine's _apply: its
#: timers, its trace) without the look-up and without calling the guard ``t200_idle`` from the
#: engine: the link reads T200's slot itself. Verified from the table here, as _FAST is.
_R_SENT = _timer_row(Ev.I_SENT, L.t200_idle)
_R_ACKED = _timer_row(Ev.ACKED, None)
_R_PARTIAL = _timer_row(Ev.PARTIAL_ACK, None)
_T200: int = _K.tix["T200"]
#: (the twin run on the compiled engine cannot reach its C-level ``_apply``: it fires the events)
_ROWS: bool = (_R_SENT is not None and _R_ACKED is not None and _R_PARTIAL is not None
               and (cython.compiled or hasattr(_Machine, "_apply")))

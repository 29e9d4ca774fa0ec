# cython: annotation_typing=False
"""One PRI D channel: the Q.921 data link and Q.931 layer 3 wired together, sans-IO, in
the shape every stack of the project has (cti/signaling/stack.py): ``receive(frame, now)``,
``events()``, ``data_to_send(now)``, ``timer_deadline()``, ``handle_timer(now)``; plus
``su_error(now)`` and ``line_fault(now, reason)``, so the SS7 transports (an HDLC channel of
a board, a SOCK_SEQPACKET socket as libpri uses) carry it unchanged.

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``stack_c.pxd`` as ``stack_c`` (:mod:`.stack` picks the live
one), so that the glue a frame crosses between the data link and layer 3 is C, not Python:
the link and layer 3 are typed as their compiled classes, their per-frame methods C calls.
"""
from __future__ import annotations

from typing import Any

from _boardcore import _select

from .link import LapdLink
from .q931 import E1_B_CHANNELS, Q931
from .states import InterfaceEvent

try:
    import cython
    _COMPILED = bool(cython.compiled)
except ImportError:      # no Cython: this module runs as the twin
    _COMPILED = False
#: the data link's class: this build types it as the compiled link (``link_c``), so it takes
#: that one even where the twins are forced on (as :mod:`.q931_py` takes the compiled engine)
_Link: Any = LapdLink
if _COMPILED:
    _link_c = _select.compiled("cti.signaling.pri.link")
    if _link_c is not None:
        _Link = _link_c.LapdLink


class PriStack:
    """``network``: our side. Keyword arguments go to :class:`Q931`; ``q921`` overrides
    T200/T203/N200/N201/k."""

    def __init__(self, network: bool = False, channels: tuple[int, ...] = E1_B_CHANNELS, *,
                 q921: dict[str, float] | None = None, name: str = "pri", **q931: Any) -> None:
        self.network = network
        self.link: LapdLink = _Link(network, timers=q921, name=f"{name}.q921")
        self.q931 = Q931(network, channels, **q931)
        # DL-DATA-INDICATION straight to layer 3 (a C call in the compiled build; a test or a tap
        # setting link.deliver takes the messages first)
        self.link.upper = self.q931
        self._events: list[Any] = []
        self.started = False

    @property
    def up(self) -> bool:
        return self.link.up

    def start(self, now: float) -> None:
        if not self.started:
            self.started = True
            self.link.start(now)

    def receive(self, data: bytes, now: float) -> None:
        self.link.receive(data, now)
        self._pump(now)

    def su_error(self, now: float) -> None:
        self.link.su_error(now)

    def line_fault(self, now: float, reason: str) -> None:
        self.link.line_fault(now, reason)
        self._pump(now)

    def data_to_send(self, now: float) -> list[bytes]:
        if not self.started:
            self.start(now)
        self._pump(now)
        return self.link.data_to_send(now)

    def events(self) -> list[Any]:
        out = self._events + self.q931.events()
        self._events = []
        return out

    def timer_deadline(self) -> float | None:
        a, b = self.link.timer_deadline(), self.q931.timer_deadline()
        return a if b is None else b if a is None or b < a else a

    def handle_timer(self, now: float) -> None:
        self.link.handle_timer(now)
        self._pump(now)
        self.q931.handle_timer(now)
        self._pump(now)

    def _pump(self, now: float) -> int:
        """Link events to layer 3 (DL-ESTABLISH/RELEASE/DATA-INDICATION), layer 3 output to
        the link (DL-DATA-REQUEST)."""
        link = self.link
        if link._events:
            self._link_events(now)
        q = self.q931
        if q._out:
            for m in q.data_to_send(now):
                link.send(m, now)
        return 0

    def _link_events(self, now: float) -> int:
        for e in self.link.events():
            if e.kind == "data":
                self.q931.receive(e.data, now)
            elif e.kind == "established":
                self._events.append(InterfaceEvent("link_up", now, reason=e.reason))
                self.q931.link_established(now)
            elif e.kind == "released":
                self._events.append(InterfaceEvent("link_down", now, reason=e.reason))
                self.q931.link_failed(now)
            else:
                self._events.append(InterfaceEvent("link_error", now, reason=e.reason))
        return 0

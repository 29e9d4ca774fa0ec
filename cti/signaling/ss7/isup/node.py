"""ISUP signalling for the circuits to one adjacent exchange (Q.764), sans-IO.

:meth:`IsupNode.receive` takes the user part octets of an MTP-TRANSFER indication;
:meth:`data_to_send` gives ``(cic, octets)`` to send (SLS = CIC's low bits); :meth:`events`
gives :class:`IsupEvent`. Call control is the table of :mod:`.control_py` (compiled from the
same source as ``control_c`` when built); circuit supervision (blocking, reset, group
messages, Q.764 2.8/2.9) is :mod:`.supervision`; this module adds the node's requests,
readiness, and malformed input (Q.764 2.9.5: CFN for an unknown message, discard for a
format error but RLC for a REL whose cause cannot be read, UCIC for an unequipped CIC).
"""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from _boardcore import _select
from cti.signaling.causes import Cause
from cti.signaling.errors import DecodeError

from .call import BCI_ACM, BCI_CON, IAM_DEFAULTS, TMR, IsupEvent, Req
from .codec import IsupMessage, MessageType, UnknownMessage, peek_header
from .params import CauseInd
from .supervision import Supervision
from .timers import ISUP_TIMERS

__all__ = ["IsupNode", "IsupEvent", "IAM_DEFAULTS", "BCI_ACM", "BCI_CON", "IMPLEMENTATION", "node_class",
           "GLARE_REASON"]

_control = _select.load("cti.signaling.ss7.isup.control")
GLARE_REASON: str = _control.GLARE_REASON
#: "compiled" or "python": which call control runs the per-message path.
IMPLEMENTATION = "compiled" if _control.__name__.endswith("_c") else "python"
M = MessageType
Circuit = Any    # control_py.Circuit or its compiled build: the same attributes


if TYPE_CHECKING:     # the type checker reads the twin's CallControl (the compiled one is the same)
    from .control_py import CallControl as _CallControl

    class _Base(Supervision, _CallControl):
        pass
else:
    _CallControl = _control.CallControl
    _Base = Supervision


class _NodeMixin(_Base):
    """What :class:`IsupNode` adds to ``CallControl``: requests, readiness and rare paths."""

    def __init__(self, cics: list[int], opc: int, dpc: int, *, timers: dict[str, float] | None = None,
                 name: str = "isup", transmission_medium: str | int = "speech", trace: int = 0) -> None:
        if len(set(cics)) != len(cics) or not all(0 <= c <= 0xFFF for c in cics):
            raise ValueError("CICs must be distinct, 0..4095")
        super().__init__(list(cics), opc, dpc, {k: v for k, v in (timers or {}).items() if k in ISUP_TIMERS}, name,
                         trace)
        self._groups: dict[tuple[str, int], int] = {}
        tmr = TMR.get(transmission_medium) if isinstance(transmission_medium, str) else transmission_medium
        if tmr is None or not 0 <= tmr <= 0xFF:
            raise ValueError(f"transmission_medium {transmission_medium!r}: one of {', '.join(TMR)} or 0..255")
        self.iam_defaults["transmission_medium_requirement"] = tmr

    # ---- readiness ----------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Some circuit can take a call now (idle, available, no reset outstanding)."""
        return any(c.ready for c in self.circuits.values())

    def pending_reset(self) -> list[int]:
        """CICs whose start-up (group) reset is not acknowledged yet: not ready for calls."""
        return [k for k, c in self.circuits.items() if c.reset_pending]

    def _why_none(self) -> str:
        pending = sum(1 for c in self.circuits.values() if c.reset_pending and c.available)
        if pending:
            return (f"no circuit available: {pending} circuit(s) waiting for the circuit group reset "
                    f"acknowledgement (GRA); wait for readiness")
        return "no circuit available"

    # ---- user requests ------------------------------------------------------------------
    def reset(self, cic: int, now: float) -> None:
        """Circuit reset (Q.764 2.9.3.1): RSC, T16."""
        self._request(self._circuit(cic), Req.RESET, now)

    # ---- rare paths of the per-message code ------------------------------------------------
    def _malformed(self, e: DecodeError, data: bytes, now: float) -> None:
        if isinstance(e, UnknownMessage):   # Q.764 2.9.5.1: CFN, cause 97, diagnostic = message type
            c = self.circuits.get(e.cic)
            if c is not None:
                c.send(M.CFN, {"cause_indicators": CauseInd(Cause.MESSAGE_TYPE_NONEXISTENT,
                                                             diagnostic=bytes((e.mtype,)))})
                self._counters["cfn_sent"] += 1
            else:
                self._counters["discarded"] += 1
            return
        try:
            cic, mtype = peek_header(data)
        except DecodeError:
            cic, mtype = -1, -1
        c = self.circuits.get(cic)
        if mtype == M.REL and c is not None:
            # Q.764 2.9.5: a REL whose cause cannot be read (zero length...) still releases: RLC,
            # or the far end's circuit is never freed
            self._counters["discarded"] += 1
            self._events.append(IsupEvent("unexpected", cic, now, reason=f"REL with a format error ({e}): RLC sent"))
            if not c.fsm.fire_if(M.REL, None, now):
                c.send(M.RLC, {})
            return
        self._counters["discarded"] += 1     # format error (2.9.5.3 / 2.10.5): discard

    def _unequipped(self, msg: IsupMessage, now: float) -> None:
        """Q.764 2.12: a message for a CIC we do not have."""
        if msg.type not in (M.UCIC, M.CFN):
            self._out.append((msg.cic, _encode(M.UCIC, msg.cic, {})))
            self._counters["tx"] += 1
            self._counters["ucic_sent"] += 1


_encode = _select.load("cti.signaling.ss7.isup.codec").encode_message


class IsupNode(_NodeMixin, _CallControl):
    """ISUP for ``cics`` between our point code ``opc`` and the adjacent ``dpc``."""


_CLASSES: dict[str, type] = {_control.__name__: IsupNode}


def node_class(control: ModuleType) -> type:
    """:class:`IsupNode` over the call control of ``control`` (``control_c`` or ``control_py``,
    e.g. from :func:`_boardcore._select.twin`): tests and benchmarks compare the two."""
    cls = _CLASSES.get(control.__name__)
    if cls is None:
        cls = _CLASSES[control.__name__] = type("IsupNode", (_NodeMixin, control.CallControl),
                                                {"__module__": __name__, "__doc__": IsupNode.__doc__})
    return cls


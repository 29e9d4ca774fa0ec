"""Readiness: tell the bus when every span can carry calls; refuse calls placed before then.

A server starts with its signalling links down: an SS7 link must align (MTP2 proving) and
its circuits be reset (GRS/GRA), a PRI D channel must come up (Q.921 SABME/UA), a No.1
circuit must be idle with its far end seen. A call placed meanwhile used to fail deep in a
stack (or wait there); a CI job or a dialler had to sleep and hope. This component:

* checks every trunk adapter each block until all are usable (see :func:`adapter_ready`);
* then publishes :class:`cti.call.events.ServerReady` once (topic ``server.ready``: the
  spans, and the model seconds waited);
* until then refuses ``MakeCall`` with ``ResourceBusyError`` whose message says *not ready*
  and which spans are waited for: the call is refused at once, never queued and lost;
* adds a ``readiness`` snapshot section (``ready``, and per span its signalling and state)
  so a client that connects after the event still knows;
* with ``timeout`` (model seconds) gives up: :attr:`failed` says which spans never came up
  and the server is stopped, so ``cti-server`` exits non-zero.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Mapping

from cti.call.errors import ResourceBusyError
from cti.call.events import ServerReady
from cti.plugin import Component, Handler, Host, Link, Section

#: model seconds between two checks while waiting
CHECK_EVERY = 0.05


def adapter_ready(adapter: Any) -> bool:
    """Whether a trunk adapter can take a call now: SS7 ``ready`` (link in service and the
    start-up reset acknowledged), PRI ``up`` (D channel multiple-frame established), No.1 some
    circuit idle, anything else (loopback trunks) at once."""
    if hasattr(adapter, "ready"):
        return bool(adapter.ready)
    if hasattr(adapter, "up"):
        return bool(adapter.up)
    if hasattr(adapter, "idle_circuits"):
        return bool(adapter.idle_circuits())
    return True


def _what(adapter: Any) -> str:
    sig = getattr(adapter, "signalling", "") or type(adapter).__name__
    why = {"ss7": "link not aligned or circuit reset pending", "pri": "D channel not up",
           "no1": "no idle circuit"}.get(sig, "not usable")
    return f"{sig}: {why}"


class Readiness(Component):
    """See the module docstring; ``timeout`` None waits for ever."""

    name = "readiness"

    def __init__(self, node: str = "cti", timeout: float | None = None) -> None:
        self.node = node
        self.timeout = timeout
        self.ready = False
        self.failed: str | None = None     #: why start-up failed (``timeout`` passed)
        self.waited: float | None = None   #: model seconds from start to ready
        self._host: Host | None = None
        self._t0 = 0.0
        self._next = 0.0

    # ---- state ---------------------------------------------------------------------
    def spans(self) -> list[dict[str, Any]]:
        """Per span: its number, signalling and whether it is ready."""
        if self._host is None:
            return []
        rows = []
        for a in self._host.model.adapters:
            ok = adapter_ready(a)
            for span in sorted({c[0] for c in a.circuits()}):
                rows.append({"span": span, "signalling": getattr(a, "signalling", ""), "ready": ok})
        return sorted(rows, key=lambda r: r["span"])

    def waiting_for(self) -> str:
        """The spans not ready yet, in words."""
        if self._host is None:
            return "the server has not started"
        out = []
        for a in self._host.model.adapters:
            if not adapter_ready(a):
                spans = sorted({c[0] for c in a.circuits()})
                out.append(f"span {', '.join(map(str, spans))} ({_what(a)})")
        return "; ".join(out)

    def _check(self, now: float) -> None:
        if self.ready or self.failed or self._host is None:
            return
        if all(adapter_ready(a) for a in self._host.model.adapters):
            self.ready = True
            self.waited = round(now - self._t0, 3)
            self._host.publish(ServerReady(node=self.node, spans=[r["span"] for r in self.spans()],
                                           waited=self.waited))
        elif self.timeout is not None and now - self._t0 >= self.timeout:
            self.failed = f"not ready after {self.timeout:g} s: {self.waiting_for()}"
            stop = getattr(self._host, "stop", None)
            if stop is not None:
                stop()

    # ---- Component -----------------------------------------------------------------
    def start(self, host: Host) -> None:
        self._host = host
        self._t0 = self._next = host.now()
        self._check(self._t0)

    def deadline(self) -> float | None:
        return None if self.ready or self.failed else self._next

    def service(self, now: float) -> None:
        self._next = now + CHECK_EVERY
        self._check(now)

    def requests(self) -> Mapping[str, Link]:
        return {"MakeCall": self._make_call}

    def sections(self) -> Mapping[str, Section]:
        return {"readiness": lambda account, book: [{"ready": self.ready, "node": self.node,
                                                     "waited": self.waited, "spans": self.spans()}]}

    def _make_call(self, account: Any, request: Any, t: float, nxt: Handler) -> dict[str, Any]:
        if not self.ready:
            raise ResourceBusyError(f"server not ready: waiting for {self.waiting_for() or 'start-up'}; "
                                    f"the ServerReady event (topic server.ready) says when calls are carried",
                                    reason="not ready")
        return nxt(account, request, t)


__all__ = ["CHECK_EVERY", "Readiness", "adapter_ready"]

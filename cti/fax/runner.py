"""Fax calls on board timeslots: T.30 sessions fed from the caller's timeslot every 20 ms.

:class:`FaxRunner` is a component with no knowledge of the server: it is handed a
``write(circuit, alaw)`` callable (the board's timeslot writer), fed what each timeslot
received (:meth:`audio`, from a tap on the span), and ticked once per board block. A
session whose timeslot delivered nothing this block (a dropped block) is fed silence, so
the engine's timers keep to real time. When a fax channel is wanted and the ``fax`` pool
is full the request fails with :class:`FaxBusy` (the caller's treatment is the caller's
choice: a prompt, voicemail or a later retry).

    runner = FaxRunner(write, pools=pools, inbox=inbox)
    runner.send("c1", (0, 5), "doc.tif", now)             # fax-on-demand / SendFax
    runner.receive("c2", (0, 6), now, caller="6543210")   # a fax call answered
    runner.audio((0, 5), block, now)                      # every received block
    events = runner.tick(now)                             # FaxStarted / FaxPage / FaxCompleted / FaxReceived
    runner.hangup("c1", now)                              # the call cleared

A received fax is stored in the inbox (a row in the message store and the TIFF under
``<inbox>/<UTC date>/``) before :class:`FaxReceived` is returned.
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from cti.ivr.resources import ResourceExhausted, ResourcePools
from cti.voicemail.messages import MessageStore

from . import document
from .session import BLOCK, FaxCompleted, FaxEvent, FaxOptions, FaxSession

Circuit = tuple[int, int]
Writer = Callable[[Circuit, bytes], None]
SILENCE = b"\xd5" * BLOCK


class FaxBusy(RuntimeError):
    """No fax channel free (the ``fax`` pool is full) or the circuit already carries a fax."""

    def __init__(self, message: str, event: ResourceExhausted | None = None) -> None:
        super().__init__(message)
        self.event = event


@dataclass(frozen=True)
class FaxReceived:
    """A received fax is in the inbox (message ``id``)."""

    id: int
    call: str
    caller: str
    box: str
    pages: int
    path: str
    remote_ident: str
    result: int
    ok: bool

    @property
    def type(self) -> str:
        return "FaxReceived"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.__dict__}


@dataclass
class _Job:
    call: str
    circuit: Circuit
    session: FaxSession
    caller: str = ""
    box: str = ""
    fed: bool = False


@dataclass
class FaxInbox:
    """Where received faxes go: TIFFs under ``directory``, rows in ``store``."""

    directory: Path
    store: MessageStore

    def new_path(self, call: str, now_wall: float | None = None) -> Path:
        day = _time.strftime("%Y-%m-%d", _time.gmtime(_time.time() if now_wall is None else now_wall))
        d = self.directory / day
        d.mkdir(parents=True, exist_ok=True)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in call) or "fax"
        return d / f"{safe}.tif"

    def keep(self, job: _Job, done: FaxCompleted) -> FaxReceived:
        meta = {"pages": done.pages, "bit_rate": done.bit_rate, "ecm": done.ecm, "result": done.result,
                "reason": done.reason, "remote_ident": done.remote_ident, "seconds": done.seconds}
        m = self.store.add("fax", call=job.call, caller=job.caller, box=job.box, path=done.path, meta=meta)
        return FaxReceived(m.id, job.call, job.caller, job.box, done.pages, done.path, done.remote_ident,
                           done.result, done.ok)


@dataclass
class FaxRunner:
    """Fax sessions by call (see the module docstring)."""

    write: Writer
    pools: ResourcePools | None = None
    inbox: FaxInbox | None = None
    options: FaxOptions = field(default_factory=FaxOptions)
    jobs: dict[str, _Job] = field(default_factory=dict)
    _by_circuit: dict[Circuit, str] = field(default_factory=dict)
    _out: list[Any] = field(default_factory=list)

    # ---- starting -------------------------------------------------------------------------------
    def send(self, call: str, circuit: Circuit, path: str | Path, now: float, *, calling: bool = True,
             options: FaxOptions | None = None) -> FaxSession:
        """Send the TIFF at ``path`` on ``circuit`` (checked first: FaxDocumentError if it cannot go)."""
        document.check(path)
        self._take(call, circuit)
        try:
            s = FaxSession.send(path, call=call, calling=calling, options=options or self.options)
        except Exception:
            self._give_back(call, circuit)
            raise
        self._add(_Job(call, circuit, s))
        return s

    def receive(self, call: str, circuit: Circuit, now: float, *, calling: bool = False, caller: str = "",
                box: str = "", path: str | Path | None = None, options: FaxOptions | None = None) -> FaxSession:
        """Receive a fax on ``circuit`` into the inbox (or ``path``)."""
        if path is None:
            if self.inbox is None:
                raise ValueError("no fax inbox configured and no path given")
            path = self.inbox.new_path(call)
        self._take(call, circuit)
        try:
            s = FaxSession.receive(path, call=call, calling=calling, options=options or self.options)
        except Exception:
            self._give_back(call, circuit)
            raise
        self._add(_Job(call, circuit, s, caller, box))
        return s

    def busy(self, circuit: Circuit) -> bool:
        return circuit in self._by_circuit

    # ---- the data path ----------------------------------------------------------------------------
    def audio(self, circuit: Circuit, alaw: bytes, now: float) -> None:
        """A block the far end sent on ``circuit``: run its session and write the answer."""
        call = self._by_circuit.get(circuit)
        if call is None:
            return
        job = self.jobs[call]
        job.fed = True
        self.write(circuit, job.session.process(alaw, now))
        self._collect(job, now)

    def tick(self, now: float) -> list[Any]:
        """End of a block: feed silence to sessions that received nothing; the events so far."""
        for job in list(self.jobs.values()):
            if not job.fed:
                self.write(job.circuit, job.session.process(SILENCE, now))
                self._collect(job, now)
            job.fed = False
        out, self._out = self._out, []
        return out

    def hangup(self, call: str, now: float) -> list[Any]:
        """The call cleared: its session ends (T30_ERR_CALLDROPPED unless phase E came first)."""
        job = self.jobs.get(call)
        if job is not None:
            job.session.hangup(now)
            self._collect(job, now)
        out, self._out = self._out, []
        return out

    def usage(self) -> dict[str, int]:
        return {"active": len(self.jobs)}

    # ---- internals -----------------------------------------------------------------------------------
    def _take(self, call: str, circuit: Circuit) -> None:
        if circuit in self._by_circuit or call in self.jobs:
            raise FaxBusy(f"circuit {circuit[0]}/{circuit[1]} (call {call}) already carries a fax")
        if self.pools is not None and not self.pools.acquire("fax", call):
            size = self.pools.pools["fax"].size
            ev = ResourceExhausted("fax", call, size, "refused")     # the caller publishes it
            raise FaxBusy(f"no fax channel free (all {size} in use)", ev)

    def _give_back(self, call: str, circuit: Circuit) -> None:
        if self.pools is not None:
            self.pools.release("fax", call)
        self._by_circuit.pop(circuit, None)

    def _add(self, job: _Job) -> None:
        self.jobs[job.call] = job
        self._by_circuit[job.circuit] = job.call

    def _collect(self, job: _Job, now: float) -> None:
        evs: list[FaxEvent] = job.session.poll()
        self._out.extend(evs)
        done = job.session.completed
        if done is None or not job.session.done or job.call not in self.jobs:
            return
        del self.jobs[job.call]
        self._give_back(job.call, job.circuit)
        if job.session.direction == "receive" and self.inbox is not None and done.pages > 0:
            self._out.append(self.inbox.keep(job, done))

"""Voicemail on timeslots: callers recording messages, the messages kept, played and handled.

:class:`VoicemailService` is a component with no knowledge of the server (like
:class:`cti.fax.runner.FaxRunner`): it writes through ``write(circuit, alaw)``, is fed
what the caller sends (:meth:`audio`) and the caller's digits (:meth:`digit`), and is
ticked every block. Each message takes a ``voice`` pool unit while it records.

    vm = VoicemailService(write, store, directory, prompts=prompt_set, pools=pools)
    vm.leave("c1", (0, 5), box="sales", caller="13800138000", now=now)   # greeting, beep, record
    events = vm.tick(now)        # VoicemailLeft (stored) / VoicemailFailed (nothing kept, why)
    vm.play(msg_id, (2, 1))      # a message to an agent's station
    vm.waiting()                 # {"sales": 2}: unhandled messages per box (message waiting)

A message is a WAV under ``<directory>/<UTC date>/<call>.wav`` and a row in the message
store (:mod:`cti.voicemail.messages`) before ``VoicemailLeft`` is returned. When the
recording cannot be written (disk full) the caller hears the ``busy`` prompt and the
result says why; the call itself is the caller's to end (``Hangup`` in the event list).
"""
from __future__ import annotations

import time as _time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from cti.ivr.resources import ResourceExhausted, ResourcePools

from .messages import Message, MessageStore
from .recorder import MessageRecording, MessageResult, MessageSpec

Circuit = tuple[int, int]
Writer = Callable[[Circuit, bytes], None]


class VoicemailError(RuntimeError):
    """No voice resource free, or the call already records a message."""

    def __init__(self, message: str, event: ResourceExhausted | None = None) -> None:
        super().__init__(message)
        self.event = event


@dataclass(frozen=True)
class VoicemailLeft:
    id: int
    call: str
    box: str
    caller: str
    seconds: float
    reason: str
    path: str

    @property
    def type(self) -> str:
        return "VoicemailLeft"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class VoicemailFailed:
    call: str
    box: str
    reason: str               #: too-short / error
    error: str

    @property
    def type(self) -> str:
        return "VoicemailFailed"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class HangupAfter:
    """The service is done with ``call`` (message kept or failed, the closing prompt played)."""

    call: str
    reason: str


@dataclass
class _Leg:
    call: str
    circuit: Circuit
    box: str
    caller: str
    rec: MessageRecording
    outro: bytearray = field(default_factory=bytearray)
    fed: bool = False
    result: MessageResult | None = None


@dataclass
class _Playback:
    circuit: Circuit
    audio: bytearray


class VoicemailService:
    """See the module docstring."""

    def __init__(self, write: Writer, store: MessageStore, directory: str | Path, *, prompts: Any = None,
                 pools: ResourcePools | None = None, spec: MessageSpec | None = None) -> None:
        self.write = write
        self.store = store
        self.directory = Path(directory)
        self.prompts = prompts          #: a cti.prompts.PromptSet (greeting, beep, saved, busy), or None
        self.pools = pools
        self.spec = spec or MessageSpec()
        self.legs: dict[str, _Leg] = {}
        self.playbacks: dict[Circuit, _Playback] = {}
        self._by_circuit: dict[Circuit, str] = {}
        self._out: list[Any] = []

    def _prompt(self, name: str) -> bytes:
        if self.prompts is None:
            return b""
        return bytes(self.prompts.compose([name], strict=False))

    # ---- recording ------------------------------------------------------------------------------------
    def leave(self, call: str, circuit: Circuit, *, box: str = "", caller: str = "", now: float = 0.0,
              greeting: bytes | None = None) -> None:
        """Start ``call``'s message: greeting (the prompt set's, or ``greeting``), beep, record."""
        if call in self.legs or circuit in self._by_circuit:
            raise VoicemailError(f"call {call} already records a message")
        if self.pools is not None and not self.pools.acquire("voice", call):
            ev = ResourceExhausted("voice", call, self.pools.pools["voice"].size, "busy prompt")   # in the error
            busy = self._prompt("busy")
            if busy:
                self.playbacks[circuit] = _Playback(circuit, bytearray(busy))
            raise VoicemailError(f"no voice resource free (all {ev.size} in use)", ev)
        day = _time.strftime("%Y-%m-%d", _time.gmtime())
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in call) or "message"
        path = self.directory / day / f"{safe}.wav"
        rec = MessageRecording(path, self.spec, greeting=self._prompt("voicemail_greeting") if greeting is None
                               else greeting, beep=self._prompt("beep") or _fallback_beep())
        self.legs[call] = _Leg(call, circuit, box, caller, rec)
        self._by_circuit[circuit] = call

    def audio(self, circuit: Circuit, alaw: bytes, now: float) -> None:
        call = self._by_circuit.get(circuit)
        if call is not None:
            self.legs[call].rec.audio(alaw, now)

    def digit(self, call: str, d: str, now: float) -> None:
        leg = self.legs.get(call)
        if leg is not None:
            leg.rec.digit(d, now)

    def hangup(self, call: str, now: float) -> list[Any]:
        """The caller cleared: keep what was said (or not, if too short)."""
        leg = self.legs.get(call)
        if leg is not None:
            if not leg.rec.done:
                leg.rec.hangup(now)
            leg.outro.clear()
            self._finish(leg, hung_up=True)
        out, self._out = self._out, []
        return out

    def tick(self, now: float) -> list[Any]:
        for leg in list(self.legs.values()):
            if leg.result is None:
                block = leg.rec.play(now)
                if block is not None:
                    self.write(leg.circuit, block)
                if leg.rec.done:
                    self._finish(leg, hung_up=False)
            elif leg.outro:
                self.write(leg.circuit, bytes(leg.outro[:160]).ljust(160, b"\xd5"))
                del leg.outro[:160]
                if not leg.outro:
                    self._release(leg)
                    self._out.append(HangupAfter(leg.call, leg.result.reason))
        for circ, pb in list(self.playbacks.items()):
            self.write(circ, bytes(pb.audio[:160]).ljust(160, b"\xd5"))
            del pb.audio[:160]
            if not pb.audio:
                del self.playbacks[circ]
        out, self._out = self._out, []
        return out

    def _finish(self, leg: _Leg, *, hung_up: bool) -> None:
        if leg.result is not None:
            if hung_up:
                self._release(leg)
            return
        res = leg.result = leg.rec.result
        assert res is not None
        if res.kept:
            m = self.store.add("voicemail", call=leg.call, caller=leg.caller, box=leg.box, path=res.path,
                               meta={"seconds": res.seconds, "reason": res.reason,
                                     "format": "pcm16" if self.spec.pcm else "alaw"})
            self._out.append(VoicemailLeft(m.id, leg.call, leg.box, leg.caller, res.seconds, res.reason, res.path))
            leg.outro += self._prompt("voicemail_saved")
        else:
            self._out.append(VoicemailFailed(leg.call, leg.box, res.reason, res.error))
            if res.reason == "error":
                leg.outro += self._prompt("busy")
        if hung_up or not leg.outro:
            self._release(leg)
            if not hung_up:
                self._out.append(HangupAfter(leg.call, res.reason))

    def _release(self, leg: _Leg) -> None:
        self.legs.pop(leg.call, None)
        self._by_circuit.pop(leg.circuit, None)
        if self.pools is not None:
            self.pools.release("voice", leg.call)

    # ---- the box ------------------------------------------------------------------------------------------
    def play(self, msg_id: int, circuit: Circuit) -> float:
        """Queue message ``msg_id`` to ``circuit`` (an agent's station); returns its seconds."""
        from cti.media.wavfile import read_alaw

        m = self.store.get(msg_id)
        audio = read_alaw(m.path)
        self.playbacks[circuit] = _Playback(circuit, bytearray(audio))
        return len(audio) / 8000.0

    def mark(self, msg_id: int, status: str = "handled") -> Message:
        return self.store.set_status(msg_id, status)

    def list(self, box: str | None = None, status: str | None = None, limit: int = 100) -> list[Message]:
        return self.store.list("voicemail", box=box, status=status, limit=limit)

    def waiting(self) -> dict[str, int]:
        return self.store.waiting("voicemail")


def _fallback_beep() -> bytes:
    from cti.tts.audio import beep

    return beep()

"""IVR on live calls: one :class:`cti.ivr.session.IvrSession` per caller, prompts streamed on the
caller's timeslot 20 ms per board block, digits from the trunk's DTMF detector (the call
model's ``DigitsDialed`` events), and CRM-driven PlayPrompt / CollectDigits on any call.

Sans-IO towards the centre: :meth:`IvrRunner.tick` and the input methods return
:mod:`cti.ivr.session` actions (DigitsCollected, ToQueue, Hangup) for the centre to carry
out and publish; audio goes out through the ``write(circuit, alaw)`` callable it is given.

Media resources (fax, voicemail, TTS: :class:`cti.contact.resources.MediaResources`) attach with
:meth:`IvrRunner.attach` (an object with the :class:`MediaHooks` methods). Then a menu's
``say`` prompt is rendered by the TTS service (the menu waits for it, never the loop), the
``fax`` / ``voicemail`` targets hand the call over, and audio queued with ``then_hangup``
(the queue's overflow-to-voicemail prompt) hands the caller to the voicemail recorder
instead of releasing it. Without media resources those targets release the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from collections.abc import Callable

from cti.ivr.collect import CollectSpec, CollectState, DigitCollector
from cti.ivr.menu import IvrConfig
from cti.ivr.session import DigitsCollected, Hangup, IvrSession, Play, Say, StopPlay, ToFax, ToQueue, ToVoicemail

BLOCK = 160                    #: octets per 20 ms block at 8 kHz
Writer = Callable[[tuple[int, int], bytes], None]


class MediaHooks(Protocol):
    """What the IVR asks of the media resources (see the module docstring)."""

    def say(self, text: str, voice: str | None) -> Any:
        """A TTS job (``.done``, ``.ok``, ``.audio``, ``.error``)."""
        ...

    def ivr_handoff(self, call: str, circuit: tuple[int, int], action: ToFax | ToVoicemail, now: float) -> list[Any]:
        """Take the call over for a fax or a message; actions (Hangup) if it cannot."""
        ...

    def after_prompt(self, call: str, circuit: tuple[int, int], now: float) -> bool:
        """The prompt queued with ``then_hangup`` has played: take the caller over (True) or not."""
        ...

    def ivr_port(self, call: str, take: bool) -> bool:
        """Take (``take``) or give back a voice channel for ``call``'s menu; False: none free."""
        ...

    def busy_audio(self) -> bytes:
        """What a caller hears when no voice channel is free (then the call is released)."""
        ...


@dataclass(frozen=True)
class Connect:
    """The announcement played before the caller meets the agent (the agent's work number) has
    ended: bridge the caller to ``device`` now (an action :meth:`IvrRunner.tick` returns)."""

    device: str | None


@dataclass
class _Leg:
    """What the IVR does on one call: a menu session or a CRM collector, and the prompt playing."""

    call: str
    circuit: tuple[int, int]
    session: IvrSession | None = None
    collector: DigitCollector | None = None
    playing: bytearray = field(default_factory=bytearray)
    hangup_after: bool = False  #: release the caller when the audio queued now has played (voicemail)
    sent: bytes = b""          #: the block written last (the recorder's "sent" side)
    tts: Any = None            #: a TTS job whose audio is this menu's prompt
    port: bool = False         #: holds a voice channel of the media resources' pool
    then: Connect | None = None  #: returned once the audio queued with it has played


class IvrRunner:
    """IVR legs by call id (see the module docstring)."""

    def __init__(self, config: IvrConfig | None, write: Writer) -> None:
        self.config = config
        self.write = write
        self.legs: dict[str, _Leg] = {}
        self.media: MediaHooks | None = None
        self.wallclock: Callable[[], datetime] = datetime.now   #: local time for the opening hours
        self.errors: list[tuple[str, str]] = []   #: (call, message) of prompts that could not be spoken

    def attach(self, media: MediaHooks) -> None:
        """Use ``media`` for ``say`` prompts, fax / voicemail targets and the voicemail overflow."""
        self.media = media

    # ---- starting --------------------------------------------------------------------------
    def start_menu(self, call: str, circuit: tuple[int, int], now: float) -> list[Any]:
        """Walk ``call`` through the configured menus from the start menu."""
        if self.config is None:
            raise ValueError("no IVR menus configured ([contact] ivr)")
        if self.media is not None and not self.media.ivr_port(call, True):    # every voice channel busy
            busy = self.media.busy_audio()
            if not busy:
                return [(call, Hangup("no voice channel free"))]
            self.play_audio(call, circuit, busy, then_hangup=True)
            return []
        leg = self.legs.setdefault(call, _Leg(call, circuit))
        leg.port = self.media is not None
        leg.session = IvrSession(self.config, call)
        return self._do(leg, leg.session.start(now, self.wallclock()), now)

    def play(self, call: str, circuit: tuple[int, int], prompt: str) -> float:
        """PlayPrompt: queue ``prompt`` (a file of the IVR prompt directory); returns its seconds."""
        if self.config is None:
            raise ValueError("no IVR prompt directory configured ([contact] ivr)")
        audio = self.config.audio(prompt)
        leg = self.legs.setdefault(call, _Leg(call, circuit))
        leg.playing += audio
        return len(audio) / 8000.0

    def play_audio(self, call: str, circuit: tuple[int, int], audio: bytes, *, then_hangup: bool = False,
                   then: Connect | None = None) -> float:
        """Queue A-law ``audio`` to the caller (announcements); ``then_hangup``: release after it;
        ``then``: an action :meth:`tick` returns once it has played (or was cut short)."""
        leg = self.legs.setdefault(call, _Leg(call, circuit))
        leg.playing += audio
        leg.hangup_after = leg.hangup_after or then_hangup
        if then is not None:
            leg.then = then
        return len(leg.playing) / 8000.0

    def collect(self, call: str, circuit: tuple[int, int], spec: CollectSpec, now: float) -> None:
        """CollectDigits: one answer on ``call`` (a DigitsCollected action when done)."""
        leg = self.legs.setdefault(call, _Leg(call, circuit))
        if leg.session is not None and not leg.session.finished:
            raise ValueError(f"call {call} is in an IVR menu")
        leg.collector = DigitCollector(spec)
        leg.collector.start(now, prompt=bool(leg.playing))

    def drop(self, call: str) -> None:
        leg = self.legs.pop(call, None)
        if leg is not None:
            self._give_port(leg)

    def _give_port(self, leg: _Leg) -> None:
        if leg.port and self.media is not None:
            leg.port = False
            self.media.ivr_port(leg.call, False)

    # ---- input -----------------------------------------------------------------------------
    def digits(self, call: str, digits: str, now: float) -> list[Any]:
        leg = self.legs.get(call)
        if leg is None:
            return []
        out: list[Any] = []
        for d in digits:
            if d not in "0123456789*#ABCD":
                continue
            if leg.session is not None and not leg.session.finished:
                out += self._do(leg, leg.session.digit(d, now), now)
            elif leg.collector is not None:
                leg.collector.digit(d, now)
                if leg.collector.stop_prompt:
                    leg.collector.stop_prompt = False
                    leg.playing.clear()
                out += self._collected(leg)
        return out

    def tick(self, now: float) -> list[Any]:
        """One 20 ms block: stream prompts, prompt completion, timeouts."""
        out: list[Any] = []
        for leg in list(self.legs.values()):
            if leg.tts is not None and leg.tts.done:
                job, leg.tts = leg.tts, None
                if job.ok:
                    leg.playing += job.audio
                else:                      # the engine failed or hung: the menu goes on without its prompt
                    self.errors.append((leg.call, job.error))
                    if leg.session is not None:
                        out += self._do(leg, leg.session.prompt_done(now), now)
            if leg.playing:
                block = bytes(leg.playing[:BLOCK])
                del leg.playing[:BLOCK]
                leg.sent = block
                self.write(leg.circuit, block)
                if not leg.playing:
                    if leg.hangup_after:
                        leg.hangup_after = False
                        if self.media is not None and self.media.after_prompt(leg.call, leg.circuit, now):
                            self.legs.pop(leg.call, None)
                            continue
                        out.append((leg.call, Hangup("played")))
                    elif leg.session is not None:
                        out += self._do(leg, leg.session.prompt_done(now), now)
                    elif leg.collector is not None:
                        leg.collector.prompt_done(now)
            else:
                leg.sent = b""
            if leg.then is not None and not leg.playing:
                out.append((leg.call, leg.then))
                leg.then = None
            if leg.session is not None and not leg.session.finished:
                out += self._do(leg, leg.session.service(now), now)
            elif leg.collector is not None:
                leg.collector.service(now)
                out += self._collected(leg)
        return out

    # ---- internals ----------------------------------------------------------------------------
    def _collected(self, leg: _Leg) -> list[Any]:
        c = leg.collector
        if c is None or c.state is not CollectState.DONE or c.result is None:
            return []
        leg.collector = None
        return [(leg.call, DigitsCollected("", c.result.digits, c.result.reason))]

    def _do(self, leg: _Leg, actions: list[Any], now: float) -> list[Any]:
        out: list[Any] = []
        for a in actions:
            if isinstance(a, Play):
                leg.playing += a.audio
            elif isinstance(a, Say):
                if self.media is None:
                    self.errors.append((leg.call, "no TTS engine ([media] not configured): say prompt skipped"))
                    if leg.session is not None:
                        out += self._do(leg, leg.session.prompt_done(now), now)
                else:
                    leg.tts = self.media.say(a.text, a.voice)
            elif isinstance(a, (ToFax, ToVoicemail)):
                leg.session = None
                leg.playing.clear()
                leg.tts = None
                self.legs.pop(leg.call, None)
                self._give_port(leg)
                if self.media is None:
                    out.append((leg.call, Hangup("no media resources for " + type(a).__name__)))
                else:
                    out += [(leg.call, x) for x in self.media.ivr_handoff(leg.call, leg.circuit, a, now)]
            elif isinstance(a, StopPlay):
                leg.playing.clear()
                leg.tts = None
                if leg.session is not None:
                    out += self._do(leg, leg.session.prompt_done(now), now)
            else:
                out.append((leg.call, a))
                if isinstance(a, (ToQueue, Hangup)):
                    leg.session = None
                    leg.playing.clear()
                    self._give_port(leg)
        return out

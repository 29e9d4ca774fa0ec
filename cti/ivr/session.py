"""One caller's walk through the IVR menus (sans-IO).

The server feeds digits (from the DTMF detector on the caller's timeslot), prompt completion
and time; the session answers with actions: :class:`Play` (stream this A-law to the caller),
:class:`StopPlay`, :class:`DigitsCollected` (published on the bus), and finally one of
:class:`ToQueue` or :class:`Hangup`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .collect import CollectState, DigitCollector
from .menu import IvrConfig, Menu, Target


@dataclass(frozen=True)
class Play:
    prompt: str
    audio: bytes


@dataclass(frozen=True)
class StopPlay:
    pass


@dataclass(frozen=True)
class DigitsCollected:
    menu: str
    digits: str
    reason: str


@dataclass(frozen=True)
class ToQueue:
    queue: str
    priority: int
    vars: dict[str, str]


@dataclass(frozen=True)
class Hangup:
    reason: str


@dataclass(frozen=True)
class Say:
    """Speak ``text`` (TTS) as the menu's prompt; the runner reports prompt_done when it has played."""

    text: str
    voice: str | None


@dataclass(frozen=True)
class ToFax:
    """Fax-on-demand: send ``document`` on this call (the media resources carry it out)."""

    document: str
    vars: dict[str, str]
    to: str = ""            #: a number to fax to later ("" = this call)


@dataclass(frozen=True)
class ToVoicemail:
    """Record a message for ``box``."""

    box: str
    vars: dict[str, str]


Action = Play | StopPlay | DigitsCollected | ToQueue | Hangup | Say | ToFax | ToVoicemail


@dataclass
class IvrSession:
    config: IvrConfig
    call_id: str
    vars: dict[str, str] = field(default_factory=dict)
    menu: Menu | None = None
    tries: int = 0
    finished: bool = False
    _collector: DigitCollector | None = None

    def start(self, now: float, wall: datetime | None = None) -> list[Action]:
        """Enter the start menu, or go to ``after_hours`` when ``wall`` (local time) is outside
        the opening hours."""
        h = self.config.hours
        if h is not None and wall is not None and not h.is_open(wall):
            return self._go(h.after_hours, now)
        return self._enter(self.config.menus[self.config.start], now)

    def digit(self, d: str, now: float) -> list[Action]:
        if self.finished or self._collector is None:
            return []
        c = self._collector
        c.digit(d, now)
        out: list[Action] = []
        if c.stop_prompt:
            c.stop_prompt = False
            out.append(StopPlay())
        return out + self._maybe_done(now)

    def prompt_done(self, now: float) -> list[Action]:
        if self.finished or self._collector is None:
            return []
        self._collector.prompt_done(now)
        return self._maybe_done(now)

    def service(self, now: float) -> list[Action]:
        if self.finished or self._collector is None:
            return []
        self._collector.service(now)
        return self._maybe_done(now)

    def deadline(self) -> float | None:
        return None if self.finished or self._collector is None else self._collector.deadline

    # -- internals ------------------------------------------------------------------------------
    def _enter(self, menu: Menu, now: float, *, retry: bool = False, invalid: bool = False) -> list[Action]:
        self.menu = menu
        if not retry:
            self.tries = 0
        self._collector = DigitCollector(menu.collect)
        out: list[Action] = []
        if invalid and menu.invalid_prompt:
            out.append(Play(menu.invalid_prompt, self.config.audio(menu.invalid_prompt)))
        if menu.prompt:
            out.append(Play(menu.prompt, self.config.audio(menu.prompt)))
        elif menu.say:
            out.append(Say(menu.say, menu.voice))
        self._collector.start(now, prompt=bool(menu.prompt or menu.say))
        return out

    def _maybe_done(self, now: float) -> list[Action]:
        c, m = self._collector, self.menu
        assert c is not None and m is not None
        if c.state is not CollectState.DONE or c.result is None:
            return []
        res = c.result
        out: list[Action] = [DigitsCollected(m.name, res.digits, res.reason)]
        if m.then is not None:
            if res.digits:
                if m.var:
                    self.vars[m.var] = res.digits
                return out + self._go(m.then, now)
        elif res.digits in m.options:
            return out + self._go(m.options[res.digits], now)
        self.tries += 1
        if self.tries > m.retries:
            return out + self._go(m.on_fail, now)
        return out + self._enter(m, now, retry=True, invalid=bool(res.digits))

    def _go(self, t: Target, now: float) -> list[Action]:
        if t.menu is not None:
            return self._enter(self.config.menus[t.menu], now)
        self.finished = True
        self._collector = None
        if t.queue is not None:
            return [ToQueue(t.queue, t.priority, dict(self.vars))]
        if t.fax is not None:
            return [ToFax(t.fax, dict(self.vars), self.vars.get(t.to, "") if t.to else "")]
        if t.voicemail is not None:
            return [ToVoicemail(t.voicemail, dict(self.vars))]
        return [Hangup("ivr")]

"""IVR menus from a TOML file.

```toml
[ivr]
start = "main"
prompt_dir = "prompts"            # relative to the TOML file

[ivr.menus.main]
prompt = "welcome.wav"
max_digits = 1
timeout = 5.0                     # first digit
inter_digit = 3.0
terminator = "#"
retries = 2                       # invalid or no input: replay this many times
invalid_prompt = "invalid.wav"    # optional
on_fail = { queue = "operator" }  # after the retries
options."1" = { queue = "sales" }
options."2" = { menu = "account" }
options."9" = { hangup = true }

[ivr.menus.account]
prompt = "account.wav"
max_digits = 8
var = "account"                   # the digits are kept under this name and travel with the call
then = { queue = "support", priority = 5 }
```

Opening hours (optional): outside them a caller goes straight to ``after_hours`` (any
target, typically ``{ voicemail = "sales" }``) instead of the start menu::

    [ivr.hours]
    open = "08:30"                    # local time of the server
    close = "18:00"
    days = [1, 2, 3, 4, 5]            # ISO weekdays (1 = Monday); default every day
    after_hours = { voicemail = "sales" }

A target is exactly one of ``queue`` (with optional ``priority``), ``menu``, ``hangup``,
``fax`` (fax-on-demand: send that document on this call, ``fax = "price-list"``, a name of
``[media.fax] documents``; with ``to = "<var>"`` it is faxed later to the number the caller
keyed into that var, and the caller is released) or ``voicemail`` (record a message for that box,
``voicemail = "sales"``); the last two need the media resources (``[media]``). A menu's
prompt is a file (``prompt``) or text spoken by the TTS engine (``say = "..."``, with
``voice``, default the engine's Mandarin voice). Every mistake (unknown menu, missing
prompt file, bad key) is reported with its place.
"""
from __future__ import annotations

import tomllib
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cti.media.wavfile import read_alaw

from .collect import CollectSpec


class IvrConfigError(ValueError):
    """A mistake in the IVR TOML, with where it is."""


@dataclass(frozen=True)
class Target:
    queue: str | None = None
    menu: str | None = None
    hangup: bool = False
    priority: int = 0
    fax: str | None = None
    voicemail: str | None = None
    to: str | None = None          #: with fax: the var holding a number to fax to later (not this call)

    @classmethod
    def parse(cls, where: str, d: Any) -> Target:
        if not isinstance(d, dict):
            raise IvrConfigError(f"{where}: a target must be a table like {{ queue = \"sales\" }}")
        unknown = set(d) - {"queue", "menu", "hangup", "priority", "fax", "voicemail", "to"}
        if unknown:
            raise IvrConfigError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("queue", "menu", "fax", "voicemail", "to"):
            if key in d and not isinstance(d[key], str):
                raise IvrConfigError(f"{where}: {key} must be a string")
        t = cls(d.get("queue"), d.get("menu"), bool(d.get("hangup", False)), int(d.get("priority", 0)),
                d.get("fax"), d.get("voicemail"), d.get("to"))
        if t.to is not None and t.fax is None:
            raise IvrConfigError(f"{where}: to goes with fax (the var holding the number to fax to)")
        if sum((t.queue is not None, t.menu is not None, t.hangup, t.fax is not None, t.voicemail is not None)) != 1:
            raise IvrConfigError(f"{where}: give exactly one of queue, menu, hangup, fax or voicemail")
        return t


@dataclass(frozen=True)
class Menu:
    name: str
    prompt: str | None
    collect: CollectSpec
    retries: int = 2
    invalid_prompt: str | None = None
    options: dict[str, Target] = field(default_factory=dict)
    then: Target | None = None
    var: str | None = None
    on_fail: Target = Target(hangup=True)
    say: str | None = None          #: TTS text instead of a prompt file
    voice: str | None = None


_MENU_KEYS = {"prompt", "max_digits", "timeout", "inter_digit", "terminator", "barge_in", "retries",
              "invalid_prompt", "options", "then", "var", "on_fail", "say", "voice"}


@dataclass(frozen=True)
class Hours:
    """When the menus are open (local wall-clock time); outside, callers go to ``after_hours``."""

    open: int                      #: minutes after midnight
    close: int
    days: frozenset[int]
    after_hours: Target

    @classmethod
    def parse(cls, d: Any) -> Hours:
        if not isinstance(d, dict):
            raise IvrConfigError("ivr.hours: must be a table")
        unknown = set(d) - {"open", "close", "days", "after_hours"}
        if unknown:
            raise IvrConfigError(f"ivr.hours: unknown keys {sorted(unknown)}")

        def minutes(key: str) -> int:
            v = d.get(key)
            try:
                hh, mm = str(v).split(":")
                h, m = int(hh), int(mm)
            except (TypeError, ValueError):
                raise IvrConfigError(f"ivr.hours.{key}: give a time like \"08:30\", not {v!r}") from None
            if not (0 <= h <= 24 and 0 <= m < 60 and h * 60 + m <= 1440):
                raise IvrConfigError(f"ivr.hours.{key}: {v!r} is not a time of day")
            return h * 60 + m

        days = d.get("days", [1, 2, 3, 4, 5, 6, 7])
        if not isinstance(days, list) or not days or not all(isinstance(x, int) and 1 <= x <= 7 for x in days):
            raise IvrConfigError("ivr.hours.days: a list of ISO weekdays 1 (Monday) .. 7 (Sunday)")
        if "after_hours" not in d:
            raise IvrConfigError("ivr.hours: after_hours (where callers go when closed) is missing")
        h = cls(minutes("open"), minutes("close"), frozenset(days), Target.parse("ivr.hours.after_hours",
                                                                               d["after_hours"]))
        if h.open >= h.close:
            raise IvrConfigError("ivr.hours: open must be before close")
        return h

    def is_open(self, wall: datetime) -> bool:
        m = wall.hour * 60 + wall.minute
        return wall.isoweekday() in self.days and self.open <= m < self.close


@dataclass
class IvrConfig:
    start: str
    menus: dict[str, Menu]
    prompt_dir: Path
    _audio: dict[str, bytes] = field(default_factory=dict, repr=False)
    hours: Hours | None = None

    @classmethod
    def load(cls, path: str | Path) -> IvrConfig:
        p = Path(path)
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise IvrConfigError(f"{p}: {exc}") from None
        return cls.from_dict(doc.get("ivr", doc), base=p.parent)

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: Path = Path(".")) -> IvrConfig:
        menus_d = d.get("menus")
        if not isinstance(menus_d, dict) or not menus_d:
            raise IvrConfigError("ivr: no [ivr.menus.<name>] tables")
        menus = {name: cls._menu(name, md) for name, md in menus_d.items()}
        start = d.get("start", next(iter(menus)))
        cfg = cls(start, menus, (base / d.get("prompt_dir", ".")).resolve())
        if "hours" in d:
            cfg.hours = Hours.parse(d["hours"])
        cfg.check()
        return cfg

    @staticmethod
    def _menu(name: str, md: Any) -> Menu:
        where = f"ivr.menus.{name}"
        if not isinstance(md, dict):
            raise IvrConfigError(f"{where}: must be a table")
        unknown = set(md) - _MENU_KEYS
        if unknown:
            raise IvrConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_MENU_KEYS)}")
        try:
            spec = CollectSpec(max_digits=int(md.get("max_digits", 1)), first_timeout=float(md.get("timeout", 5.0)),
                               inter_digit_timeout=float(md.get("inter_digit", 3.0)),
                               terminator=str(md.get("terminator", "#")), barge_in=bool(md.get("barge_in", True)))
        except (TypeError, ValueError) as exc:
            raise IvrConfigError(f"{where}: {exc}") from None
        options = {str(k): Target.parse(f"{where}.options.{k}", v) for k, v in md.get("options", {}).items()}
        for k in options:
            if not k or any(ch not in "0123456789*#ABCD" for ch in k):
                raise IvrConfigError(f"{where}.options: {k!r} is not a DTMF digit string")
        then = Target.parse(f"{where}.then", md["then"]) if "then" in md else None
        if bool(options) == bool(then):
            raise IvrConfigError(f"{where}: give either options (a choice) or then (collect and go on)")
        on_fail = Target.parse(f"{where}.on_fail", md["on_fail"]) if "on_fail" in md else Target(hangup=True)
        say, voice = md.get("say"), md.get("voice")
        if say is not None and (not isinstance(say, str) or not say.strip()):
            raise IvrConfigError(f"{where}: say must be the text to speak")
        if say is not None and md.get("prompt") is not None:
            raise IvrConfigError(f"{where}: give prompt (a file) or say (text), not both")
        if voice is not None and (say is None or not isinstance(voice, str)):
            raise IvrConfigError(f"{where}: voice goes with say and is a voice name")
        return Menu(name, md.get("prompt"), spec, int(md.get("retries", 2)), md.get("invalid_prompt"),
                    options, then, md.get("var"), on_fail, say, voice)

    def check(self) -> None:
        if self.start not in self.menus:
            raise IvrConfigError(f"ivr.start: unknown menu {self.start!r}")
        for m in self.menus.values():
            for t in [*m.options.values(), m.on_fail, *([m.then] if m.then else [])]:
                if t.menu is not None and t.menu not in self.menus:
                    raise IvrConfigError(f"ivr.menus.{m.name}: goes to unknown menu {t.menu!r}")
            for prompt in (m.prompt, m.invalid_prompt):
                if prompt is not None and not (self.prompt_dir / prompt).is_file():
                    raise IvrConfigError(f"ivr.menus.{m.name}: prompt file {self.prompt_dir / prompt} not found")
        if self.hours is not None and self.hours.after_hours.menu not in (None, *self.menus):
            raise IvrConfigError(f"ivr.hours.after_hours: unknown menu {self.hours.after_hours.menu!r}")

    def targets(self) -> list[Target]:
        out = [t for m in self.menus.values() for t in [*m.options.values(), m.on_fail, *([m.then] if m.then else [])]]
        return out + ([self.hours.after_hours] if self.hours is not None else [])

    def queues(self) -> set[str]:
        """Every queue the IVR can send a caller to (the server checks they exist)."""
        return {t.queue for t in self.targets() if t.queue}

    def audio(self, prompt: str) -> bytes:
        """A prompt as 8 kHz A-law, loaded once."""
        if prompt not in self._audio:
            self._audio[prompt] = read_alaw(self.prompt_dir / prompt)
        return self._audio[prompt]

"""Calling rules checked before every dial (sans-IO: time is passed in as UNIX seconds).

* :class:`DncList` - the do-not-call list, from a file (one number a line, ``#`` comments) or
  a table. Numbers are compared in their E.164 form, so ``+86 139...``, ``139...`` and
  ``0139...`` written differently still match. A file that cannot be read or holds a
  malformed line raises :class:`RulesError`: a campaign whose list cannot be read does not
  start, and one whose list becomes unreadable while it runs stops dialling (never dials
  blindly) until the file is readable again.
* :class:`CallingHours` - the local hours in which a number may be called, by region of the
  number: the longest matching prefix of its E.164 form picks the time zone and the window.
  Prefixes are written as people know them: international (``+44``, ``+86991``) or in the
  own country's national form (``0991`` = Urumqi's area code, ``139`` = a mobile prefix,
  ``1399910`` = a mobile segment (号段) registered in one city). China is one time zone
  (Asia/Shanghai) by default; Xinjiang's area codes may be given Asia/Urumqi.
* :func:`to_e164` - a number as written -> its international digits, by the campaign's
  :class:`cti.outbound.numbers.DialPlan`.

Retry spacing and attempts per outcome live in :class:`cti.outbound.campaign.Campaign`;
the caller-ID rights check lives where the account is known (the StartCampaign request).
"""
from __future__ import annotations

import datetime as _dt
import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Mapping

from .numbers import DialPlan, is_digits


class RulesError(ValueError):
    """A calling rule that cannot be read or makes no sense (with the file and line)."""


def clean(number: str) -> str:
    """Spaces, dashes, dots and brackets removed (as numbers are written in lists)."""
    for ch in " -.()\t":
        number = number.replace(ch, "")
    return number


def to_e164(number: str, plan: DialPlan) -> str:
    """The international digits of ``number`` (no ``+``): ``+86 10 1234 5678``, ``010 1234 5678``
    -> ``861012345678``; ``139...`` -> ``86139...``; a number with the international prefix
    (``0044 20...``) -> ``4420...``."""
    n = clean(number)
    if n.startswith("+"):
        d = n[1:]
    elif n.startswith(plan.international_prefix):
        d = n[len(plan.international_prefix):]
    elif plan.national_prefix and n.startswith(plan.national_prefix):
        d = plan.country_code + n[len(plan.national_prefix):]
    else:
        d = plan.country_code + n
    if not is_digits(d):
        raise RulesError(f"not a telephone number: {number!r}")
    return d


def _prefix(key: str, plan: DialPlan) -> str:
    """A region key (``+44``, ``0991``, ``139``, ``default``) -> its E.164 prefix ("" = default)."""
    if key == "default":
        return ""
    k = clean(key)
    if k.startswith("+") and is_digits(k[1:]):
        return k[1:]
    if is_digits(k):
        return to_e164(k, plan)
    raise RulesError(f"region {key!r}: '+<country code>...', a national prefix of digits, or 'default'")


@dataclass
class DncList:
    """Do-not-call numbers (E.164 digits); ``path`` is re-read when its file changes."""

    plan: DialPlan = field(default_factory=DialPlan)
    numbers: set[str] = field(default_factory=set)
    path: Path | None = None
    _stamp: tuple[int, int] | None = None

    @classmethod
    def load(cls, source: str | os.PathLike[str] | Iterable[str] | None, plan: DialPlan) -> DncList:
        """From a file path or a list of numbers (a config table); raises RulesError."""
        if source is None:
            return cls(plan)
        if isinstance(source, (str, os.PathLike)):
            d = cls(plan, path=Path(source))
            d.refresh()
            return d
        if isinstance(source, Mapping) or not all(isinstance(n, str) for n in source):
            raise RulesError(f"dnc: a file name or a list of numbers, not {source!r}")
        d = cls(plan)
        for i, n in enumerate(source, 1):
            d.numbers.add(d._number(n, f"dnc[{i}]"))
        return d

    def _number(self, text: str, where: str) -> str:
        try:
            return to_e164(text, self.plan)
        except RulesError:
            raise RulesError(f"{where}: bad number {text!r}") from None

    def refresh(self) -> None:
        """Re-read the file if it changed since the last read; RulesError when it cannot be read
        (the numbers read before are kept, but the caller must not dial on them)."""
        if self.path is None:
            return
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RulesError(f"do-not-call list {self.path}: {e}") from None
        numbers: set[str] = set()
        for i, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if line:
                numbers.add(self._number(line.split(",", 1)[0], f"{self.path}:{i}"))
        self.numbers, self._stamp = numbers, stamp

    def blocked(self, number: str) -> bool:
        try:
            return to_e164(number, self.plan) in self.numbers
        except RulesError:
            return True                 # a number we cannot place is never dialled

    def __len__(self) -> int:
        return len(self.numbers)


def _minutes(hhmm: Any, where: str) -> int:
    if isinstance(hhmm, str) and len(hhmm) == 5 and hhmm[2] == ":" and is_digits(hhmm[:2] + hhmm[3:]):
        h, m = int(hhmm[:2]), int(hhmm[3:])
        if h <= 24 and m < 60 and h * 60 + m <= 1440:
            return h * 60 + m
    raise RulesError(f"calling hours {where}: 'HH:MM', not {hhmm!r}")


@dataclass(frozen=True)
class CallingHours:
    """Local calling windows by region prefix (E.164 digits; "" = everywhere else)."""

    windows: Mapping[str, tuple[int, int]]          #: prefix -> (start, end) minutes after local midnight
    zones: Mapping[str, zoneinfo.ZoneInfo]          #: prefix -> time zone

    @classmethod
    def from_config(cls, hours: Mapping[str, Any] | None, zones: Mapping[str, str] | None,
                    plan: DialPlan) -> CallingHours:
        """``hours = { default = ["09:00", "21:00"], "0991" = ["10:00", "22:00"] }``,
        ``zones = { "+44" = "Europe/London", "0991" = "Asia/Urumqi" }`` (the own country's
        default zone: Asia/Shanghai for +86, else UTC). No ``hours``: any time."""
        win: dict[str, tuple[int, int]] = {}
        for key, span in dict(hours or {}).items():
            if not isinstance(span, (list, tuple)) or len(span) != 2:
                raise RulesError(f"calling hours {key}: [\"HH:MM\", \"HH:MM\"], not {span!r}")
            a, b = _minutes(span[0], key), _minutes(span[1], key)
            if a >= b:
                raise RulesError(f"calling hours {key}: the window must open before it closes")
            win[_prefix(str(key), plan)] = (a, b)
        tz: dict[str, zoneinfo.ZoneInfo] = {plan.country_code: zoneinfo.ZoneInfo("Asia/Shanghai")} \
            if plan.country_code == "86" else {}
        tz.setdefault("", zoneinfo.ZoneInfo("UTC"))
        for key, name in dict(zones or {}).items():
            try:
                tz[_prefix(str(key), plan)] = zoneinfo.ZoneInfo(str(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise RulesError(f"zones {key}: unknown time zone {name!r}") from None
        return cls(win, tz)

    @staticmethod
    def _match(table: Mapping[str, Any], e164: str) -> Any:
        best = max((p for p in table if e164.startswith(p)), key=len, default=None)
        return None if best is None else table[best]

    def next_open(self, e164: str, now: float) -> float:
        """``now`` when ``e164`` may be called now, else when its window opens next."""
        window = self._match(self.windows, e164)
        if window is None:
            return now
        tz = self._match(self.zones, e164)
        local = _dt.datetime.fromtimestamp(now, tz)
        minute = local.hour * 60 + local.minute + local.second / 60.0
        start, end = window
        if start <= minute < end:
            return now
        day = local.date() if minute < start else local.date() + _dt.timedelta(days=1)
        opens = _dt.datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
        return opens.timestamp()


@dataclass
class Rules:
    """Every check before a dial: the do-not-call list and the calling hours."""

    plan: DialPlan = field(default_factory=DialPlan)
    dnc: DncList = field(default_factory=DncList)
    hours: CallingHours = field(default_factory=lambda: CallingHours({}, {"": zoneinfo.ZoneInfo("UTC")}))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], plan: DialPlan) -> Rules:
        """``dnc`` (a file or a list of numbers), ``hours`` and ``zones`` of a campaign's table."""
        return cls(plan, DncList.load(spec.get("dnc"), plan),
                   CallingHours.from_config(spec.get("hours"), spec.get("zones"), plan))

    def check(self, number: str, now: float) -> tuple[str, float]:
        """("ok", now), ("dnc", now) or ("hours", when it may be called). Raises RulesError
        when the do-not-call file cannot be read (dial nothing then)."""
        self.dnc.refresh()
        if self.dnc.blocked(number):
            return "dnc", now
        e164 = to_e164(number, self.plan)
        t = self.hours.next_open(e164, now)
        return ("ok", now) if t <= now else ("hours", t)

"""Q.931 information elements (codeset 0) as typed data, with their codecs (Q.931 4.5).

Every element type knows its identifier, how to ``encode()`` its contents and how to
``decode(contents)`` (:class:`Ie` declares both abstract, so a type that lacks one cannot be
instantiated); :data:`IE_TYPES` maps identifiers to the types the message decoder
interprets, :class:`Raw` carries the others. A content that breaks the recommendation's
coding raises :class:`IeError` (a :class:`~cti.signaling.errors.DecodeError` saying which
element and why), which the message decoder records against the element (Q.931 5.8.6.2 /
5.8.7.2 decide what that means for the message), never more.

B channels on E1 (Q.931 4.5.13, note on octet 3.3): the channel number is the timeslot
number, 1-15 and 17-31; timeslot 16 carries the D channel and is never a B channel.
:func:`timeslot_of_bchannel` / :func:`bchannel_of_timeslot` convert to the B-channel ordinal
1..30 (B1 = TS1 ... B15 = TS15, B16 = TS17 ... B30 = TS31) that maintenance and counters use.
"""
from __future__ import annotations

import abc
import functools
import enum
from dataclasses import dataclass
from typing import ClassVar, Self, cast

from cti.signaling.errors import DecodeError

D_TIMESLOT = 16


class IeError(DecodeError):
    """The contents of one information element break its coding (Q.931 4.5)."""


def timeslot_of_bchannel(b: int) -> int:
    """B-channel ordinal 1..30 -> E1 timeslot (skipping TS16)."""
    if not 1 <= b <= 30:
        raise ValueError(f"B channel {b} out of 1..30")
    return b if b < D_TIMESLOT else b + 1


def bchannel_of_timeslot(ts: int) -> int:
    """E1 timeslot 1-15 / 17-31 -> B-channel ordinal 1..30."""
    if not 1 <= ts <= 31 or ts == D_TIMESLOT:
        raise ValueError(f"timeslot {ts} is not a B channel (1-15, 17-31)")
    return ts if ts < D_TIMESLOT else ts - 1


class Id(enum.IntEnum):
    """Identifiers of the codeset 0 elements we code (Q.931 Table 4-3)."""

    BEARER_CAPABILITY = 0x04
    CAUSE = 0x08
    CALL_STATE = 0x14
    CHANNEL_ID = 0x18
    PROGRESS = 0x1E
    NOTIFICATION = 0x27
    DISPLAY = 0x28
    KEYPAD = 0x2C
    SIGNAL = 0x34
    CONNECTED_NUMBER = 0x4C
    CALLING_NUMBER = 0x6C
    CALLED_NUMBER = 0x70
    RESTART_INDICATOR = 0x79
    LLC = 0x7C
    HLC = 0x7D
    SENDING_COMPLETE = 0xA1


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise IeError(f"{what}: {len(data)} octets, at least {n} needed")


def _ia5(data: bytes, what: str, allowed: str | None = None) -> str:
    if not data.isascii():
        raise IeError(f"{what}: not IA5 characters")
    text = data.decode("ascii")
    if allowed is not None and text.strip(allowed):      # a character outside ``allowed`` is left
        raise IeError(f"{what}: digits {text!r} outside {allowed!r}")
    return text


DIGITS = "0123456789*#ABCD,"


class Ie(abc.ABC):
    """Base of the typed elements: each has its identifier, ``encode()`` (the contents, after
    identifier and length) and ``decode(contents)`` (:class:`IeError` for bad contents)."""

    id: ClassVar[int]

    @abc.abstractmethod
    def encode(self) -> bytes:
        """The contents octets (no identifier, no length)."""

    @classmethod
    @abc.abstractmethod
    def decode(cls, data: bytes) -> Self:
        """The element whose contents are ``data``; :class:`IeError` when they break its coding."""


@dataclass(frozen=True)
class BearerCapability(Ie):
    """Q.931 4.5.5: information transfer capability (0 speech, 8 unrestricted digital,
    0x10 3.1 kHz audio), circuit mode 64 kbit/s, layer 1 G.711 A-law (3) or mu-law (2)."""

    id: ClassVar[int] = Id.BEARER_CAPABILITY
    capability: int = 0x00
    mode: int = 0            #: 0 circuit mode
    rate: int = 0x10         #: 0x10 64 kbit/s
    layer1: int | None = 3   #: user information layer 1 protocol (None: absent)
    coding: int = 0          #: coding standard (0 ITU-T)
    multiplier: int = 1      #: octet 4.1, rate multiplier: present with rate 0x18 (multirate) only

    def encode(self) -> bytes:
        out = bytes((0x80 | (self.coding & 3) << 5 | (self.capability & 0x1F), 0x80 | (self.mode & 3) << 5 | (self.rate & 0x1F)))
        if self.rate & 0x1F == 0x18:
            out += bytes((0x80 | (self.multiplier & 0x7F),))
        if self.layer1 is not None:
            out += bytes((0x80 | 1 << 5 | (self.layer1 & 0x1F),))
        return out

    @classmethod
    def decode(cls, data: bytes) -> BearerCapability:
        _need(data, 2, "bearer capability")
        o3, o4 = data[0], data[1]
        i = 2
        if not o4 & 0x80:                 # octet 4a/4b (Q.931: only for packet / multirate)
            while i < len(data) and not data[i - 1] & 0x80:
                i += 1
        rate = o4 & 0x1F
        multiplier = 1
        if rate == 0x18:                  # multirate: octet 4.1 rate multiplier
            if i < len(data):
                multiplier = data[i] & 0x7F
            i += 1
        layer1 = None
        if i < len(data) and (data[i] >> 5) & 3 == 1:
            layer1 = data[i] & 0x1F
        return cls(o3 & 0x1F, (o4 >> 5) & 3, rate, layer1, (o3 >> 5) & 3, multiplier)


@dataclass(frozen=True)
class Cause(Ie):
    """Q.931 4.5.12 / Q.850: cause value with its location and diagnostics."""

    id: ClassVar[int] = Id.CAUSE
    value: int = 16
    location: int = 0        #: 0 user, 1 private local, 2 public local, 3 transit, 4 public remote ...
    coding: int = 0
    diagnostics: bytes = b""

    def encode(self) -> bytes:
        return bytes((0x80 | (self.coding & 3) << 5 | (self.location & 0x0F), 0x80 | (self.value & 0x7F))) + self.diagnostics

    @classmethod
    def decode(cls, data: bytes) -> Cause:
        _need(data, 2, "cause")
        i = 1 if data[0] & 0x80 else 2    # octet 3a (recommendation) when octet 3 is extended
        _need(data, i + 1, "cause")
        if not data[i] & 0x80:
            raise IeError("cause: octet 4 not the last of its group")
        return cls(data[i] & 0x7F, data[0] & 0x0F, (data[0] >> 5) & 3, bytes(data[i + 1:]))


@dataclass(frozen=True)
class CallState(Ie):
    """Q.931 4.5.7: the state of the call at the sender (0..25)."""

    id: ClassVar[int] = Id.CALL_STATE
    value: int = 0
    coding: int = 0

    def encode(self) -> bytes:
        return bytes(((self.coding & 3) << 6 | (self.value & 0x3F),))

    @classmethod
    def decode(cls, data: bytes) -> CallState:
        _need(data, 1, "call state")
        return cls(data[0] & 0x3F, data[0] >> 6)


@dataclass(frozen=True)
class ChannelId(Ie):
    """Q.931 4.5.13 for the primary rate interface: B channels by number (the E1 timeslot),
    ``exclusive`` (only this one) or preferred; no channels with ``any_channel`` (selection 3)
    or ``no_channel`` (selection 0)."""

    id: ClassVar[int] = Id.CHANNEL_ID
    channels: tuple[int, ...] = ()
    exclusive: bool = True
    d_channel: bool = False
    any_channel: bool = False
    no_channel: bool = False

    def encode(self) -> bytes:
        sel = 3 if self.any_channel else 0 if self.no_channel else 1
        o3 = 0x80 | 0x20 | (0x08 if self.exclusive else 0) | (0x04 if self.d_channel else 0) | sel
        if sel != 1:
            return bytes((o3,))
        if not self.channels:
            raise ValueError("channel identification 'as indicated' needs a channel")
        nums = bytes(c & 0x7F for c in self.channels[:-1]) + bytes((0x80 | (self.channels[-1] & 0x7F),))
        return bytes((o3, 0x83)) + nums

    @classmethod
    def decode(cls, data: bytes) -> ChannelId:
        _need(data, 1, "channel identification")
        o3 = data[0]
        if not o3 & 0x20:
            raise IeError("channel identification: basic interface coding on a primary rate interface")
        i = 1
        if o3 & 0x40:                     # interface identifier present (octet 3.1): skip it
            while i < len(data) and not data[i] & 0x80:
                i += 1
            i += 1
        sel = o3 & 3
        excl, d = bool(o3 & 0x08), bool(o3 & 0x04)
        if sel == 2:
            raise IeError("channel identification: channel selection 2 is reserved on a primary rate interface")
        if sel != 1:
            return cls((), excl, d, any_channel=sel == 3, no_channel=sel == 0)
        _need(data, i + 2, "channel identification")
        o32 = data[i]
        if (o32 >> 5) & 3 != 0:
            raise IeError(f"channel identification: coding standard {(o32 >> 5) & 3} not ITU-T")
        if (o32 & 0x0F) != 3:
            raise IeError(f"channel identification: channel type {o32 & 0x0F} is not B channel units")
        if o32 & 0x10:
            raise IeError("channel identification: slot map not supported (number expected)")
        chans = []
        for b in data[i + 1:]:
            c = b & 0x7F
            if not 1 <= c <= 31 or c == D_TIMESLOT:
                raise IeError(f"channel identification: channel {c} is not a B channel of an E1")
            chans.append(c)
            if b & 0x80:
                break
        else:
            raise IeError("channel identification: channel number list not terminated")
        return cls(tuple(chans), excl, d)


@dataclass(frozen=True)
class Progress(Ie):
    """Q.931 4.5.23: progress description (1 not end-to-end ISDN, 2 destination non-ISDN,
    3 origination non-ISDN, 4 returned to ISDN, 8 in-band information available)."""

    id: ClassVar[int] = Id.PROGRESS
    description: int = 8
    location: int = 0
    coding: int = 0

    def encode(self) -> bytes:
        return bytes((0x80 | (self.coding & 3) << 5 | (self.location & 0x0F), 0x80 | (self.description & 0x7F)))

    @classmethod
    def decode(cls, data: bytes) -> Progress:
        _need(data, 2, "progress indicator")
        return cls(data[1] & 0x7F, data[0] & 0x0F, (data[0] >> 5) & 3)


@dataclass(frozen=True)
class Notification(Ie):
    """Q.931 4.5.22: notification description (0 user suspended, 1 user resumed, 2 bearer change)."""

    id: ClassVar[int] = Id.NOTIFICATION
    description: int = 0

    def encode(self) -> bytes:
        return bytes((0x80 | (self.description & 0x7F),))

    @classmethod
    def decode(cls, data: bytes) -> Notification:
        _need(data, 1, "notification indicator")
        return cls(data[0] & 0x7F)


@dataclass(frozen=True)
class Display(Ie):
    """Q.931 4.5.16: text for the user. IA5 by the recommendation; Chinese PBXs and networks
    send names in GB 18030 / GB 2312 octets, which are read as such (and written so when the
    text is not ASCII) rather than refused, so a caller's name in Chinese reaches the desktop."""

    id: ClassVar[int] = Id.DISPLAY
    text: str = ""

    def encode(self) -> bytes:
        try:
            return self.text.encode("ascii")[:82]
        except UnicodeEncodeError:
            return self.text.encode("gb18030", "replace")[:82]

    @classmethod
    def decode(cls, data: bytes) -> Display:
        if data and data[0] & 0x80 and (len(data) == 1 or not data[1] & 0x80):
            data = data[1:]               # a leading character set octet (ANSI T1.607 / NI-2)
        if not any(b & 0x80 for b in data):
            return cls(data.decode("ascii"))
        try:
            return cls(data.decode("gb18030"))
        except UnicodeDecodeError:
            raise IeError("display: neither IA5 nor GB 18030 text") from None


@dataclass(frozen=True)
class Keypad(Ie):
    """Q.931 4.5.18: IA5 characters typed on a keypad."""

    id: ClassVar[int] = Id.KEYPAD
    text: str = ""

    def encode(self) -> bytes:
        if not self.text:
            raise ValueError("keypad facility needs at least one character")
        return self.text.encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> Keypad:
        _need(data, 1, "keypad facility")
        return cls(_ia5(data, "keypad facility"))


@dataclass(frozen=True)
class Signal(Ie):
    """Q.931 4.5.28: a tone or alert the network asks the user equipment to play."""

    id: ClassVar[int] = Id.SIGNAL
    value: int = 0

    def encode(self) -> bytes:
        return bytes((self.value & 0xFF,))

    @classmethod
    def decode(cls, data: bytes) -> Signal:
        _need(data, 1, "signal")
        return cls(data[0])


class Ton(enum.IntEnum):
    """Type of number (Q.931 4.5.8)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER = 4
    ABBREVIATED = 6


class Presentation(enum.IntEnum):
    """Presentation indicator (Q.931 4.5.10 octet 3a)."""

    ALLOWED = 0
    RESTRICTED = 1
    NOT_AVAILABLE = 2


class Screening(enum.IntEnum):
    """Screening indicator (Q.931 4.5.10 octet 3a)."""

    USER_NOT_SCREENED = 0
    USER_VERIFIED_PASSED = 1
    USER_VERIFIED_FAILED = 2
    NETWORK_PROVIDED = 3


@dataclass(frozen=True)
class _Number(Ie):
    digits: str = ""
    ton: int = Ton.UNKNOWN
    plan: int = 1            #: numbering plan: 1 ISDN/telephony (E.164), 9 private, 0 unknown
    presentation: int | None = None    #: octet 3a present when not None (calling / connected)
    screening: int = 0

    def encode(self) -> bytes:
        o3 = (self.ton & 7) << 4 | (self.plan & 0x0F)
        if self.presentation is None:
            return bytes((0x80 | o3,)) + self.digits.encode("ascii")
        return bytes((o3, 0x80 | (self.presentation & 3) << 5 | (self.screening & 3))) + self.digits.encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> _Number:
        what = cls.__name__
        _need(data, 1, what)
        pres, scr, i = None, 0, 1
        if not data[0] & 0x80:
            _need(data, 2, what)
            if not data[1] & 0x80:
                raise IeError(f"{what}: octet 3a not the last of its group")
            pres, scr, i = (data[1] >> 5) & 3, data[1] & 3, 2
        return cls(_ia5(bytes(data[i:]), what, DIGITS), (data[0] >> 4) & 7, data[0] & 0x0F, pres, scr)


@dataclass(frozen=True)
class CalledNumber(_Number):
    """Q.931 4.5.8 (no octet 3a)."""

    id: ClassVar[int] = Id.CALLED_NUMBER

    @classmethod
    def decode(cls, data: bytes) -> CalledNumber:
        _need(data, 1, "called party number")
        if not data[0] & 0x80:
            raise IeError("called party number: octet 3 not the last of its group")
        return cast(CalledNumber, super().decode(data))


@dataclass(frozen=True)
class CallingNumber(_Number):
    """Q.931 4.5.10: with presentation / screening (octet 3a)."""

    id: ClassVar[int] = Id.CALLING_NUMBER


@dataclass(frozen=True)
class ConnectedNumber(_Number):
    """ETS 300 097 / Q.951 connected number (coded as the calling party number)."""

    id: ClassVar[int] = Id.CONNECTED_NUMBER


class RestartClass(enum.IntEnum):
    """Restart indicator class (Q.931 4.5.25)."""

    INDICATED = 0          #: the channels in the channel identification
    SINGLE_INTERFACE = 6
    ALL_INTERFACES = 7


@dataclass(frozen=True)
class RestartIndicator(Ie):
    id: ClassVar[int] = Id.RESTART_INDICATOR
    cls_: int = RestartClass.INDICATED

    def encode(self) -> bytes:
        return bytes((0x80 | (self.cls_ & 7),))

    @classmethod
    def decode(cls, data: bytes) -> RestartIndicator:
        _need(data, 1, "restart indicator")
        if data[0] & 7 not in (0, 6, 7):
            raise IeError(f"restart indicator: class {data[0] & 7} is reserved")
        return cls(data[0] & 7)


@dataclass(frozen=True)
class Hlc(Ie):
    """Q.931 4.5.17 high layer compatibility: characteristics 0x01 telephony, 0x04 fax group
    2/3, 0x21 fax group 4 ... (CCITT interpretation, profile presentation)."""

    id: ClassVar[int] = Id.HLC
    characteristics: int = 0x01
    coding: int = 0
    interpretation: int = 4
    presentation: int = 1
    extended: int | None = None

    def encode(self) -> bytes:
        o3 = 0x80 | (self.coding & 3) << 5 | (self.interpretation & 7) << 2 | (self.presentation & 3)
        if self.extended is None:
            return bytes((o3, 0x80 | (self.characteristics & 0x7F)))
        return bytes((o3, self.characteristics & 0x7F, 0x80 | (self.extended & 0x7F)))

    @classmethod
    def decode(cls, data: bytes) -> Hlc:
        _need(data, 2, "high layer compatibility")
        ext = None
        if not data[1] & 0x80:
            _need(data, 3, "high layer compatibility")
            ext = data[2] & 0x7F
        return cls(data[1] & 0x7F, (data[0] >> 5) & 3, (data[0] >> 2) & 7, data[0] & 3, ext)


@dataclass(frozen=True)
class Raw(Ie):
    """An element we carry but do not interpret (LLC, facility, user-user, other codesets)."""

    id: ClassVar[int] = 0
    ident: int = 0
    data: bytes = b""
    codeset: int = 0

    def encode(self) -> bytes:
        return self.data

    @classmethod
    def decode(cls, data: bytes, ident: int = 0, codeset: int = 0) -> Raw:
        """Any contents are acceptable: the element is carried, not interpreted."""
        if not 0 <= ident <= 0xFF or not 0 <= codeset <= 7:
            raise IeError(f"element identifier 0x{ident:x} / codeset {codeset} out of range")
        return cls(ident, bytes(data), codeset)


@dataclass(frozen=True)
class SendingComplete(Ie):
    """Q.931 4.5.27: single-octet element, en-bloc sending."""

    id: ClassVar[int] = Id.SENDING_COMPLETE

    def encode(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, data: bytes) -> SendingComplete:
        if data:
            raise IeError(f"sending complete: a single-octet element has no contents ({len(data)} octets given)")
        return cls()


IE_TYPES: dict[int, type[Ie]] = {t.id: t for t in (
    BearerCapability, Cause, CallState, ChannelId, Progress, Notification, Display, Keypad, Signal,
    CalledNumber, CallingNumber, ConnectedNumber, RestartIndicator, Hlc)}
#: elements Q.931 codes that we pass on uninterpreted (not "unrecognized": 5.8.7.1 does not apply)
KNOWN_RAW = frozenset({Id.LLC, 0x1C, 0x7E, 0x29, 0x20, 0x6D, 0x71, 0x74, 0x76, 0x78, 0x7F, 0x10, 0x40, 0x42, 0x44})

# ---- the elements a call sends again and again, one object each ----------------------------
# Elements are immutable, and the message encoder keeps an element's octets on it: handing
# out one object per value (a cause with its location, a channel) makes each encoded once.
SPEECH = BearerCapability()                  #: speech, 64 kbit/s circuit mode, G.711 A-law
SENDING_COMPLETE = SendingComplete()


@functools.lru_cache(maxsize=512)
def cause(value: int, location: int) -> Cause:
    """The :class:`Cause` of ``value`` at ``location`` (no diagnostics), shared."""
    return Cause(value, location)


@functools.lru_cache(maxsize=256)
def channel(timeslot: int, exclusive: bool = True) -> ChannelId:
    """The :class:`ChannelId` of one B channel, shared."""
    return ChannelId((timeslot,), exclusive)


@functools.lru_cache(maxsize=128)
def progress(description: int, location: int) -> Progress:
    """The :class:`Progress` indicator of ``description`` at ``location``, shared."""
    return Progress(description, location)

"""The E1 board wire protocol, version 1: typed, length-prefixed messages over a byte stream.

Sans-IO codec: :func:`encode` turns a message into octets, :class:`Decoder` turns
any chunks of octets back into messages. The full specification a card vendor
implements is docs/wire-protocol.md; the tables here are its single source.

Every message is a 6-octet header followed by ``length`` payload octets, all
integers big-endian (network order)::

    0      1        2      3      4..5
    magic  version  type   span   length      magic = 0xE1, span 0xFF = the whole board

A decoder never stops on bad input: a message with an unknown type, a wrong
version or a malformed payload is skipped by its length and reported as a
:class:`BadMessage`; octets that do not start with a valid header are skipped up
to the next plausible header and reported once as garbage.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, fields
from typing import ClassVar

from drivers.base import Counters, WireProtocolError

MAGIC = 0xE1
VERSION = 1
#: versions this implementation speaks (negotiated in HELLO / HELLO_ACK)
MIN_VERSION = 1
MAX_VERSION = 1
HEADER = struct.Struct(">BBBBH")
HEADER_SIZE = HEADER.size
_AUDIO_HEAD = struct.Struct(">IIH")          # AUDIO: seq, timeslot mask, octets per timeslot
MAX_PAYLOAD = 0xFFFF
#: ``span`` value of messages about the whole board
BOARD = 0xFF
#: counters carried by COUNTERS, in this order (new ones are appended, never reordered)
COUNTER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counters))


class MsgType(enum.IntEnum):
    HELLO = 0x01
    HELLO_ACK = 0x02
    PING = 0x03
    PONG = 0x04
    ERROR = 0x05
    OK = 0x06
    CAPS_QUERY = 0x07
    CAPABILITIES = 0x08
    OWNER = 0x09
    AUDIO = 0x10
    AUDIO_SUBSCRIBE = 0x11
    CAS_SET = 0x20
    CAS_CHANGED = 0x21
    CAS_QUERY = 0x22
    CAS_STATE = 0x23
    HDLC_FRAME = 0x30
    ALARMS = 0x40
    COUNTERS_QUERY = 0x41
    COUNTERS = 0x42
    ADVANCE = 0x50
    TIME = 0x51
    FAULT = 0x52
    ECHO_SET = 0x60


class ErrorCode(enum.IntEnum):
    """Codes of ERROR messages (docs/wire-protocol.md, "Errors")."""

    BAD_VERSION = 1      #: header version not the negotiated one / no common version
    UNKNOWN_TYPE = 2     #: message type not defined in the negotiated version
    MALFORMED = 3        #: payload length or content does not fit the type
    GARBAGE = 4          #: octets that do not start with a valid header were skipped
    OUT_OF_RANGE = 5     #: span or timeslot does not exist
    BAD_CAS = 6          #: abcd outside 0x1..0xF (0000 must not be sent, G.704 5.1.3.2)
    NOT_CONFIGURED = 7   #: e.g. CAS on a CCS span, HDLC on a timeslot that is not a link
    UNSUPPORTED = 8      #: optional message (ADVANCE, FAULT) this card does not implement
    NO_HELLO = 9         #: a message other than HELLO/PING before the handshake
    OVERFLOW = 10        #: transmit queue full; the message was dropped
    INTERNAL = 11
    STALE_OWNER = 12     #: a host with a higher OWNER epoch drives the card: orders from this one are refused


class Capability(enum.IntFlag):
    """Bits of a span's entry in CAPABILITIES (docs/wire-protocol.md, "Capabilities").
    Bits not listed are reserved: a card sends 0, a host ignores them."""

    NONE = 0
    ECHO_CANCEL = 0x0001   #: the card cancels line echo itself, per voice timeslot (ECHO_SET)


#: longest echo canceller tail ECHO_SET accepts, ms (G.168 tail, as drivers.base)
ECHO_TAIL_MAX_MS = 128


class Fault(enum.IntEnum):
    """FAULT ids (simulator extension): value 0 turns a fault off."""

    CLEAR = 0
    LOS = 1
    AIS = 2
    LOF = 3
    RAI = 4
    BER = 5            #: value = bit error ratio
    CRC_ERRORS = 6     #: value = CRC-4 errors per second
    SLIP = 7           #: value -1 deletes a frame, +1 repeats one (one shot)
    HDLC_BROKEN = 8
    MFAS = 9           #: TS16 CAS multiframe alignment word corrupted: LOMF (G.732 5.2)
    MRAI = 10          #: the far end sets the Y bit of TS16 frame 0: MF_RAI
    CRC4MF = 11        #: CRC-4 multiframe word and C bits corrupted: LOCRC (G.706 4.2, Annex B)
    CLOCK = 12         #: value = the line's clock offset from the span's own, in ppm
    CAS_GLITCH = 13    #: value = ms for which every channel's received a,b read 00 (one shot)
    TS16_AIS = 14      #: TS16 all ones (CAS spans): MF_AIS (G.775, G.732)


# ---------------------------------------------------------------- messages

@dataclass(frozen=True, slots=True)
class SpanInfo:
    framing: str = "crc4"           #: "crc4" | "df"
    signalling: str = "cas"         #: "cas" | "ccs"
    hdlc: tuple[int, ...] = ()      #: timeslots carrying HDLC


@dataclass(frozen=True, slots=True)
class Hello:
    TYPE: ClassVar[MsgType] = MsgType.HELLO
    min_version: int = MIN_VERSION
    max_version: int = MAX_VERSION
    name: str = ""
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class HelloAck:
    TYPE: ClassVar[MsgType] = MsgType.HELLO_ACK
    version: int = VERSION
    spans: tuple[SpanInfo, ...] = ()
    name: str = ""
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Ping:
    TYPE: ClassVar[MsgType] = MsgType.PING
    data: bytes = b""
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Pong:
    TYPE: ClassVar[MsgType] = MsgType.PONG
    data: bytes = b""
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Error:
    TYPE: ClassVar[MsgType] = MsgType.ERROR
    code: int = ErrorCode.INTERNAL
    ref_type: int = 0
    text: str = ""
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Ok:
    TYPE: ClassVar[MsgType] = MsgType.OK
    ref_type: int = 0
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Audio:
    """A-law octets for ``timeslots``, timeslot-major, the same count for each."""

    TYPE: ClassVar[MsgType] = MsgType.AUDIO
    span: int = 0
    seq: int = 0
    timeslots: tuple[int, ...] = ()
    data: bytes = b""

    @property
    def octets_per_timeslot(self) -> int:
        return len(self.data) // len(self.timeslots) if self.timeslots else 0


@dataclass(frozen=True, slots=True)
class AudioSubscribe:
    TYPE: ClassVar[MsgType] = MsgType.AUDIO_SUBSCRIBE
    span: int = 0
    timeslots: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CasSet:
    TYPE: ClassVar[MsgType] = MsgType.CAS_SET
    span: int = 0
    timeslot: int = 1
    abcd: int = 0xD


@dataclass(frozen=True, slots=True)
class CasChanged:
    TYPE: ClassVar[MsgType] = MsgType.CAS_CHANGED
    span: int = 0
    timeslot: int = 1
    abcd: int = 0xD
    time: float = 0.0


@dataclass(frozen=True, slots=True)
class CasQuery:
    TYPE: ClassVar[MsgType] = MsgType.CAS_QUERY
    span: int = 0


@dataclass(frozen=True, slots=True)
class CasState:
    """Received abcd of timeslots 1..31 (entry ts-1; TS16's entry is 0)."""

    TYPE: ClassVar[MsgType] = MsgType.CAS_STATE
    span: int = 0
    abcd: tuple[int, ...] = (0,) * 31


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    TYPE: ClassVar[MsgType] = MsgType.HDLC_FRAME
    span: int = 0
    timeslot: int = 16
    frame: bytes = b""


@dataclass(frozen=True, slots=True)
class Alarms:
    TYPE: ClassVar[MsgType] = MsgType.ALARMS
    span: int = 0
    alarms: int = 0
    time: float = 0.0


@dataclass(frozen=True, slots=True)
class CountersQuery:
    TYPE: ClassVar[MsgType] = MsgType.COUNTERS_QUERY
    span: int = 0


@dataclass(frozen=True, slots=True)
class CountersMsg:
    TYPE: ClassVar[MsgType] = MsgType.COUNTERS
    span: int = 0
    values: tuple[int, ...] = ()

    def counters(self) -> Counters:
        vals = dict(zip(COUNTER_FIELDS, self.values, strict=False))
        return Counters(**vals)


@dataclass(frozen=True, slots=True)
class Advance:
    TYPE: ClassVar[MsgType] = MsgType.ADVANCE
    seconds: float = 0.0
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Time:
    TYPE: ClassVar[MsgType] = MsgType.TIME
    now: float = 0.0
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class CapsQuery:
    """Host asks for the card's capabilities (answered by CAPABILITIES, or by ERROR
    UNKNOWN_TYPE from a card that has none to report)."""

    TYPE: ClassVar[MsgType] = MsgType.CAPS_QUERY
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class Capabilities:
    """One :class:`Capability` mask per span, span 0 first."""

    TYPE: ClassVar[MsgType] = MsgType.CAPABILITIES
    spans: tuple[int, ...] = ()
    span: int = BOARD

    def of(self, span: int) -> Capability:
        """Span ``span``'s known capabilities (none when the card listed fewer spans)."""
        mask = self.spans[span] if 0 <= span < len(self.spans) else 0
        return Capability(mask & sum(int(c) for c in Capability))


@dataclass(frozen=True, slots=True)
class Owner:
    """Host claims the card with lease ``epoch`` (a cluster's fencing token): the card takes
    orders from the highest epoch claimed, closes the connections of lower ones, and refuses
    lower or equal claims of another connection with ERROR STALE_OWNER. Answered by OK."""

    TYPE: ClassVar[MsgType] = MsgType.OWNER
    epoch: int = 0
    span: int = BOARD


@dataclass(frozen=True, slots=True)
class EchoSet:
    """Cancel line echo on voice timeslot ``timeslot`` with a ``tail_ms`` tail (0: off)."""

    TYPE: ClassVar[MsgType] = MsgType.ECHO_SET
    span: int = 0
    timeslot: int = 0
    tail_ms: int = 0


@dataclass(frozen=True, slots=True)
class FaultMsg:
    TYPE: ClassVar[MsgType] = MsgType.FAULT
    span: int = 0
    fault: int = Fault.CLEAR
    value: float = 0.0


Message = (Hello | HelloAck | Ping | Pong | Error | Ok | Audio | AudioSubscribe | CasSet | CasChanged
           | CasQuery | CasState | HdlcFrame | Alarms | CountersQuery | CountersMsg | Advance | Time | FaultMsg
           | CapsQuery | Capabilities | EchoSet | Owner)


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message (or run of garbage octets) the decoder skipped, with why."""

    error: WireProtocolError
    code: ErrorCode
    type: int = 0
    span: int = BOARD
    octets: int = 0


# ---------------------------------------------------------------- helpers

def ts_mask(timeslots: tuple[int, ...] | list[int]) -> int:
    mask = 0
    for ts in timeslots:
        if not isinstance(ts, int) or not 0 <= ts <= 31:
            raise WireProtocolError(f"timeslot {ts!r} outside 0..31")
        if mask & (1 << ts):
            raise WireProtocolError(f"timeslot {ts} listed twice")
        mask |= 1 << ts
    return mask


def mask_ts(mask: int) -> tuple[int, ...]:
    """The timeslots of a 32-bit mask, in increasing order (a card streams the same few masks
    every block: they are remembered)."""
    tss = _MASKS.get(mask)
    if tss is None:
        tss = tuple(ts for ts in range(32) if mask & (1 << ts))
        if len(_MASKS) < 4096:
            _MASKS[mask] = tss
    return tss


_MASKS: dict[int, tuple[int, ...]] = {}


def _us(seconds: float) -> int:
    if not seconds >= 0:
        raise WireProtocolError(f"time must be >= 0, not {seconds!r}")
    return min(round(seconds * 1e6), 2**64 - 1)


def _u8(v: int, what: str) -> int:
    if not isinstance(v, int) or not 0 <= v <= 0xFF:
        raise WireProtocolError(f"{what} {v!r} does not fit one octet")
    return v


def _text(b: bytes) -> str:
    return b.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- encoding

def _payload(msg: Message) -> bytes:
    if isinstance(msg, Hello):
        return bytes((_u8(msg.min_version, "version"), _u8(msg.max_version, "version"))) + msg.name.encode()
    if isinstance(msg, HelloAck):
        out = bytearray((_u8(msg.version, "version"), _u8(len(msg.spans), "span count")))
        for s in msg.spans:
            out += struct.pack(">BBI", 1 if s.framing == "crc4" else 0,
                               1 if s.signalling == "ccs" else 0, ts_mask(list(s.hdlc)))
        return bytes(out) + msg.name.encode()
    if isinstance(msg, (Ping, Pong)):
        return bytes(msg.data)
    if isinstance(msg, Error):
        return struct.pack(">HB", int(msg.code) & 0xFFFF, _u8(int(msg.ref_type), "type")) + msg.text.encode()
    if isinstance(msg, Ok):
        return bytes((_u8(int(msg.ref_type), "type"),))
    if isinstance(msg, Audio):
        n = len(msg.timeslots)
        per = len(msg.data) // n if n else 0
        if per * n != len(msg.data) or (n == 0 and msg.data):
            raise WireProtocolError(f"audio data of {len(msg.data)} octets does not split over {n} timeslots")
        if per > 0xFFFF:
            raise WireProtocolError("audio message too long")
        return struct.pack(">IIH", msg.seq & 0xFFFFFFFF, ts_mask(msg.timeslots), per) + bytes(msg.data)
    if isinstance(msg, AudioSubscribe):
        return struct.pack(">I", ts_mask(msg.timeslots))
    if isinstance(msg, CasSet):
        return bytes((_u8(msg.timeslot, "timeslot"), _u8(msg.abcd, "abcd")))
    if isinstance(msg, CasChanged):
        return struct.pack(">BBQ", _u8(msg.timeslot, "timeslot"), _u8(msg.abcd, "abcd"), _us(msg.time))
    if isinstance(msg, (CasQuery, CountersQuery, CapsQuery)):
        return b""
    if isinstance(msg, Capabilities):
        return bytes((_u8(len(msg.spans), "span count"),)) + b"".join(
            struct.pack(">I", v & 0xFFFFFFFF) for v in msg.spans)
    if isinstance(msg, EchoSet):
        return bytes((_u8(msg.timeslot, "timeslot"), _u8(msg.tail_ms, "tail")))
    if isinstance(msg, Owner):
        if not isinstance(msg.epoch, int) or not 0 <= msg.epoch <= 0xFFFFFFFFFFFFFFFF:
            raise WireProtocolError(f"OWNER epoch {msg.epoch!r} is not a 64-bit unsigned integer")
        return struct.pack(">Q", msg.epoch)
    if isinstance(msg, CasState):
        if len(msg.abcd) != 31:
            raise WireProtocolError("CAS_STATE carries 31 entries (timeslots 1..31)")
        return bytes(_u8(v, "abcd") for v in msg.abcd)
    if isinstance(msg, HdlcFrame):
        return bytes((_u8(msg.timeslot, "timeslot"),)) + bytes(msg.frame)
    if isinstance(msg, Alarms):
        return struct.pack(">HQ", msg.alarms & 0xFFFF, _us(msg.time))
    if isinstance(msg, CountersMsg):
        return bytes((_u8(len(msg.values), "counter count"),)) + b"".join(
            struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF) for v in msg.values)
    if isinstance(msg, Advance):
        return struct.pack(">Q", _us(msg.seconds))
    if isinstance(msg, Time):
        return struct.pack(">Q", _us(msg.now))
    if isinstance(msg, FaultMsg):
        return struct.pack(">Bd", _u8(int(msg.fault), "fault"), float(msg.value))
    raise WireProtocolError(f"cannot encode {msg!r}")  # pragma: no cover


def encode_raw(msg_type: int, span: int, payload: bytes, version: int = VERSION) -> bytes:
    """One message from its parts, unchecked (conformance tests use it to send bad input)."""
    if len(payload) > MAX_PAYLOAD:
        raise WireProtocolError(f"payload of {len(payload)} octets exceeds {MAX_PAYLOAD}")
    return HEADER.pack(MAGIC, version & 0xFF, msg_type & 0xFF, span & 0xFF, len(payload)) + payload


def encode(msg: Message, version: int = VERSION) -> bytes:
    """The octets of one message (header + payload)."""
    if not isinstance(getattr(msg, "TYPE", None), MsgType):
        raise TypeError(f"not a wire-protocol message: {msg!r}")
    return encode_raw(msg.TYPE, _u8(msg.span, "span"), _payload(msg), version)


# ---------------------------------------------------------------- decoding

def _need(payload: bytes, n: int, name: str, exact: bool = True) -> None:
    if (len(payload) != n) if exact else (len(payload) < n):
        raise WireProtocolError(
            f"{name} payload is {len(payload)} octets, expected {'' if exact else 'at least '}{n}")


def decode_payload(msg_type: int, span: int, p: bytes) -> Message:
    """The message of ``msg_type`` from its payload; WireProtocolError if it does not fit."""
    try:
        t = MsgType(msg_type)
    except ValueError:
        raise WireProtocolError(f"unknown message type 0x{msg_type:02x}") from None
    n = t.name
    if t is MsgType.HELLO:
        _need(p, 2, n, exact=False)
        return Hello(p[0], p[1], _text(p[2:]), span)
    if t is MsgType.HELLO_ACK:
        _need(p, 2, n, exact=False)
        count = p[1]
        _need(p, 2 + 6 * count, n, exact=False)
        spans = []
        for i in range(count):
            fr, sig, mask = struct.unpack_from(">BBI", p, 2 + 6 * i)
            if fr > 1 or sig > 1:
                raise WireProtocolError(f"HELLO_ACK span {i}: framing {fr} / signalling {sig} not 0 or 1")
            spans.append(SpanInfo("crc4" if fr else "df", "ccs" if sig else "cas", mask_ts(mask)))
        return HelloAck(p[0], tuple(spans), _text(p[2 + 6 * count:]), span)
    if t is MsgType.PING:
        return Ping(bytes(p), span)
    if t is MsgType.PONG:
        return Pong(bytes(p), span)
    if t is MsgType.ERROR:
        _need(p, 3, n, exact=False)
        code, ref = struct.unpack_from(">HB", p)
        return Error(code, ref, _text(p[3:]), span)
    if t is MsgType.OK:
        _need(p, 1, n)
        return Ok(p[0], span)
    if t is MsgType.AUDIO:
        _need(p, 10, n, exact=False)
        seq, mask, per = _AUDIO_HEAD.unpack_from(p)
        tss = mask_ts(mask)
        _need(p, 10 + per * len(tss), n)
        return Audio(span, seq, tss, bytes(p[10:]))
    if t is MsgType.AUDIO_SUBSCRIBE:
        _need(p, 4, n)
        return AudioSubscribe(span, mask_ts(struct.unpack(">I", p)[0]))
    if t is MsgType.CAS_SET:
        _need(p, 2, n)
        return CasSet(span, p[0], p[1])
    if t is MsgType.CAS_CHANGED:
        _need(p, 10, n)
        ts, abcd, us = struct.unpack(">BBQ", p)
        return CasChanged(span, ts, abcd, us / 1e6)
    if t is MsgType.CAS_QUERY:
        _need(p, 0, n)
        return CasQuery(span)
    if t is MsgType.CAS_STATE:
        _need(p, 31, n)
        return CasState(span, tuple(p))
    if t is MsgType.HDLC_FRAME:
        _need(p, 2, n, exact=False)
        return HdlcFrame(span, p[0], bytes(p[1:]))
    if t is MsgType.ALARMS:
        _need(p, 10, n)
        alarms, us = struct.unpack(">HQ", p)
        return Alarms(span, alarms, us / 1e6)
    if t is MsgType.COUNTERS_QUERY:
        _need(p, 0, n)
        return CountersQuery(span)
    if t is MsgType.COUNTERS:
        _need(p, 1, n, exact=False)
        _need(p, 1 + 8 * p[0], n)
        return CountersMsg(span, struct.unpack(f">{p[0]}Q", p[1:]))
    if t is MsgType.ADVANCE:
        _need(p, 8, n)
        return Advance(struct.unpack(">Q", p)[0] / 1e6, span)
    if t is MsgType.TIME:
        _need(p, 8, n)
        return Time(struct.unpack(">Q", p)[0] / 1e6, span)
    if t is MsgType.CAPS_QUERY:
        _need(p, 0, n)
        return CapsQuery(span)
    if t is MsgType.CAPABILITIES:
        # count, then count masks; a newer card may append octets after them (ignored)
        _need(p, 1, n, exact=False)
        _need(p, 1 + 4 * p[0], n, exact=False)
        return Capabilities(struct.unpack_from(f">{p[0]}I", p, 1), span)
    if t is MsgType.OWNER:
        _need(p, 8, n)
        return Owner(struct.unpack(">Q", p)[0], span)
    if t is MsgType.ECHO_SET:
        _need(p, 2, n)
        return EchoSet(span, p[0], p[1])
    if t is MsgType.FAULT:
        _need(p, 9, n)
        fid, value = struct.unpack(">Bd", p)
        return FaultMsg(span, fid, value)
    raise WireProtocolError(f"no decoder for {t.name}")  # pragma: no cover


def decode(data: bytes) -> Message:
    """Exactly one whole message; WireProtocolError for anything else (truncated, garbage...)."""
    dec = Decoder()
    items = dec.feed(data)
    if dec.buffered:
        raise WireProtocolError(f"truncated message: {dec.buffered} octets left over")
    if len(items) != 1:
        raise WireProtocolError(f"expected one message, got {len(items)}")
    item = items[0]
    if isinstance(item, BadMessage):
        raise item.error
    return item


class Decoder:
    """Incremental decoder: ``feed(chunk)`` returns messages and :class:`BadMessage` records."""

    def __init__(self, version: int = VERSION) -> None:
        #: version accepted in headers (the negotiated one once HELLO is done)
        self.version = version
        self._buf = bytearray()
        self.bad = 0

    @property
    def buffered(self) -> int:
        """Octets of an incomplete message waiting for more input."""
        return len(self._buf)

    def _plausible(self, i: int) -> bool | None:
        """Is there a header at ``i``? None when more octets are needed to tell."""
        buf = self._buf
        if buf[i] != MAGIC:
            return False
        if len(buf) - i < 3:
            return None
        # stricter than the main loop: after garbage, resync only on a known type
        return MIN_VERSION <= buf[i + 1] <= max(MAX_VERSION, self.version) and buf[i + 2] in _KNOWN

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message | BadMessage]:
        self._buf += data
        out: list[Message | BadMessage] = []
        buf = self._buf
        with memoryview(buf) as view:     # payloads copied out once, the buffer trimmed after
            pos = self._messages(buf, view, out)
        del buf[:pos]
        return out

    def _messages(self, buf: bytearray, view: memoryview, out: list[Message | BadMessage]) -> int:
        pos = 0
        audio, head, unpack_audio = int(MsgType.AUDIO), HEADER.unpack_from, _AUDIO_HEAD.unpack_from
        while True:
            avail = len(buf) - pos
            if avail == 0:
                break
            if buf[pos] != MAGIC or (avail >= 2 and not 1 <= buf[pos + 1] <= 15):
                # garbage: skip to the next plausible header
                j = pos + 1
                while True:
                    j = buf.find(_MAGIC_BYTE, j)
                    if j < 0:
                        j = len(buf)
                        break
                    if self._plausible(j) is not False:
                        break
                    j += 1
                out.append(self._bad(WireProtocolError(
                    f"{j - pos} octets of garbage skipped (no 0x{MAGIC:02X} header)"),
                    ErrorCode.GARBAGE, octets=j - pos))
                pos = j
                continue
            if avail < HEADER_SIZE:
                break
            _, version, mtype, span, length = head(buf, pos)
            if avail < HEADER_SIZE + length:
                break
            if mtype == audio and version == self.version and length >= 10:
                # the stream's bulk, 50 a second per span: decoded here, one copy of the octets
                seq, mask, per = unpack_audio(buf, pos + HEADER_SIZE)
                tss = mask_ts(mask)
                if length == 10 + per * len(tss):
                    out.append(Audio(span, seq, tss, bytes(view[pos + HEADER_SIZE + 10:pos + HEADER_SIZE + length])))
                    pos += HEADER_SIZE + length
                    continue
            payload = bytes(view[pos + HEADER_SIZE:pos + HEADER_SIZE + length])
            pos += HEADER_SIZE + length
            if version != self.version and mtype not in (MsgType.HELLO, MsgType.HELLO_ACK, MsgType.ERROR):
                out.append(self._bad(WireProtocolError(
                    f"message version {version}, this link speaks {self.version}"),
                    ErrorCode.BAD_VERSION, mtype, span, length))
                continue
            try:
                out.append(decode_payload(mtype, span, payload))
            except WireProtocolError as exc:
                code = ErrorCode.UNKNOWN_TYPE if mtype not in _KNOWN else ErrorCode.MALFORMED
                out.append(self._bad(exc, code, mtype, span, length))
        return pos

    def _bad(self, exc: WireProtocolError, code: ErrorCode, mtype: int = 0, span: int = BOARD,
             octets: int = 0) -> BadMessage:
        self.bad += 1
        return BadMessage(exc, code, mtype, span, octets)


_KNOWN = frozenset(int(t) for t in MsgType)
_MAGIC_BYTE = bytes((MAGIC,))

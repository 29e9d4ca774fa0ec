"""The bus schema: event envelope, request types and their parsing, errors, version.

Requests are frozen dataclasses registered by name (``register_request``), so new command
types (agent state, queues, IVR, recording) join without touching the dispatcher.
``schema()`` renders events, requests and errors as one JSON-able document; the copy in
docs/schema/bus-schema.json is regenerated with ``python3 -m cti.bus.schema`` and a test
checks it matches the code.

Versioning (docs/bus.md): ``v`` in every event is the schema's *major* version; within a
major version fields are only added (with defaults, at the end), never removed, renamed or
retyped; unknown request fields are ignored and unknown event fields must be ignored by
clients, so old and new peers interoperate. Anything else bumps the major version.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from typing import Any, TypeVar
from collections.abc import Callable

from cti.call.errors import InvalidParameterError
from cti.call.events import EVENT_TYPES

from .errors import ERRORS, MalformedRequestError, UnknownRequestError
from .events import BUS_EVENTS

SCHEMA_MAJOR = 1
SCHEMA_MINOR = 0

#: Fields every published event carries, besides its own (the bus adds them).
ENVELOPE: dict[str, str] = {
    "seq": "int: gap-free per server, starts at 1, continues across restarts, never reused; "
           "a JournalGap event declares the seqs an unclean stop took out of the journal",
    "time": "float: server wall clock (Unix seconds) at publication",
    "type": "str: the event type (a key of 'events')",
    "v": "int: schema major version",
    "topic": "str: the PUB topic: call.<span>.<ts> | span.<n> | agent.<id> | queue.<name> | server.<what>",
    "epoch": "str: the journal's epoch, made once with the journal; a new value means the journal was "
             "lost or replaced (seqs start again): resync by snapshot",
}


R = TypeVar("R", bound=type)
REQUESTS: dict[str, type] = {}


def register_request(cls: R) -> R:
    """Class decorator: make ``cls`` a request type the command socket accepts."""
    REQUESTS[cls.__name__] = cls
    return cls


@register_request
@dataclass(frozen=True, slots=True)
class MakeCall:
    """Call ``called`` from ``device`` over a free trunk circuit (of ``trunk`` signalling: no1/ss7)."""

    device: str
    called: str
    calling: str | None = None
    trunk: str | None = None
    RESULT = ("call", "span", "ts")


@register_request
@dataclass(frozen=True, slots=True)
class AnswerCall:
    """Answer the alerting incoming ``call`` at its local device."""

    call: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class ClearConnection:
    """``device`` (default: the call's local device) leaves ``call``; rejects it if unanswered."""

    call: str
    device: str | None = None
    cause: int = 16
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class HoldCall:
    """Put the connected ``call`` on hold."""

    call: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class RetrieveCall:
    """Take the held ``call`` back."""

    call: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class ConsultationCall:
    """Hold ``call`` and call ``called`` from the same device; the result names the new call."""

    call: str
    called: str
    device: str | None = None
    RESULT = ("call", "held_call", "span", "ts")


@register_request
@dataclass(frozen=True, slots=True)
class TransferCall:
    """Join the far parties of ``held_call`` and ``active_call``; the device leaves both."""

    held_call: str
    active_call: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class SingleStepTransfer:
    """Send the far party of ``call`` to ``to`` over a new trunk call; the device leaves."""

    call: str
    to: str
    device: str | None = None
    RESULT = ("call", "span", "ts")


@register_request
@dataclass(frozen=True, slots=True)
class ConferenceCall:
    """Join the held call and the active call of the device into one conference."""

    held_call: str
    active_call: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class SendDigits:
    """Send DTMF ``digits`` in-band to the far party of the connected ``call``."""

    call: str
    digits: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class AlternateCall:
    """The device holds ``active_call`` and takes ``held_call`` back (CSTA AlternateCall)."""

    held_call: str
    active_call: str
    device: str | None = None
    RESULT = ("call", "held_call")


@register_request
@dataclass(frozen=True, slots=True)
class ReconnectCall:
    """The device leaves ``active_call`` (a consultation) and takes ``held_call`` back."""

    held_call: str
    active_call: str
    device: str | None = None
    RESULT = ("call",)


@register_request
@dataclass(frozen=True, slots=True)
class DeflectCall:
    """The call ringing at ``device`` goes on to our device ``to`` (Diverted, then Delivered there)."""

    call: str
    to: str
    device: str | None = None
    RESULT = ("call", "device")


@register_request
@dataclass(frozen=True, slots=True)
class PickupCall:
    """``device`` answers a call ringing at another device of its pickup ``group`` (or the given ``call``)."""

    device: str
    call: str | None = None
    group: str | None = None
    RESULT = ("call", "device")


@register_request
@dataclass(frozen=True, slots=True)
class AttachUserData:
    """Add keys to ``call``'s user data (a map of small strings; a key it has already is refused)."""

    call: str
    data: dict[str, str]
    device: str | None = None
    RESULT = ("call", "user_data")


@register_request
@dataclass(frozen=True, slots=True)
class UpdateUserData:
    """Set keys of ``call``'s user data (added or replaced)."""

    call: str
    data: dict[str, str]
    device: str | None = None
    RESULT = ("call", "user_data")


@register_request
@dataclass(frozen=True, slots=True)
class DeleteUserData:
    """Remove ``keys`` (every key when omitted) from ``call``'s user data."""

    call: str
    keys: list[str] | None = None
    device: str | None = None
    RESULT = ("call", "user_data")


#: the bus's own request types (what docs/schema/bus-schema.json lists); types other packages
#: register later (the contact centre's) are served too, and documented in their own schema file
CORE_REQUESTS: frozenset[str] = frozenset(REQUESTS)

_TYPES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "dict[str, str]": lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),   # values: the service checks
}


def _accepts(annotation: str, value: Any) -> bool:
    for alt in (a.strip() for a in str(annotation).split("|")):
        if alt == "None" and value is None:
            return True
        check = _TYPES.get(alt)
        if check is not None and check(value):
            return True
    return False


def parse_request(msg: Any) -> tuple[str, Any]:
    """``(type, request object)`` from a decoded request map; typed errors on anything wrong."""
    if not isinstance(msg, dict):
        raise MalformedRequestError(f"a request is a msgpack map, not {type(msg).__name__}")
    kind = msg.get("type")
    cls = REQUESTS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownRequestError(f"unknown request type {kind!r}; known: {', '.join(sorted(REQUESTS))}",
                                  type=kind if isinstance(kind, (str, int)) else None)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in msg:
            value = msg[f.name]
            if not _accepts(str(f.type), value):
                raise InvalidParameterError(f"{kind}.{f.name} must be {f.type}, not {type(value).__name__}",
                                            field=f.name)
            kwargs[f.name] = value
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidParameterError(f"{kind} needs field {f.name!r}", field=f.name)
    return str(kind), cls(**kwargs)


def fields_doc(cls: type) -> dict[str, dict[str, Any]]:
    """A dataclass's fields as schema data: type, and default or ``required``."""
    out = {}
    for f in dataclasses.fields(cls):
        d: dict[str, Any] = {"type": str(f.type)}
        if f.default is not dataclasses.MISSING:
            d["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            d["default"] = f.default_factory()
        else:
            d["required"] = True
        out[f.name] = d
    return out


def event_doc(cls: Any) -> dict[str, Any]:
    """One event type's schema entry."""
    return {"topic": cls.TOPIC + ".*", "doc": (cls.__doc__ or "").strip(), "fields": fields_doc(cls)}


def request_doc(cls: type) -> dict[str, Any]:
    """One request type's schema entry."""
    return {"doc": (cls.__doc__ or "").strip(), "fields": fields_doc(cls),
            "result": list(getattr(cls, "RESULT", ()))}


def schema() -> dict[str, Any]:
    """The whole bus schema as data (what docs/schema/bus-schema.json holds)."""
    return {
        "version": f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}",
        "envelope": ENVELOPE,
        "events": {name: event_doc(cls) for name, cls in sorted({**EVENT_TYPES, **BUS_EVENTS}.items())},
        "requests": {name: request_doc(cls) for name, cls in sorted(REQUESTS.items()) if name in CORE_REQUESTS},
        "request_envelope": {"type": "str: the request type",
                             "id": "int | str (up to 256 characters): echoed in the reply; any other type is "
                                   "refused (InvalidParameterError); the same field on the snapshot socket",
                             "invoke": "int | str: the first protocol's name for id (read when id is absent)"},
        "reply": {"id": "the request's id (null if it could not be read)", "invoke": "the same (first protocol)",
                  "epoch": "str: the journal's epoch (as in events)",
                  "result": "map (on success)", "error": "map {code, message, details} (on failure)"},
        "errors": {code: (cls.__doc__ or "").strip() for code, cls in sorted(ERRORS.items())},
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python3 -m cti.bus.schema > docs/schema/bus-schema.json
    sys.stdout.write(render())

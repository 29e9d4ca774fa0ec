"""The published schema file matches the code; requests parse with typed errors."""
from __future__ import annotations

import json
import pathlib

import pytest

from cti.bus import schema as s
from cti.bus.errors import ERRORS, BusError, MalformedRequestError, UnknownRequestError
from cti.call.errors import CallControlError, InvalidParameterError
from cti.bus.events import BUS_EVENTS
from cti.call.events import EVENT_TYPES

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "schema" / "bus-schema.json"


def test_schema_file_matches_code():
    on_disk = json.loads(DOC.read_text())
    assert on_disk == json.loads(s.render()), \
        "docs/schema/bus-schema.json is stale: python3 -m cti.bus.schema > docs/schema/bus-schema.json"


def test_every_event_and_request_is_documented():
    sch = s.schema()
    assert set(sch["events"]) == set(EVENT_TYPES) | set(BUS_EVENTS)
    assert sch["events"]["JournalGap"]["topic"] == "server.*" and "first" in sch["events"]["JournalGap"]["fields"]
    for name in ("MakeCall", "AnswerCall", "ClearConnection", "HoldCall", "RetrieveCall", "ConsultationCall",
                 "TransferCall", "SingleStepTransfer", "ConferenceCall", "SendDigits"):
        assert sch["requests"][name]["doc"] and sch["requests"][name]["result"]
    for name in ("Offered", "Delivered", "Established", "Held", "Retrieved", "Transferred", "Conferenced",
                 "DigitsDialed", "ConnectionCleared", "CallCleared", "Failed"):
        assert sch["events"][name]["doc"]
        assert {"call", "device", "state", "calling", "called", "span", "ts", "cause"} <= set(sch["events"][name]["fields"])


def test_new_fields_have_defaults_within_major_version():
    # the evolution rule: only the original required fields may lack a default
    required = {n: [f for f, d in e["fields"].items() if d.get("required")] for n, e in s.schema()["events"].items()}
    for n, fields in required.items():
        # JournalGap came as a new event type (schema 1.0 + additions): its range is its substance
        assert set(fields) <= {"call", "device", "state", "span", "available", "total", "node",
                               "first", "last"}, (n, fields)


def test_parse_request_typed_errors():
    assert s.parse_request({"type": "HoldCall", "call": "1", "extra": 5})[1] == s.HoldCall("1")
    with pytest.raises(UnknownRequestError):
        s.parse_request({"type": "Explode"})
    with pytest.raises(UnknownRequestError):
        s.parse_request({"call": "1"})
    with pytest.raises(InvalidParameterError, match="needs field 'call'"):
        s.parse_request({"type": "AnswerCall"})
    with pytest.raises(InvalidParameterError, match="must be str"):
        s.parse_request({"type": "AnswerCall", "call": 5})
    with pytest.raises(InvalidParameterError):
        s.parse_request({"type": "ClearConnection", "call": "1", "cause": True})
    with pytest.raises(MalformedRequestError, match="map"):       # as documented: not a map
        s.parse_request(["MakeCall"])


def test_bus_errors_are_the_bus_own_with_stable_wire_codes():
    """The bus's errors live in cti.bus.errors; their codes (what clients switch on) are the
    class names they always had, and every one is still a CallControlError."""
    for code in ("MalformedRequestError", "UnknownRequestError", "RateLimitedError", "ReplayGapError"):
        cls = ERRORS[code]
        assert cls.__module__ == "cti.bus.errors" and issubclass(cls, BusError)
        assert issubclass(cls, CallControlError) and cls.code == code
    assert ERRORS["InvalidCallError"].__module__ == "cti.call.errors"     # the call model's stay there
    assert set(s.schema()["errors"]) == set(ERRORS)


def test_the_bus_schema_does_not_depend_on_what_else_registered_requests():
    """The contact centre registers its requests when installed; the bus schema file lists the
    bus's own whatever ran before (the contact schema file lists the others)."""
    before = s.render()
    from cti.contact.requests import register
    register()
    assert "AgentLogon" in s.REQUESTS and s.render() == before

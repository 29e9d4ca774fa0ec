"""The gateway's contract (docs/schema/gateway.schema.json, gateway-asyncapi.json, examples.md)
is what the code generates, is valid JSON Schema 2020-12 / AsyncAPI 3 structure, and every
example payload validates against its own definition."""
from __future__ import annotations

import json
import os

import pytest

from cti.bus.schema import REQUESTS
from cti.call.events import EVENT_TYPES
from cti.contact.events import CONTACT_EVENTS
from cti.gateway import contract
from cti.gateway.app import OPS
from cti.gateway.errors import GATEWAY_ERRORS

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (PyPI, the test extra) is not installed")

ROOT = os.path.join(os.path.dirname(__file__), "..", "docs", "schema")


@pytest.fixture(scope="module")
def schema() -> dict:
    return contract.json_schema()


def test_files_match_the_code() -> None:
    for name, text in contract.render().items():
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            assert f.read() == text, f"docs/schema/{name} is stale: python3 -m cti.gateway.contract docs/schema"


def test_schema_is_2020_12_and_covers_the_code(schema: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]
    for name in list(EVENT_TYPES) + list(CONTACT_EVENTS) + ["JournalGap"]:
        assert name in defs, f"event {name} has no schema"
    for name in REQUESTS:
        assert f"{name}Request" in defs and f"{name}Result" in defs
    for code in GATEWAY_ERRORS:
        assert code in defs
    for op in OPS:
        assert f"ws.client.{op}" in defs
    assert {"events", "reply", "overflow", "error", "hello", "snapshot"} <= {k[10:] for k in defs if k.startswith("ws.server.")}


def test_every_example_validates(schema: dict) -> None:
    n = 0
    for name, d in schema["$defs"].items():
        v = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})
        assert d.get("examples"), f"{name} has no example"
        for ex in d["examples"]:
            errs = [e.message for e in v.iter_errors(ex)]
            assert not errs, f"{name}: {errs}"
            n += 1
    assert n >= len(schema["$defs"])


def test_schema_rejects_what_the_code_would_not_send(schema: dict) -> None:
    ev = jsonschema.Draft202012Validator({"$ref": "#/$defs/Event", "$defs": schema["$defs"]})
    good = dict(schema["$defs"]["Delivered"]["examples"][0])
    assert ev.is_valid(good)
    assert not ev.is_valid({k: v for k, v in good.items() if k != "call"})       # a required field
    assert not ev.is_valid(dict(good, seq="12"))                                  # envelope type
    assert not ev.is_valid(dict(good, topic="agent.alice"))                       # topic of its kind
    rq = jsonschema.Draft202012Validator({"$ref": "#/$defs/Request", "$defs": schema["$defs"]})
    assert rq.is_valid({"type": "AnswerCall", "call": "17"})
    assert not rq.is_valid({"type": "AnswerCall"})
    assert not rq.is_valid({"type": "NoSuchRequest"})
    er = jsonschema.Draft202012Validator({"$ref": "#/$defs/Error", "$defs": schema["$defs"]})
    assert not er.is_valid({"code": "Whatever", "message": "", "details": {}})


def test_asyncapi_refers_to_existing_schemas(schema: dict) -> None:
    doc = contract.asyncapi(schema)
    assert doc["asyncapi"].startswith("3.")
    msgs = doc["components"]["messages"]
    assert len(msgs) == len(contract.ws_messages()[0]) + len(contract.ws_messages()[1])
    for m in msgs.values():
        ref = m["payload"]["schema"]["$ref"]
        assert ref.startswith("gateway.schema.json#/$defs/") and ref.split("/")[-1] in schema["$defs"]
        assert m["payload"]["schemaFormat"].endswith("draft-2020-12")
    for op in doc["operations"].values():
        assert op["action"] in ("send", "receive")
        for r in op["messages"]:
            assert r["$ref"].split("/")[-1] in doc["channels"]["ws"]["messages"]


def test_annotation_mapping() -> None:
    assert contract.annotation_schema("str | None") == {"type": ["string", "null"]}
    assert contract.annotation_schema("list[str] | None") == {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                                                         {"type": "null"}]}
    assert contract.annotation_schema("dict[str, str]") == {"type": "object", "additionalProperties": {"type": "string"}}
    assert json.dumps(contract.annotation_schema("dict[str, Any]")) == '{"type": "object", "additionalProperties": {}}'

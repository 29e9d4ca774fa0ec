"""The gateway's contract, generated from the code: JSON Schema 2020-12 and AsyncAPI 3.

Sources: the bus schema (:func:`cti.bus.schema.schema`: call events, bus events, call-control
requests, errors) and the contact-centre schema (:func:`cti.contact.schema.schema`), plus the
gateway's own WebSocket messages (:data:`WS_CLIENT`, :data:`WS_SERVER`, written here beside
the code that handles them, :mod:`cti.gateway.app`). Regenerate the files with::

    python3 -m cti.gateway.contract docs/schema

which writes ``gateway.schema.json`` (every event, request, result, error and WebSocket
message under ``$defs``, each with an example), ``gateway-asyncapi.json`` (the ``/ws``
channel, its send/receive operations and messages referring to those schemas) and
``examples.md`` (one example payload per definition). tests/test_gateway_contract.py fails when
the files differ from what the code generates, and validates every example.
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from cti.bus import schema as bus_schema
from cti.contact import schema as contact_schema

from .errors import GATEWAY_ERRORS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:e1cti:gateway:schema"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"

#: sample values by field name, for the examples
SAMPLES: dict[str, Any] = {
    "call": "17", "held_call": "16", "active_call": "17", "device": "2001", "agent": "alice", "queue": "sales",
    "calling": "13800138000", "called": "4000", "span": 0, "ts": 5, "signalling": "no1", "direction": "in",
    "state": "connected", "cause": 16, "devices": ["2001"], "team": "blue", "reason": "", "phase": "talking",
    "digits": "1234", "to": "2002", "mode": "monitor", "route": "r1", "campaign": "spring", "number": "13900001111",
    "prompt": "welcome.wav", "path": "recordings/2026-12-07/17.wav", "node": "cti", "version": "1", "first": 101,
    "last": 120, "available": 30, "total": 30, "user_data": {"account": "A-1001"}, "data": {"notes": "called back"},
    "keys": ["notes"], "group": "sales", "menu": "main", "outcome": "answered", "source": "signalling",
    "old_calls": ["16", "17"], "parties": ["trunk/0/5", "trunk/0/6"], "sent": False, "alarms": [],
    "figures": {"waiting": 2, "longest_wait": 31.5, "service_level": 87.5, "abandon_rate": 4.2},
    "agents": {"alice": {"state": "Ready"}}, "summary": {"answered": 3}, "heard": ["ringback"],
    "agent_states": {"Ready": 3, "Busy": 5, "NotReady": 1},
    "status": {"dialled": 420, "connects": 96, "answered": 90, "abandoned": 2, "abandon_rate": 0.0222,
               "target": 0.03, "dialling": 6, "waiting_agent": 1, "pending": 1580},
    "old_span": 0, "old_ts": 4, "old_device": "trunk/0/4", "attempt": 2, "max_digits": 4, "seconds": 12.5,
}


def annotation_schema(annotation: str) -> dict[str, Any]:
    """JSON Schema of a field annotation as the bus schema writes it (``str | None``, ``list[str]``...)."""
    alts = [a.strip() for a in _split_union(annotation)]
    schemas = [_one(a) for a in alts]
    if len(schemas) == 1:
        return schemas[0]
    types = [s.get("type") for s in schemas]
    if all(isinstance(t, str) for t in types) and all(len(s) == 1 for s in schemas):
        return {"type": types}
    return {"anyOf": schemas}


def _split_union(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "|" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _one(a: str) -> dict[str, Any]:
    simple = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "None": "null"}
    if a in simple:
        return {"type": simple[a]}
    if a == "Any":
        return {}
    m = re.fullmatch(r"(?:list|tuple)\[(.+?)(?:, \.\.\.)?\]", a)
    if m:
        return {"type": "array", "items": annotation_schema(m.group(1))}
    m = re.fullmatch(r"dict\[str, (.+)\]", a)
    if m:
        return {"type": "object", "additionalProperties": annotation_schema(m.group(1))}
    return {}


def _sample(name: str, s: dict[str, Any]) -> Any:
    if name in SAMPLES:
        return SAMPLES[name]
    t = s.get("type")
    t = t[0] if isinstance(t, list) else t
    samples: dict[str, Any] = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "array": [],
                               "object": {}, "null": None}
    return samples.get(str(t), "x")


def _fields(fields: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    props: dict[str, Any] = {}
    required: list[str] = []
    example: dict[str, Any] = {}
    for name, f in fields.items():
        s = annotation_schema(str(f["type"]))
        if "default" in f:
            s = {**s, "default": f["default"]}
        else:
            required.append(name)
        props[name] = s
        example[name] = _sample(name, s) if "default" not in f or name in SAMPLES else f["default"]
    return props, required, example


def _ok(example: Any, schema: dict[str, Any]) -> Any:
    """``example`` made to fit ``schema``'s field types where a sample did not (None for a str field...)."""
    for name, s in schema.get("properties", {}).items():
        v = example.get(name)
        t = s.get("type")
        if t is None or name not in example:
            continue
        want = t if isinstance(t, list) else [t]
        kinds: dict[str, Any] = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
                 "object": dict, "null": type(None)}
        if not any(isinstance(v, kinds[w]) and not (w in ("integer", "number") and isinstance(v, bool))
                   for w in want if w in kinds):
            example[name] = _sample("", {"type": [w for w in want if w != "null"] or want})
    return example


def _event_def(name: str, doc: dict[str, Any], envelope_props: dict[str, Any]) -> dict[str, Any]:
    props, required, example = _fields(doc["fields"])
    prefix = doc["topic"].split(".")[0]
    topic = {"type": "string", "pattern": f"^{re.escape(prefix)}(\\.|$)"}
    schema = {"title": name, "description": doc["doc"], "type": "object",
              "properties": {**envelope_props, "type": {"const": name}, "topic": topic, **props},
              "required": ["seq", "time", "type", "v", "topic", *required]}
    ex = {"seq": 1042, "time": 1796608235.604, "type": name, "v": 1,
          "topic": f"{prefix}.{_topic_tail(prefix)}", **example}
    schema["examples"] = [_ok(ex, schema)]
    return schema


def _topic_tail(prefix: str) -> str:
    return {"call": "0.5", "span": "0", "agent": "alice", "queue": "sales", "server": "started", "ivr": "17",
            "recording": "17", "campaign": "spring"}.get(prefix, "x")


def _request_def(name: str, doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    props, required, example = _fields(doc["fields"])
    req = {"title": name, "description": doc["doc"], "type": "object",
           "properties": {"type": {"const": name}, **props}, "required": ["type", *required]}
    req["examples"] = [_ok({"type": name, **{k: v for k, v in example.items() if k in required or k in SAMPLES}},
                           req)]
    result_fields = list(doc.get("result", []))
    res = {"title": f"{name} result", "description": f"The result map of a successful {name}.", "type": "object",
           "properties": {f: {} for f in result_fields}, "required": result_fields}
    res["examples"] = [{f: SAMPLES.get(f, "x") for f in result_fields}]
    return req, res


def ws_messages() -> tuple[dict[str, Any], dict[str, Any]]:
    """The gateway's own WebSocket messages: (client -> gateway, gateway -> client) schemas by name."""
    rid = {"type": ["integer", "string", "null"], "description": "echoed in the answer"}
    seq = {"type": "integer", "minimum": 0}
    err = {"$ref": "#/$defs/Error"}
    acct = {"type": ["object", "null"], "properties": {"name": {"type": "string"}, "role": {"enum": ["agent", "supervisor", "integrator"]},
                                                       "device": {"type": ["string", "null"]}, "team": {"type": ["string", "null"]}}}

    def msg(op: str, doc: str, props: dict[str, Any], required: list[str], example: dict[str, Any]) -> dict[str, Any]:
        return {"title": op, "description": doc, "type": "object",
                "properties": {"op": {"const": op}, **props}, "required": ["op", *required],
                "examples": [{"op": op, **example}]}

    client = {
        "auth": msg("auth", "Authenticate with a bearer token (cti-keys token NAME); not needed in plain mode or "
                    "when the upgrade request carried Authorization: Bearer.",
                    {"id": rid, "token": {"type": "string"}}, ["token"], {"id": 1, "token": "v1.eyJzdWIi....Zk3"}),
        "subscribe": msg("subscribe", "Stream the events this account may see whose topic starts with one of "
                         "`topics`: after seq `after` (resume: replay, then live, no gap, no duplicate), or "
                         "after a fresh snapshot (`snapshot: true`: the snapshot, then every event after its seq), "
                         "or from now. Replaces an earlier subscription of the connection.",
                         {"id": rid, "topics": {"type": "array", "items": {"type": "string", "maxLength": 200},
                                                "maxItems": 64},
                          "after": seq, "snapshot": {"type": "boolean"}}, [],
                         {"id": 2, "topics": ["call.", "agent.alice"], "after": 1041}),
        "unsubscribe": msg("unsubscribe", "Stop the event stream.", {"id": rid}, [], {"id": 3}),
        "request": msg("request", "Any request of the bus (call control, contact centre); the answer is a `reply` "
                       "with the same id. At most 256 unanswered requests per connection (more get "
                       "RateLimitedError replies).",
                       {"id": {"type": ["integer", "string"]}, "request": {"$ref": "#/$defs/Request"}}, ["id", "request"],
                       {"id": 4, "request": {"type": "AnswerCall", "call": "17", "device": "2001"}}),
        "snapshot": msg("snapshot", "The state now, as this account may see it.", {"id": rid}, [], {"id": 5}),
        "ping": msg("ping", "Liveness; the answer carries the gateway's head seq.", {"id": rid}, [], {"id": 6}),
    }
    server = {
        "hello": msg("hello", "First message on every connection.",
                     {"version": {"type": "string"}, "mode": {"enum": ["plain", "token"]}, "head": seq,
                      "max_frame": {"type": "integer"}, "account": acct},
                     ["version", "mode", "head", "max_frame"],
                     {"version": "1.0", "mode": "token", "head": 1041, "max_frame": 65536, "account": None}),
        "authenticated": msg("authenticated", "The token is good: the account acting on this connection.",
                             {"id": rid, "account": acct}, ["account"],
                             {"id": 1, "account": {"name": "alice", "role": "agent", "device": "2001", "team": "blue"}}),
        "snapshot": {"title": "snapshot", "description": "The state right after event `seq` (sections as the bus "
                     "serves them: calls, spans, agents, queues, media...).", "type": "object",
                     "properties": {"op": {"const": "snapshot"}, "id": rid, "seq": seq, "node": {"type": "string"},
                                    "v": {"type": "integer"}, "calls": {"type": "array"}, "spans": {"type": "array"}},
                     "required": ["op", "seq"],
                     "examples": [{"op": "snapshot", "id": 2, "seq": 1041, "node": "cti", "v": 1, "calls": [],
                                   "spans": [], "agents": [], "queues": []}]},
        "subscribed": msg("subscribed", "The subscription starts after seq `after`; events follow.",
                          {"id": rid, "after": seq, "head": seq, "topics": {"type": "array", "items": {"type": "string"}}},
                          ["after", "head", "topics"], {"id": 2, "after": 1041, "head": 1050, "topics": ["call."]}),
        "unsubscribed": msg("unsubscribed", "The event stream stopped.", {"id": rid}, [], {"id": 3}),
        "events": msg("events", "Events in seq order, never twice; `last` is the last seq covered (events this "
                      "account may not see are skipped): resume after it. The batch header comes first, in this "
                      "order (`op`, `first`, `last`, `count`, `oldest`, `sent`, then `events`), so a client can "
                      "check continuity and latency without parsing the events: `first` is the seq of the first "
                      "event, `count` the number of events, `oldest` the bus's `time` stamp of the first (oldest) "
                      "one, `sent` when the gateway made the frame, just before writing it to its subscribers. "
                      "Compressed (permessage-deflate), the header up to `events` is a stored DEFLATE block at "
                      "the start of the payload (octet 00, LEN, NLEN, the header as it is): readable at offset 5 "
                      "without inflating.",
                      {"first": {**seq, "description": "seq of the first event of `events`"},
                       "last": {**seq, "description": "the last seq covered: resume after it"},
                       "count": {"type": "integer", "minimum": 1, "description": "events in `events`"},
                       "oldest": {"type": "number", "description": "the bus's `time` stamp of the first event "
                                  "(Unix seconds): receipt minus it bounds every event's delivery latency"},
                       "sent": {"type": "number", "description": "when the gateway made this frame (Unix seconds), "
                                "just before writing it: `sent` minus `oldest` is the time inside the gateway, "
                                "receipt minus `sent` the fan-out's and the network's"},
                       "events": {"type": "array", "items": {"$ref": "#/$defs/Event"}, "minItems": 1}},
                      ["first", "last", "count", "events"],
                      {"first": 1042, "last": 1042, "count": 1, "oldest": 1796608235.604, "sent": 1796608235.6152,
                       "events": [{"seq": 1042, "time": 1796608235.604, "type": "Delivered", "v": 1,
                                   "topic": "call.0.5", "call": "17", "device": "2001", "state": "alerting",
                                   "calling": "13800138000", "called": "4000", "span": 0, "ts": 5,
                                   "signalling": "no1", "direction": "in", "cause": 16, "devices": ["2001"],
                                   "user_data": {}}]}),
        "reply": {"title": "reply", "description": "The answer to a `request`: `result` or a typed `error`.",
                  "type": "object", "properties": {"op": {"const": "reply"}, "id": {"type": ["integer", "string"]},
                                                   "result": {"type": "object"}, "error": err},
                  "required": ["op", "id"], "oneOf": [{"required": ["result"]}, {"required": ["error"]}],
                  "examples": [{"op": "reply", "id": 4, "result": {"call": "17"}},
                               {"op": "reply", "id": 4, "error": {"code": "InvalidStateError", "message":
                                "connection state alerting does not allow hold", "details": {}}}]},
        "overflow": msg("overflow", "This connection read too slowly and its queue overflowed: the events from "
                        "`first` were not sent live; they are replayed right after this message (then live again).",
                        {"first": seq, "last": seq, "reason": {"type": "string"}}, ["first", "last"],
                        {"first": 2001, "last": 2950, "reason": "your queue exceeded 4194304 octets"}),
        "gap": msg("gap", "Seqs the bus lost without declaring them (a server that lost its journal): they will "
                   "never arrive. Declared gaps arrive as JournalGap events.",
                   {"first": seq, "last": seq, "declared": {"type": "boolean"}}, ["first", "last", "declared"],
                   {"first": 90, "last": 95, "declared": False}),
        "pong": msg("pong", "Answer to ping.", {"id": rid, "head": seq}, ["head"], {"id": 6, "head": 1050}),
        "error": msg("error", "A message that could not be served (malformed JSON, unknown op, bad field, no "
                     "token...); `id` is the message's id when it could be read.", {"id": rid, "error": err},
                     ["error"], {"id": None, "error": {"code": "MalformedRequestError",
                                                       "message": "not JSON: Expecting value", "details": {}}}),
    }
    return client, server


def json_schema() -> dict[str, Any]:
    """Every definition of the contract in one JSON Schema 2020-12 document."""
    bus, contact = bus_schema.schema(), contact_schema.schema()
    env = bus["envelope"]
    envelope_props = {
        "seq": {"type": "integer", "minimum": 1, "description": env["seq"]},
        "time": {"type": "number", "description": env["time"]},
        "v": {"type": "integer", "description": env["v"]},
    }
    defs: dict[str, Any] = {}
    clash = set(bus["events"]) & set(contact["events"]) | {     # (registered contact requests are in both)
        n for n in set(bus["requests"]) & set(contact["requests"]) if bus["requests"][n] != contact["requests"][n]}
    if clash:      # one type name must mean one thing, or a client cannot tell which schema applies
        raise ValueError(f"the bus and the contact centre both define {sorted(clash)}")
    events = {**bus["events"], **contact["events"]}
    for name, doc in sorted(events.items()):
        defs[name] = _event_def(name, doc, envelope_props)
    defs["Event"] = {"description": "Any event: the type names its definition. Clients ignore unknown types "
                     "and fields (docs/bus.md, versioning).", "type": "object",
                     "properties": {**envelope_props, "type": {"type": "string"}, "topic": {"type": "string"}},
                     "required": ["seq", "time", "type", "v", "topic"],
                     "allOf": [{"if": {"properties": {"type": {"const": n}}, "required": ["type"]},
                                "then": {"$ref": f"#/$defs/{n}"}} for n in sorted(events)]}
    defs["Event"]["examples"] = defs["Delivered"]["examples"]
    requests = {**bus["requests"], **contact["requests"]}
    for name, doc in sorted(requests.items()):
        defs[f"{name}Request"], defs[f"{name}Result"] = _request_def(name, doc)
    defs["Request"] = {"description": "Any request: `type` names it.", "type": "object",
                       "properties": {"type": {"enum": sorted(requests)}}, "required": ["type"],
                       "allOf": [{"if": {"properties": {"type": {"const": n}}, "required": ["type"]},
                                  "then": {"$ref": f"#/$defs/{n}Request"}} for n in sorted(requests)]}
    defs["Request"]["examples"] = defs["AnswerCallRequest"]["examples"]
    codes = sorted(GATEWAY_ERRORS)
    defs["Error"] = {"description": "A typed error: `code` is stable, `message` is for people, `details` "
                     "names the field, account, devices... concerned.", "type": "object",
                     "properties": {"code": {"enum": codes}, "message": {"type": "string"},
                                    "details": {"type": "object"}},
                     "required": ["code", "message", "details"],
                     "examples": [{"code": "PrivilegeViolationError", "message": "account alice (agent) may not "
                                   "AnswerCall for device(s) 2002", "details": {"account": "alice"}}]}
    for code in codes:
        doc = (GATEWAY_ERRORS[code].__doc__ or "").strip()
        defs[code] = {"description": doc, "allOf": [{"$ref": "#/$defs/Error"}],
                      "properties": {"code": {"const": code}},
                      "examples": [{"code": code, "message": doc.split("\n")[0][:80], "details": {}}]}
    client, server = ws_messages()
    for op, s in client.items():
        defs[f"ws.client.{op}"] = s
    for op, s in server.items():
        defs[f"ws.server.{op}"] = s
    return {"$schema": DIALECT, "$id": SCHEMA_ID, "title": "e1cti gateway and bus contract",
            "description": "Generated by `python3 -m cti.gateway.contract docs/schema` from cti/bus/schema.py, "
                           "cti/contact/schema.py and cti/gateway (do not edit by hand).",
            "version": bus["version"], "$defs": defs}


def asyncapi(schema: dict[str, Any]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the ``/ws`` channel; payloads refer to ``gateway.schema.json``."""
    client, server = ws_messages()
    messages: dict[str, Any] = {}
    for side, table in (("client", client), ("server", server)):
        for op, s in table.items():
            name = f"{side}.{op}"
            messages[name] = {"name": op, "title": op, "summary": s["description"], "contentType": "application/json",
                              "payload": {"schemaFormat": SCHEMA_FORMAT,
                                          "schema": {"$ref": f"gateway.schema.json#/$defs/ws.{side}.{op}"}},
                              "examples": [{"name": f"{op}-{i}", "payload": ex} for i, ex in enumerate(s["examples"])]}
    chan_msgs = {k.replace(".", "_"): {"$ref": f"#/components/messages/{k}"} for k in messages}
    operations = {}
    for k in messages:
        side, op = k.split(".")
        operations[f"{'send' if side == 'client' else 'receive'}_{op}"] = {
            "action": "send" if side == "client" else "receive",
            "channel": {"$ref": "#/channels/ws"},
            "summary": messages[k]["summary"].split(". ")[0],
            "messages": [{"$ref": f"#/channels/ws/messages/{k.replace('.', '_')}"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "e1cti gateway WebSocket protocol", "version": schema["version"],
                 "description": "JSON text frames between a browser (or any client) and cti-gateway. The "
                                "application sends the `send_*` messages and receives the `receive_*` ones. "
                                "Every event, request, result and error is defined in gateway.schema.json "
                                "(JSON Schema 2020-12). Generated from the code; see docs/gateway.md."},
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:8080", "protocol": "ws", "pathname": "/ws",
                              "description": "plain mode: loopback only, no token"},
                    "tls": {"host": "gateway.example:8443", "protocol": "wss", "pathname": "/ws",
                            "description": "token mode with TLS (cti-gateway --keys --cert --key)",
                            "security": [{"$ref": "#/components/securitySchemes/bearer"}]}},
        "channels": {"ws": {"address": "/ws", "title": "the gateway's WebSocket", "messages": chan_msgs}},
        "operations": operations,
        "components": {"messages": messages,
                       "securitySchemes": {"bearer": {"type": "httpApiKey", "name": "Authorization", "in": "header",
                                                      "description": "Authorization: Bearer <token from cti-keys "
                                                                     "token NAME>, or an `auth` message first"}}},
    }


def examples_markdown(schema: dict[str, Any]) -> str:
    """One example payload per definition, as Markdown."""
    out = ["# Example payloads", "",
           "Generated by `python3 -m cti.gateway.contract docs/schema` (one per definition of",
           "[gateway.schema.json](gateway.schema.json); tests validate each against its schema).", ""]
    for name, d in schema["$defs"].items():
        for ex in d.get("examples", [])[:1]:
            out += [f"## {name}", "", (d.get("description") or "").split("\n")[0], "",
                    "```json", json.dumps(ex, ensure_ascii=False, sort_keys=True), "```", ""]
    return "\n".join(out)


def render() -> dict[str, str]:
    """File name -> text, for docs/schema/."""
    s = json_schema()
    return {"gateway.schema.json": json.dumps(s, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
            "gateway-asyncapi.json": json.dumps(asyncapi(s), indent=1, sort_keys=True, ensure_ascii=False) + "\n",
            "examples.md": examples_markdown(s)}


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "docs/schema"
    for name, text in render().items():
        with open(os.path.join(target, name), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Garbage at the gateway: random tokens never verify and never raise anything but TokenError;
random WebSocket frames each get a typed answer and the connection keeps serving."""
from __future__ import annotations

import asyncio
import json
import random
import string
import time

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.bus.server import Limits
from cti.gateway import tokens
from cti.gateway.accounts import Accounts
from cti.gateway.app import Options
from cti.gateway.errors import GATEWAY_ERRORS
from cti.gateway.rig import BusThread, GatewayThread

SECRET = b"k" * 32
GOOD, _ = tokens.issue(SECRET, "alice", 3600)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
                 st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=80),
                          min_size=1, max_size=4).map(".".join),
                 st.integers(0, len(GOOD) - 1).map(lambda i: GOOD[:i] + chr(ord(GOOD[i]) ^ 1) + GOOD[i + 1:])))
@pytest.mark.system
def test_random_tokens_never_verify_and_fail_cleanly(text: str) -> None:
    if text == GOOD:
        return
    with pytest.raises(tokens.TokenError):
        tokens.verify(SECRET, text, set())


def test_a_good_token_verifies_until_it_expires_or_is_revoked() -> None:
    c = tokens.verify(SECRET, GOOD, set())
    assert c.account == "alice"
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify(SECRET, GOOD, set(), now=c.expires + 1)
    with pytest.raises(tokens.TokenError, match="revoked"):
        tokens.verify(SECRET, GOOD, {c.id})
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify(b"x" * 32, GOOD, set())


def _junk(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 2 ** 70, 1.5, float("1e308")])
    if kind == 1:
        return "".join(rng.choice(string.printable + "中文\u0000\uffff") for _ in range(rng.randrange(20)))
    if kind == 2:
        return rng.choice(["auth", "subscribe", "request", "snapshot", "ping", "unsubscribe", "x"])
    if kind == 3:
        return rng.randrange(-5, 10 ** 6)
    if kind == 4:
        return rng.choice(["AnswerCall", "MakeCall", "Nope", "", "SetAgentState"])
    if kind == 5:
        return [rng.choice(["call.", "", "agent."]) for _ in range(rng.randrange(3))]
    if kind == 6:
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["op", "id", "after", "topics", "snapshot", "request", "token", "type", "call", "device", "zz"]
    return {rng.choice(keys): _junk(rng, depth + 1) for _ in range(rng.randrange(6))}


def test_random_frames_get_typed_answers_and_the_connection_survives(tmp_path) -> None:
    bus = BusThread(str(tmp_path / "j.db"), limits=Limits(rate=1e6, burst=1e6),
                    setup=lambda b: b.register_command("AnswerCall", lambda a, r, t: {"call": r.call})).start()
    gw = GatewayThread(Accounts(bus.endpoints, timeout=2.0), Options()).start()
    rng = random.Random(14)
    frames = []
    for _ in range(400):
        obj = _junk(rng)
        text = json.dumps(obj) if rng.random() < 0.85 else json.dumps(obj)[: rng.randrange(1, 10)]
        frames.append(text)
    codes = set(GATEWAY_ERRORS)

    async def go() -> int:
        answered = 0
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            await ws.receive_json()
            for f in frames:
                await ws.send_str(f)
                await ws.send_str('{"op": "ping", "id": "probe"}')
                while True:                      # everything up to the probe's pong
                    m = await ws.receive_json(timeout=10)
                    if m.get("op") == "pong" and m.get("id") == "probe":
                        break
                    answered += 1
                    assert m["op"] in ("error", "reply", "pong", "subscribed", "snapshot", "events",
                                       "unsubscribed", "authenticated", "overflow"), m
                    if m["op"] == "error" or (m["op"] == "reply" and "error" in m):
                        assert m["error"]["code"] in codes and m["error"]["message"], m
            bus.publish([{"type": "X", "topic": "server.x"}])
            await ws.send_json({"op": "subscribe", "id": "s", "after": 0})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                m = await ws.receive_json(timeout=10)
                if m["op"] == "events" and any(e["type"] == "X" for e in m["events"]):
                    return answered
        raise AssertionError("no events after the junk")

    try:
        answered = asyncio.run(go())
        assert answered >= 300
    finally:
        gw.stop()
        bus.stop()

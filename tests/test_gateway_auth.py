"""Gateway security on a CURVE bus: bearer tokens (cti-keys token), the bus's accounts and rights,
wrong / forged / expired / revoked tokens, TLS."""
from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner

from cti.bus.auth import Security
from cti.bus.commands import _check
from cti.bus.server import Limits
from cti.cli.keys import generate_client, generate_server
from cti.cli.keys import main as keys_main
from cti.gateway import tokens
from cti.cli.gateway import main as gw_main
from cti.gateway.accounts import Accounts
from cti.gateway.app import Gateway
from cti.gateway.rig import BusThread, GatewayThread


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> str:
    d = str(tmp_path_factory.mktemp("keys"))
    generate_server(d)
    generate_client(d, "gateway", "integrator")
    generate_client(d, "alice", "agent", "2001", "blue")
    generate_client(d, "bob", "agent", "2002", "blue")
    generate_client(d, "sue", "supervisor", "3001", "blue")
    return d


def token(keys: str, name: str, ttl: float = 600, now: float | None = None) -> str:
    return tokens.issue(tokens.load_secret(keys, create=True), name, ttl, now)[0]


def answer(bus):
    def handler(account, req, _t):
        _check(bus, account, [req.device or ""], "AnswerCall")
        return {"call": req.call}
    bus.register_command("AnswerCall", handler)


@pytest.fixture
def rig(tmp_path, keys):
    bus = BusThread(str(tmp_path / "j.db"), Security.curve(keys), Limits(rate=1e6, burst=1e6), setup=answer).start()
    gw = GatewayThread(Accounts(bus.endpoints, keys, "gateway", timeout=3.0)).start()
    yield bus, gw
    gw.stop()
    bus.stop()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def test_tokens_are_required_and_bad_ones_refused_with_reasons(rig, keys, tmp_path):
    bus, gw = rig
    other = str(tmp_path / "other")
    forged = tokens.issue(tokens.load_secret(other, create=True), "alice", 600)[0]
    expired = token(keys, "alice", ttl=60, now=time.time() - 3600)
    nobody = token(keys, "mallory")
    cases = {None: "bearer token is required", "garbage": "malformed", forged: "signature",
             expired: "expired", nobody: "no longer exists", token(keys, "alice")[:-3] + "AAA": "signature"}

    async def go():
        async with aiohttp.ClientSession() as s:
            for t, why in cases.items():
                r = await s.get(gw.url + "/snapshot", headers=bearer(t) if t else {})
                body = await r.json()
                assert r.status == 401 and body["error"]["code"] == "AuthenticationError", (t, body)
                assert why in body["error"]["message"], (why, body)
                r = await s.post(gw.url + "/requests", json={"type": "AnswerCall", "call": "1"},
                                 headers=bearer(t) if t else {})
                assert r.status == 401
            # WebSocket: no token -> only "auth" is accepted; a bad token in the upgrade -> close 4001
            async with s.ws_connect(gw.url + "/ws") as ws:
                hello = await ws.receive_json()
                assert hello["mode"] == "token" and hello["account"] is None
                await ws.send_json({"op": "subscribe", "id": 1})
                m = await ws.receive_json()
                assert m["error"]["code"] == "AuthenticationError"
                await ws.send_json({"op": "auth", "id": 2, "token": expired})
                m = await ws.receive_json()
                assert m["id"] == 2 and "expired" in m["error"]["message"]
                await ws.send_json({"op": "auth", "id": 3, "token": token(keys, "alice")})
                m = await ws.receive_json()
                assert m == {"op": "authenticated", "id": 3,
                             "account": {"name": "alice", "role": "agent", "device": "2001", "team": "blue"}}
            async with s.ws_connect(gw.url + "/ws", headers=bearer(forged)) as ws:
                m = await ws.receive_json()
                assert m["error"]["code"] == "AuthenticationError"
                await ws.receive()
                assert ws.close_code == 4001
    run(go())
    assert gw.gateway.counters["auth_failed"] >= len(cases)


def test_each_account_sees_and_does_what_the_bus_allows(rig, keys):
    bus, gw = rig
    alice, sue = token(keys, "alice"), token(keys, "sue")

    async def go():
        async with aiohttp.ClientSession() as s, \
                s.ws_connect(gw.url + "/ws", headers=bearer(alice)) as wa, \
                s.ws_connect(gw.url + "/ws", headers=bearer(sue)) as ws:
            for w in (wa, ws):
                assert (await w.receive_json())["account"] is not None
                await w.send_json({"op": "subscribe", "id": 1})
                await w.receive_json()
            bus.publish([
                {"type": "Delivered", "topic": "call.0.1", "call": "1", "device": "2001", "devices": ["2001"]},
                {"type": "Delivered", "topic": "call.0.2", "call": "2", "device": "2002", "devices": ["2002"]},
                {"type": "Delivered", "topic": "call.0.3", "call": "3", "device": "2999", "devices": ["2999"]},
                {"type": "AgentReady", "topic": "agent.bob", "agent": "bob", "team": "blue", "state": "Ready"},
                {"type": "QueueStats", "topic": "queue.sales", "queue": "sales"},
                {"type": "ServerStarted", "topic": "server.started"},
            ])

            async def seen(w):
                got, last = [], 0
                while last < 6:
                    m = await w.receive_json(timeout=10)
                    got += [(e["type"], e.get("call") or e.get("agent") or e.get("queue") or "") for e in m["events"]]
                    last = m["last"]
                return got
            assert await seen(wa) == [("Delivered", "1"), ("ServerStarted", "")]
            assert await seen(ws) == [("Delivered", "1"), ("Delivered", "2"), ("AgentReady", "bob"),
                                      ("QueueStats", "sales"), ("ServerStarted", "")]
            await wa.send_json({"op": "request", "id": 1, "request": {"type": "AnswerCall", "call": "2", "device": "2002"}})
            m = await wa.receive_json(timeout=10)
            assert m["error"]["code"] == "PrivilegeViolationError" and "alice" in m["error"]["message"]
            await wa.send_json({"op": "request", "id": 2, "request": {"type": "AnswerCall", "call": "1", "device": "2001"}})
            assert (await wa.receive_json(timeout=10)) == {"op": "reply", "id": 2, "result": {"call": "1"}}
            # the resume path (replay) filters the same way
            await wa.send_json({"op": "subscribe", "id": 3, "after": 0})
            await wa.receive_json()
            assert [e for e in await seen(wa)] == [("Delivered", "1"), ("ServerStarted", "")]
        async with aiohttp.ClientSession() as s:
            r = await s.get(gw.url + "/events?after=0&wait=0", headers=bearer(alice))
            assert [e["call"] for e in (await r.json())["events"] if "call" in e] == ["1"]
    run(go())


@pytest.mark.system
def test_a_revoked_token_closes_its_open_socket_and_is_refused(rig, keys):
    bus, gw = rig
    t = token(keys, "alice")

    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws", headers=bearer(t)) as ws:
            await ws.receive_json()
            r = await s.get(gw.url + "/snapshot", headers=bearer(t))
            assert r.status == 200
            out = CliRunner().invoke(keys_main, ["token", "alice", "--keys", keys, "--revoke", t])
            assert out.exit_code == 0 and "revoked" in out.output
            t0 = time.monotonic()
            m = await ws.receive_json(timeout=5)
            assert "revoked" in m["error"]["message"]
            await ws.receive(timeout=5)
            assert ws.close_code == 4001 and time.monotonic() - t0 < 4
            r = await s.get(gw.url + "/snapshot", headers=bearer(t))
            assert r.status == 401 and "revoked" in (await r.json())["error"]["message"]
            r = await s.get(gw.url + "/snapshot", headers=bearer(token(keys, "alice")))   # a new one works
            assert r.status == 200
    run(go())


def test_cti_keys_token_command(keys):
    r = CliRunner().invoke(keys_main, ["token", "sue", "--keys", keys, "--ttl", "30m"])
    assert r.exit_code == 0
    t = r.output.strip().splitlines()[0]
    c = tokens.verify(tokens.load_secret(keys), t, set())
    assert c.account == "sue" and 1790 < c.expires - time.time() <= 1800
    r = CliRunner().invoke(keys_main, ["token", "nobody", "--keys", keys])
    assert r.exit_code != 0 and "no account" in r.output
    r = CliRunner().invoke(keys_main, ["token", "sue", "--keys", keys, "--ttl", "soon"])
    assert r.exit_code != 0 and "duration" in r.output
    r = CliRunner().invoke(keys_main, ["token", "sue", "--keys", keys, "--revoke", "not-a-token!"])
    assert r.exit_code != 0


@pytest.mark.system
def test_tls_when_given_a_certificate(tmp_path, keys):
    cert, key = tmp_path / "gw.pem", tmp_path / "gw.key"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        pytest.skip(f"openssl cannot make a test certificate here: {e}")
    r = CliRunner().invoke(gw_main, ["--host", "0.0.0.0", "--keys", keys])
    assert r.exit_code != 0 and "TLS" in r.output                  # tokens in clear on the network: refused
    r = CliRunner().invoke(gw_main, ["--host", "0.0.0.0"])
    assert r.exit_code != 0 and "plain mode refuses" in r.output

    async def serve_and_ask():
        gw = Gateway(Accounts(None, keys, "gateway", timeout=1.0))
        runner = web.AppRunner(gw.app())
        await runner.setup()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(str(cert), str(key))
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        client_tls = ssl.create_default_context(cafile=str(cert))
        client_tls.check_hostname = False
        try:
            async with aiohttp.ClientSession() as s:
                r = await s.get(f"https://127.0.0.1:{port}/healthz", ssl=client_tls)
                assert r.status == 200 and (await r.json())["ok"]
                with pytest.raises(aiohttp.ClientError):
                    await s.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            await runner.cleanup()
    run(serve_and_ask())

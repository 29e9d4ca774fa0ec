"""cti-gateway --cluster when the stream no longer holds what a client asks for: events aged
out of the JetStream stream (its retention, here a purge) are a declared gap, as a pruned
journal is on one bus: a resume from before the stream's first sequence gets ReplayGapError
(WebSocket and HTTP) naming what is gone, never a silent jump; a resume from just before the
first held event replays from there with no gap."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cti.cluster.natsd import LocalNats, binary
from test_cluster_gateway import check_stream, free_port, gateway, node, session

pytest.importorskip("aiohttp", reason="aiohttp not installed (pip install -e '.[test]')")
pytest.importorskip("nats", reason="nats-py not installed (pip install -e '.[cluster]')")
pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(binary() is None, reason="nats-server is not installed (Debian package nats-server)")]


async def _stream(urls: list[str], keep: int | None = None) -> tuple[int, int]:
    """(first, last) sequence of the stream; with ``keep``, purge all but its last ``keep`` first."""
    import nats
    nc = await nats.connect(urls)
    try:
        jsm = nc.jsm()
        if keep is not None:
            await jsm.purge_stream("CTI", keep=keep)
        st = (await jsm.stream_info("CTI")).state
        return int(st.first_seq), int(st.last_seq)
    finally:
        await nc.close()


def _held(urls: list[str]) -> int:
    """The stream's last sequence, 0 while the node has not made the stream yet."""
    from nats.js.errors import NotFoundError
    try:
        return asyncio.run(_stream(urls))[1]
    except NotFoundError:
        return 0


@pytest.mark.timeout(240)
def test_a_resume_from_events_the_stream_no_longer_holds_is_a_declared_gap(tmp_path: Path) -> None:
    nats = LocalNats(tmp_path / "nats", size=1)
    nats.start()
    try:
        urls = nats.urls
        port = free_port()
        with node(tmp_path, "a", urls, replicas=1) as a:
            end = time.monotonic() + 60
            while time.monotonic() < end and _held(urls) < 400:
                time.sleep(0.3)
            first, last = asyncio.run(_stream(urls, keep=100))      # retention took all but the last 100
            assert first > 250 and last - first < 200, (first, last)
            gw = gateway(port, urls, {"a": a.bus.endpoints})
            try:
                msgs, events = asyncio.run(session(port, {"after": 1}, 5.0))
                errors = [m["error"] for m in msgs if m["op"] == "error"]
                assert errors and errors[0]["code"] == "ReplayGapError", msgs
                assert f"2..{first - 1}" in errors[0]["message"], errors[0]
                assert not [e for e in events if e["seq"] < first]          # nothing from before the gap
                # HTTP: the same refusal, with a status a client can act on
                with pytest.raises(urllib.error.HTTPError) as ei:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/events?after=1&timeout=1", timeout=30)
                body: dict[str, Any] = json.loads(ei.value.read())
                assert ei.value.code in (404, 409, 410) and body["error"]["code"] == "ReplayGapError", body
                # from just before the first held event: every event from there, none missing
                msgs2, events2 = asyncio.run(session(port, {"after": first - 1}, 30.0, until=last))
                assert not [m for m in msgs2 if m["op"] == "error"], msgs2
                check_stream(events2, first - 1)
                assert events2[-1]["seq"] >= last
            finally:
                gw.kill()
                gw.wait(10)
    finally:
        nats.stop()

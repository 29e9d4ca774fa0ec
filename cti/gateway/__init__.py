"""cti-gateway: the bus for browsers and non-Python CRMs (WebSocket + HTTP, JSON).

Its own process beside cti-server, connected as an ordinary bus client
(:class:`cti.bus.client.BusClient`), so it scales out and restarts independently
(docs/gateway.md). Built on aiohttp: one asyncio library that is both the HTTP server and
the WebSocket server (RFC 6455 framing, ping/pong, TLS through the standard ``ssl`` module),
with no ASGI layer between the socket and our fan-out; a WebSocket's transport is reachable,
so one encoded frame can be written to a thousand subscribers without re-encoding it per
connection (:mod:`cti.gateway.hub`). Starlette + uvicorn would add a second process model
and a per-message ASGI hop.

Modules: ``tokens`` (bearer tokens), ``hub`` (the bus feed, the recent-event ring, per
connection fan-out with bounded buffers), ``accounts`` (who a browser is; per-account bus
clients for requests and snapshots), ``app`` (the aiohttp routes), ``errors`` (the gateway's
typed errors and their HTTP statuses), ``contract`` (AsyncAPI 3 and JSON Schema 2020-12
generated from the bus schema), ``rig`` (a bus and a gateway on threads, for tests and the
benchmark), ``static/`` (the agent desktop and the wallboard: plain HTML and one
dependency-free ES module).
"""

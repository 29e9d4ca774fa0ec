"""The pieces behind the pytest plugin (:mod:`cti.testing.plugin`), usable without pytest.

* :func:`site_config` — a configuration for a simulated site: the simulator board on a
  virtual clock (as fast as the CPU goes), No.1 on span 0, SS7 on span 1, ISDN PRI (user
  side) on span 2, a plain bus on ``ipc://`` endpoints in a scratch directory (no ports to
  collide), a SQLite store there too; anything given is merged over it.
* :class:`SimulatedSite` — the server in-process, its loop in a thread; :meth:`place_call`
  has the far-end exchange of a span call us with a scripted caller.
* :class:`SiteProcess` — the same configuration run as ``cti-server`` in a subprocess (what
  a deployment runs; calls come from its ``[demo]`` scenario file or from bus clients).
* :class:`EventTrace` — every event from seq 1 on, recorded by a bus subscription, with
  waits and assertions by call.

Both kinds of site are ready when they return from ``start()``: the server published
``ServerReady`` (SS7 link aligned and circuits reset, No.1 idle, PRI D channel up).
"""
from __future__ import annotations

import copy
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

from cti.bus.client import BusClient
from cti.bus.endpoints import Endpoints
from cti.config import Config

#: wall-clock seconds a site may take to be ready (virtual clock: SS7 alignment is ~1-2 s)
READY_WAIT = 60.0


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def site_config(directory: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The simulated site's configuration (a TOML-shaped dict; see the module docstring)."""
    d = pathlib.Path(directory)
    base: dict[str, Any] = {
        "server": {"node": "test", "store": str(d / "cti.db")},
        "bus": {"events": f"ipc://{d / 'events'}", "snapshot": f"ipc://{d / 'snapshot'}",
                "control": f"ipc://{d / 'control'}"},
        "board": {"driver": "sim", "spans": 3, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": "no1", "spans": [0]}, {"signalling": "ss7", "spans": [1]},
                  {"signalling": "pri", "spans": [2], "config": {"side": "user"}}],
    }
    over = dict(overrides or {})
    if "trunk" in over:                    # a list replaces the default trunks whole
        base["trunk"] = over.pop("trunk")
    return _merge(base, over)


class EventTrace:
    """Every event of a site from ``after`` on, in seq order (a gap-free bus subscription)."""

    def __init__(self, client: BusClient, after: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self._sub = client.subscribe(after=after)

    def pump(self, timeout: float = 0.0) -> None:
        """Take what has arrived (waiting up to ``timeout`` seconds for the first)."""
        e = self._sub.get(timeout)
        while e is not None:
            self.events.append(e)
            e = self._sub.get(0.0)

    def wait_for(self, type: str, timeout: float = 20.0, after: int = 0, **fields: Any) -> dict[str, Any]:
        """The first event of ``type`` with ``fields`` (and seq > ``after``); AssertionError
        listing what was seen when none comes within ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["type"] == type and e["seq"] > after and all(e.get(k) == v for k, v in fields.items()):
                    return e
            left = end - time.monotonic()
            if left <= 0:
                seen = [(e["seq"], e["type"]) for e in self.events[-30:]]
                raise AssertionError(f"no {type} event with {fields} within {timeout} s; last seen: {seen}")
            self.pump(min(left, 0.2))

    def of_call(self, call: str) -> list[dict[str, Any]]:
        """The events of one call, in order."""
        self.pump()
        return [e for e in self.events if e.get("call") == call]

    def types(self, call: str | None = None) -> list[str]:
        """Event types in order (of one call, or of every event)."""
        return [e["type"] for e in (self.of_call(call) if call is not None else self.events)]

    def assert_sequence(self, *types: str, call: str | None = None) -> None:
        """``types`` occur in this order (others may come between them)."""
        got = self.types(call)
        it = iter(got)
        missing = [t for t in types if not any(g == t for g in it)]
        if missing:
            raise AssertionError(f"expected {list(types)} in order{f' for call {call}' if call else ''}; "
                                 f"got {got}")

    def close(self) -> None:
        self._sub.close()


class _Site:
    endpoints: Endpoints
    config: dict[str, Any]

    def client(self, timeout: float = 10.0, **kw: Any) -> BusClient:
        """A bus client on this site (plain mode: the integrator account)."""
        return BusClient(self.endpoints, timeout=timeout, **kw)

    def trace(self, after: int = 0) -> EventTrace:
        """An :class:`EventTrace` from ``after`` (default: the start of the site's journal)."""
        return EventTrace(self.client(), after=after)

    def _endpoints(self) -> Endpoints:
        b = self.config["bus"]
        return Endpoints(b["events"], b["snapshot"], b["control"])


class SimulatedSite(_Site):
    """A simulated site in-process (see the module docstring); ``with SimulatedSite(...) as site``."""

    def __init__(self, overrides: dict[str, Any] | None = None, directory: str | None = None) -> None:
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="cti-site-")
        self.directory = pathlib.Path(directory or self._tmp.name)          # type: ignore[union-attr]
        self.config = site_config(self.directory, overrides)
        self.endpoints = self._endpoints()
        self.server: Any = None
        self._bg: Any = None

    def start(self, ready_wait: float = READY_WAIT) -> SimulatedSite:
        """Build and start the server, run its loop in a thread, return once it is ready."""
        from cti.cli.wiring import build_server
        from cti.server import BackgroundServer
        self.server = build_server(Config.from_dict(self.config)).start()
        self._bg = BackgroundServer(self.server)
        self._bg.__enter__()
        end = time.monotonic() + ready_wait
        ready = self.server.part("readiness")
        while not self._bg.do(lambda: ready.ready):
            if time.monotonic() > end:
                why = self._bg.do(ready.waiting_for)
                self.stop()
                raise TimeoutError(f"the simulated site was not ready within {ready_wait} s: {why}")
            time.sleep(0.05)
        return self

    def now(self) -> float:
        """The site's model time (the board's virtual clock)."""
        return float(self._bg.do(self.server.now))

    def network(self, span: int = 0) -> Any:
        """The simulated exchange on the far end of ``span``."""
        nets = self.server.part("network").networks
        for t, net in zip(self.server.config.trunks, nets, strict=False):
            if span in t.spans:
                return net
        raise KeyError(f"no simulated exchange on span {span}")

    def place_call(self, called: str, calling: str | None = "13800138000", *, span: int = 0, delay: float = 0.1,
                   hold_for: float | None = 5.0, abandon_after: float | None = None, digits: str = "") -> None:
        """The exchange on ``span`` calls ``called`` from ``calling`` ``delay`` model seconds from
        now; it clears ``hold_for`` after our answer (None: waits for us), gives up after
        ``abandon_after`` unanswered, types ``digits`` (DTMF) once answered."""
        from simulator.exchange.base import CallScript
        net = self.network(span)

        def place() -> None:
            net.place_call(CallScript(at=self.server.now() + delay, called=called, calling=calling,
                                      hold_for=hold_for, abandon_after=abandon_after, digits=digits))
        self._bg.do(place)

    def records(self, span: int = 0, settle: float = 10.0) -> list[Any]:
        """What became of each call as the exchange on ``span`` saw it (simulator CallRecords),
        once every one has ended (the exchange closes a record on its last message, which may
        come after our CallCleared) or ``settle`` wall-clock seconds have passed."""
        end = time.monotonic() + settle
        while True:
            recs = list(self._bg.do(lambda: list(self.network(span).records)))
            if all(r.cleared_at is not None for r in recs) or time.monotonic() > end:
                return recs
            time.sleep(0.02)

    def stop(self) -> None:
        if self._bg is not None:
            self._bg.__exit__(None, None, None)
            self._bg = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SimulatedSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SiteProcess(_Site):
    """The simulated site as a ``cti-server`` subprocess (``with SiteProcess(...) as site``)."""

    def __init__(self, overrides: dict[str, Any] | None = None, directory: str | None = None) -> None:
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="cti-site-")
        self.directory = pathlib.Path(directory or self._tmp.name)          # type: ignore[union-attr]
        self.config = site_config(self.directory, overrides)
        self.endpoints = self._endpoints()
        self.proc: subprocess.Popen[bytes] | None = None
        self.path = self.directory / "site.toml"

    def start(self, ready_wait: float = READY_WAIT) -> SiteProcess:
        """Write site.toml, start ``cti-server -c site.toml`` and return once it published ServerReady."""
        self.path.write_text(_toml(self.config))
        self.proc = subprocess.Popen([sys.executable, "-m", "cti.cli.server", "-c", str(self.path),
                                      "--ready-timeout", str(ready_wait)],
                                     stderr=open(self.directory / "stderr.log", "wb"))   # noqa: SIM115
        end = time.monotonic() + ready_wait
        with self.client(timeout=1.0) as c:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"cti-server exited with {self.proc.returncode}: {self.stderr()}")
                try:
                    if c.snapshot(timeout=1.0)["readiness"][0]["ready"]:
                        return self
                except (TimeoutError, KeyError, IndexError):
                    pass
                if time.monotonic() > end:
                    self.stop()
                    raise TimeoutError(f"cti-server was not ready within {ready_wait} s: {self.stderr()}")
                time.sleep(0.1)

    def stderr(self) -> str:
        try:
            return (self.directory / "stderr.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM the server, wait for it; its exit status."""
        code = None
        if self.proc is not None:
            self.proc.terminate()
            try:
                code = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(5)
            self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return code

    def __enter__(self) -> SiteProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _toml(data: dict[str, Any]) -> str:
    """A TOML document for a configuration dict (tables, arrays of tables, inline values)."""
    import json
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(f"cannot write {type(v).__name__} to TOML")

    def table(name: str, t: dict[str, Any], array: bool = False) -> None:
        lines.append(f"[[{name}]]" if array else f"[{name}]")
        lines.extend(f"{json.dumps(str(k))} = {value(v)}" for k, v in t.items())
        lines.append("")

    for name, v in data.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for t in v:
                table(name, t, array=True)
        elif isinstance(v, dict):
            table(name, v)
        else:
            lines.insert(0, f"{json.dumps(name)} = {value(v)}")
    return "\n".join(lines)


__all__ = ["READY_WAIT", "EventTrace", "SimulatedSite", "SiteProcess", "site_config"]

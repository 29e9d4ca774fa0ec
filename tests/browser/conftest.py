"""The whole stack for browser tests: cti-server with the example contact centre (simulated
exchange placing calls), simulated agents, cti-gateway, and headless Chromium driven by
selenium through Debian's chromium-driver. Every event the tests see on the bus is validated
against docs/schema/gateway.schema.json at the end."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any
from collections.abc import Iterator

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (PyPI, the test extra) is not installed")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (PyPI, the test extra) is not installed")
if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
    pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/apt-packages.txt)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """cti-server + simulated agents + cti-gateway, as processes; a bus recorder thread."""

    def __init__(self, tmp: str, sim_agents: list[str], config: str = "docs/examples/contact-centre.toml") -> None:
        self.tmp = tmp
        self.config = config
        p = [free_port() for _ in range(4)]
        self.endpoints = [f"tcp://127.0.0.1:{x}" for x in p[:3]]
        self.port = p[3]
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.sim_agents = sim_agents
        self.events: list[dict[str, Any]] = []
        self.record_errors: list[str] = []
        self._stop = threading.Event()
        self._rec: threading.Thread | None = None

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(os.path.join(self.tmp, f"{name}.log"), "wb") as log:     # the child keeps its own copy
            proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        with open(os.path.join(self.tmp, f"{name}.log"), errors="replace") as f:
            return f.read()[-3000:]

    def start(self) -> Stack:
        ev, snap, ctl = self.endpoints
        self._spawn("server", [sys.executable, "-m", "cti.cli.server", "--config", self.config,
                               "--store", os.path.join(self.tmp, "cti.db"), "--events", ev, "--snapshot", snap,
                               "--control", ctl])
        from cti.bus.client import BusClient
        from cti.bus.server import Endpoints
        self.client = BusClient(Endpoints(ev, snap, ctl), timeout=2.0)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.snapshot(timeout=1.0)
                break
            except TimeoutError:
                if time.monotonic() > deadline or self.procs[0].poll() is not None:
                    raise RuntimeError("cti-server did not start:\n" + self.log("server")) from None
        self._rec = threading.Thread(target=self._record, daemon=True)
        self._rec.start()
        if self.sim_agents:
            args = [sys.executable, "-m", "simulator.agents", "--events", ev, "--snapshot", snap, "--control", ctl,
                    "--answer", "1,2", "--handle", "5,10"]
            for a in self.sim_agents:
                args += ["--agent", a]
            self._spawn("agents", args)
        self._spawn("gateway", [sys.executable, "-m", "cti.cli.gateway", "--port", str(self.port), "--events", ev,
                                "--snapshot", snap, "--control", ctl, "--crm-csv", "docs/examples/crm.csv"])
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if json.load(r)["ready"]:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("cti-gateway not ready:\n" + self.log("gateway"))
            time.sleep(0.2)
        return self

    def _record(self) -> None:
        """Every bus event, in order (its own client: a ZeroMQ socket belongs to one thread)."""
        from cti.bus.client import BusClient
        from cti.bus.server import Endpoints
        with BusClient(Endpoints(*self.endpoints), timeout=15.0) as client:
            sub = None
            while not self._stop.is_set():
                try:
                    if sub is None:
                        sub = client.subscribe(after=self.events[-1]["seq"] if self.events else 0)
                    e = sub.get(timeout=0.2)
                    if e is not None:
                        self.events.append(e)
                except TimeoutError as err:          # a slow server (twins, loaded host): ask again
                    self.record_errors.append(str(err))
                    sub = None

    def wait_event(self, pred: Any, timeout: float = 30.0, since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events[since:]):
                if pred(e):
                    return e
            time.sleep(0.05)
        raise AssertionError(f"no such event on the bus within {timeout:.0f} s")

    def stop(self) -> None:
        self._stop.set()
        if self._rec is not None:
            self._rec.join(5)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.client.close()


def validate_events(events: list[dict[str, Any]]) -> int:
    """Validate every event against its definition in docs/schema/gateway.schema.json."""
    with open(os.path.join(ROOT, "docs", "schema", "gateway.schema.json")) as f:
        schema = json.load(f)
    v = jsonschema.Draft202012Validator({"$ref": "#/$defs/Event", "$defs": schema["$defs"]})
    for e in events:
        plain = json.loads(json.dumps(e, default=str))
        errors = [f"{x.json_path}: {x.message}" for x in v.iter_errors(plain)]
        assert not errors, f"{e.get('type')} seq {e.get('seq')} breaks the contract: {errors[:3]}"
    return len(events)


def contact_site(tmp: str, scenario: str, extra: str) -> str:
    """docs/examples/contact-centre.toml in ``tmp`` with ``scenario`` (the demo scenario's text,
    edited by the caller) and ``extra`` TOML appended; returns the site file's path."""
    with open(os.path.join(tmp, "scenario.toml"), "w", encoding="utf-8") as f:
        f.write(scenario)
    with open(os.path.join(ROOT, "docs", "examples", "contact-centre.toml"), encoding="utf-8") as f:
        cfg = f.read().replace('scenario = "docs/examples/contact-scenario.toml"',
                               f'scenario = "{os.path.join(tmp, "scenario.toml")}"')
    path = os.path.join(tmp, "cti.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(cfg + extra)
    return path


def demo_scenario() -> str:
    """The example contact centre's scenario, as text to edit."""
    with open(os.path.join(ROOT, "docs", "examples", "contact-scenario.toml"), encoding="utf-8") as f:
        return f.read()


def running(prefix: str, site: Any) -> Iterator[Stack]:
    """A module fixture's body: a stack on the site ``site(tmp)`` writes, its events checked
    against the contract when the module is done."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    s = Stack(tmp, [], config=site(tmp)).start()
    try:
        yield s
        assert validate_events(s.events) > 0
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    tmp = tempfile.mkdtemp(prefix="cti-browser-")
    s = Stack(tmp, ["carol=2003", "dan=2004"]).start()
    try:
        yield s
        n = validate_events(s.events)
        assert n > 0
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def chrome(width: int = 1280, height: int = 900) -> Any:
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
              "--disable-dev-shm-usage", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
              f"--window-size={width},{height}"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if width < 500:            # below Chromium's smallest window: emulate the phone's screen instead
        o.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                          "pixelRatio": 2.0}})
    return webdriver.Chrome(service=Service(DRIVER), options=o)


@pytest.fixture
def browser() -> Iterator[Any]:
    d = chrome()
    try:
        yield d
    finally:
        d.quit()


def screenshot(driver: Any, name: str) -> None:
    """Save a screenshot under $CTI_SCREENSHOT_DIR (docs/img when making the docs), if set."""
    target = os.environ.get("CTI_SCREENSHOT_DIR")
    if target:
        os.makedirs(target, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        size = driver.get_window_size()
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        if size["width"] >= 1000 and height > size["height"]:      # the whole page, not the first screen
            driver.set_window_size(size["width"], min(height + 140, 3000))
        driver.save_screenshot(os.path.join(target, name))
        driver.set_window_size(size["width"], size["height"])

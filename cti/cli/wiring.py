"""Floor 6 wiring: the simulator's parts handed to a CtiServer as components.

The server (:mod:`cti.server`) never imports the simulator; this module, in the command
layer, does (the one place under ``cti/`` allowed to, checked by tests/test_layering.py):

* :class:`SimulatedNetwork` — the far end of the trunks: a simulated No.1 / SS7 exchange on
  the far ends of a ``sim`` board's trunk spans, or a scripted :class:`LoopbackNetwork` on
  each loopback trunk;
* :class:`DemoScenario` — the demo's callers and our side answering (``[demo]``);
* :class:`SimulatedPhones` — a speaking phone on every contact-centre station of a ``sim``
  board (``[contact] simulated_phones = true``).

:func:`build_server` turns a configuration into a server with these and the contact centre
(``[contact]``), in that order: far end, demo, contact centre, phones. ``cti-server`` and the
tests build servers through it.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Collection

import zmq

from cti.call.loopback import LoopbackTrunk
from cti.config import Config, ConfigError
from cti.plugin import EVERY_BLOCK, Component, Host
from cti.server import CtiServer
from simulator.exchange.base import Behaviour, Subscriber
from simulator.scenario import LoopbackNetwork, Scenario, ScenarioConfig

_EXCHANGES = {"no1": ("simulator.exchange.no1", "No1Exchange", "the No.1 simulated exchange"),
              "ss7": ("simulator.exchange.ss7", "Ss7Exchange", "the SS7 simulated exchange"),
              "pri": ("simulator.exchange.pri", "PriExchange", "the PRI simulated exchange")}


def far_subscriber() -> Subscriber:
    """How the far end answers numbers the configuration does not list."""
    return Subscriber("*", Behaviour.ANSWER, answer_after=2.0, hold_for=8.0)


class SimulatedNetwork(Component):
    """The far end of every trunk (see the module docstring); ``networks`` in trunk order."""

    name = "network"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.networks: list[Any] = []

    def start(self, host: Host) -> None:
        board = host.board
        if board is None:                       # loopback trunks: a scripted far end on each
            self.networks = [LoopbackNetwork(a) for a in host.model.adapters if isinstance(a, LoopbackTrunk)]
            return
        import importlib
        for t in self.config.trunks:            # those the server kept (the demo leaves out missing stacks)
            module, cls, what = _EXCHANGES[t.signalling]
            try:
                exchange = getattr(importlib.import_module(module), cls)
            except (ImportError, AttributeError) as e:
                raise ConfigError(f"{what} is not available ({module}.{cls}): {e}") from e
            side = {"config": dict(t.config)} if t.signalling == "pri" else {}   # the other side of the D channel
            self.networks.append(exchange([board.far_end(s) for s in t.spans], default=far_subscriber(), **side))

    def deadline(self) -> float | None:
        if self.networks and not isinstance(self.networks[0], LoopbackNetwork):
            return EVERY_BLOCK                  # an exchange reads its line every block
        ds = [d for n in self.networks if (d := n.deadline()) is not None]
        return min(ds) if ds else None

    def service(self, now: float) -> None:
        for n in self.networks:
            n.service(now)


class DemoScenario(Component):
    """The demo: callers placed through the simulated network, our side answering (``[demo]``)."""

    name = "demo"

    def __init__(self, config: Config, network: SimulatedNetwork) -> None:
        self.config = config
        self.network = network
        self.scenario: Scenario | None = None

    def start(self, host: Host) -> None:
        demo = self.config.demo
        sc = ScenarioConfig.load(demo.scenario) if demo.scenario else ScenarioConfig()
        sc.seed = demo.seed
        if self.config.contact:
            sc.acd_numbers = [str(n) for n in self.config.contact.get("route_points", {})]
        if not self.network.networks:
            raise ConfigError("the demo needs a simulated network (board driver 'sim' or 'loopback')")
        self.scenario = Scenario(sc, self.network.networks, host.model, start=host.now())

    def deadline(self) -> float | None:
        return self.scenario.deadline() if self.scenario is not None else None

    def service(self, now: float) -> None:
        if self.scenario is not None:
            self.scenario.tick(now)

    def events(self) -> Collection[str]:
        return ("Delivered", "CallCleared")

    def on_event(self, event: Any) -> None:
        if self.scenario is not None:
            self.scenario.on_event(event)


class SimulatedPhones(Component):
    """A speaking phone (its own tone) on the far end of every station of a ``sim`` board."""

    name = "phones"

    def __init__(self, stations: dict[str, tuple[int, int]]) -> None:
        self.stations = stations
        self.phones: dict[str, Any] = {}

    def start(self, host: Host) -> None:
        if host.board is None or not hasattr(host.board, "far_end"):
            raise ConfigError("[contact] simulated_phones needs the simulator board (driver 'sim')")
        from simulator.phones import station_phones
        self.phones = station_phones(host.board, self.stations)


def components(config: Config, network: bool = True) -> list[Component]:
    """The components ``config`` asks for (see the module docstring), in order; ``network``
    False leaves out the far end (a board or trunks handed in by a test)."""
    out: list[Component] = []
    far = None
    if network and config.board.driver in ("sim", "loopback"):
        far = SimulatedNetwork(config)
        out.append(far)
    if config.demo.enabled:
        if far is None:
            raise ConfigError("the demo needs a simulated network (board driver 'sim' or 'loopback')")
        out.append(DemoScenario(config, far))
    if config.media is not None and config.contact is None:
        raise ConfigError("[media] needs [contact] (the media resources use its audio and IVR)")
    if config.contact is None and config.cluster is not None:    # the centre's [contact] from its database
        from cti.cluster.node import shared_contact
        config.contact = shared_contact(config.cluster)
    if config.contact is not None:
        from cti.contact import ContactConfig
        from cti.contact.centre import ContactCentre
        contact = ContactConfig.from_dict(config.contact)
        centre = ContactCentre(contact)
        out.append(centre)
        if config.media is not None:             # fax, voicemail, announcements, TTS (cti/contact/resources.py)
            from cti.contact.resources import MediaConfig, MediaConfigError, MediaResources
            try:
                out.append(MediaResources(MediaConfig.from_dict(config.media), centre))
            except MediaConfigError as e:
                raise ConfigError(str(e)) from None
        if contact.simulated_phones:
            out.append(SimulatedPhones(contact.stations))
    if config.cluster is not None:               # this node's events onto the cluster stream (docs/cluster.md)
        from cti.cluster import ClusterConfigError, ClusterPublisher
        from cti.cluster.node import CentreLink
        try:
            out.append(ClusterPublisher.from_config(config.cluster, config.server.node))
            link = CentreLink.from_config(config.cluster, config.server.node)    # [cluster] centre: shared state
        except ClusterConfigError as e:
            raise ConfigError(str(e)) from None
        if link is not None:
            out.append(link)
    return out


def build_server(config: Config | None = None, *, extra: list[Component] | None = None, board: Any = None,
                 adapters: list[Any] | None = None, ctx: zmq.Context[Any] | None = None, strict: bool = True) -> CtiServer:
    """A CtiServer for ``config`` with the components it asks for (and ``extra`` after them);
    ``board`` / ``adapters`` / ``ctx`` / ``strict`` as :class:`CtiServer` takes them."""
    config = config or Config()
    parts = components(config, network=board is None and adapters is None)
    from cti.readiness import Readiness       # ServerReady on the bus; MakeCall refused until then
    parts.insert(0, Readiness(config.server.node, config.server.ready_timeout or None))
    return CtiServer(config, components=[*parts, *(extra or [])], board=board, adapters=adapters,
                     ctx=ctx, strict=strict)


__all__ = ["DemoScenario", "SimulatedNetwork", "SimulatedPhones", "build_server", "components", "far_subscriber"]

"""The contact centre's audio: station timeslots, call bridges, supervision, the taps.

Agents and supervisors whose device is a *station* (``[contact] stations = { "2001" = "2/1" }``:
device -> board span / timeslot, a line to a phone) are joined to calls by audio bridges
(:class:`cti.media.bridge.Bridges`): when the ACD connects a call to an agent with a station,
the caller's trunk timeslot and the station timeslot are bridged both ways every 20 ms block;
hold silences the bridge, retrieve restores it, a transfer away from the agent replaces the
station with the new far party's trunk timeslot, and clearing undoes it. A supervisor with a
station who Monitors an agent's bridged call hears the mix of both parties; whisper reaches
only the agent, barge both (``cti.media.supervise``, G.711 kernel). Devices without a station
(trunk extensions, as before) get the call signalling only. On CAS station spans the
handset's hook answers and clears, and ACD offers ring it (:mod:`cti.contact.hook`).

In-band digits the call model sends (SendDigits) on a bridged circuit go into the bridge's
stream: :meth:`CallAudio.attach` adds a route to the model's media path
(:meth:`cti.media.path.BoardMedia.route`). Simulated phones on the stations' far ends
(``simulated_phones = true``) are wired by the command layer (cti.cli.wiring), not here.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from cti.call.states import ConnectionState
from cti.media.bridge import Bridge, Bridges
from cti.media.supervise import SuperviseMode
from cti.media.taps import Circuit, SpanTaps

from .hook import StationHooks

log = logging.getLogger(__name__)


class StationError(ValueError):
    """A station set-up the board cannot honour (unknown span, a trunk's span, a taken station)."""


class CallAudio:
    """Stations, bridges and supervision of one contact centre (see the module docstring)."""

    def __init__(self, server: Any, taps: SpanTaps, stations: dict[str, Circuit]) -> None:
        self.server = server
        self.taps = taps
        self.stations = dict(stations)
        self._device_of = {c: d for d, c in self.stations.items()}
        self.bridges = Bridges(taps, self._write, self._writer)
        self.supervising: dict[str, str] = {}    #: supervisor device -> call id (audio supervision)
        self.counters = {"bridged": 0, "not_bridged": 0}
        self.station_spans: list[int] = []
        self.hooks: StationHooks | None = None      #: hook / ringing on CAS station lines
        self._ringing_transfer: set[str] = set()   #: calls transferred to a party not answered yet
        self._pending: dict[Circuit, bytearray] = {}   #: server audio for bridged circuits, block by block
        self.parked: dict[str, Circuit] = {}       #: held call -> its agent's station (free meanwhile)
        self.consulting: dict[str, Circuit] = {}   #: consultation call -> station, until answered
        self._span_writers: dict[int, Any] = {}    #: span number -> its write_audio

    # ---- set-up -----------------------------------------------------------------------------
    def attach(self, trunk_spans: set[int]) -> None:
        """Tap the station spans (after the trunk spans were tapped); route bridged in-band digits."""
        board = self.server.board
        if not self.stations:
            return
        if board is None:
            raise StationError("stations need a board (they are timeslots of its spans)")
        for device, (span, ts) in self.stations.items():
            if span in trunk_spans:
                raise StationError(f"station {device} = {span}/{ts}: span {span} carries trunk signalling")
            if not 0 <= span < len(board.spans):
                raise StationError(f"station {device} = {span}/{ts}: the board has spans 0..{len(board.spans) - 1}")
        self.station_spans = sorted({s for s, _ in self.stations.values()})
        self.hooks = StationHooks(board, self.stations)
        for span in self.station_spans:
            self.taps.tap(span, board.span(span))
        media = getattr(self.server.model, "media", None)
        if media is not None and hasattr(media, "route"):
            media.route(self._bridged_digits)

    def _bridged_digits(self, circuit: Circuit, alaw: bytes) -> bool:
        """In-band DTMF (SendDigits) into the bridge's stream when ``circuit`` is bridged."""
        if self.bridges.owner(tuple(circuit)) is None:      # type: ignore[arg-type]
            return False
        self._pending.setdefault(tuple(circuit), bytearray()).extend(alaw)   # type: ignore[arg-type]
        return True

    def station(self, device: str | None) -> Circuit | None:
        """The station timeslot of ``device``, None for trunk extensions."""
        return self.stations.get(device) if device else None

    # ---- calls ------------------------------------------------------------------------------
    def connect(self, call_id: str, device: str | None) -> Bridge | None:
        """Bridge ``call_id``'s trunk timeslot to ``device``'s station (None: no station / no circuit;
        a call ``device`` holds already is parked: bridged when it is retrieved)."""
        st = self.station(device)
        circ = self._circuit(call_id)
        if st is None or circ is None:
            return None
        call = self.server.model.calls.get(call_id)
        conn = call.connections.get(device) if call is not None else None
        if conn is not None and conn.state is ConnectionState.HOLD:   # held during the announcement
            self.parked[call_id] = st
            return None
        for dev, cid in list(self.supervising.items()):
            if self.stations.get(dev) == st:       # the agent's own calls come first
                log.info("station %s leaves its supervision of call %s for call %s", dev, cid, call_id)
                self.unsupervise(dev)
        try:
            if call_id in self.bridges.bridges:
                br = self.bridges.move(call_id, st)
            else:
                br = self.bridges.join(call_id, circ, st)
        except ValueError as e:
            self.counters["not_bridged"] += 1
            log.warning("call %s not bridged to %s: %s", call_id, device, e)
            return None
        self.counters["bridged"] += 1
        return br

    def on_call_event(self, e: Any) -> None:
        """Hold / retrieve / consultation / transfer / conference / clear (call-model events)."""
        kind = type(e).__name__
        call_id = getattr(e, "call", None)
        if not isinstance(call_id, str):
            return
        if kind == "CallCleared":
            self.drop(call_id)
        elif kind == "Held" and call_id in self.bridges.bridges:
            self._hold(call_id)
        elif kind == "Retrieved" and call_id in self.parked:
            self._retrieve(call_id)
        elif kind == "Retrieved" and call_id in self.bridges.bridges:
            self.bridges.hold(call_id, False)
        elif kind == "Originated":
            held = self._call_extra(call_id).get("consultation_of")
            if held in self.parked:          # the agent consults: its station goes to the new call
                self.consulting[call_id] = self.parked[held]
        elif kind in ("Transferred", "Conferenced"):
            for old in getattr(e, "old_calls", ()) or ():
                if old != call_id:
                    self.drop(old)
            if kind == "Transferred":
                self._transferred(call_id)
            else:
                self._conferenced(call_id)
        elif kind == "Established" and str(getattr(e, "device", "")).startswith("trunk/"):
            self._answered(call_id, e.device)

    # the agent's station while its call is held: free for a consultation call, back on retrieve
    def _hold(self, call_id: str) -> None:
        br = self.bridges.bridges[call_id]
        if br.b in self._device_of:
            self._unsupervise_call(call_id)
            self.bridges.leave(call_id)
            self.parked[call_id] = br.b
        else:                                 # trunk to trunk: silence both
            self.bridges.hold(call_id, True)

    def _retrieve(self, call_id: str) -> None:
        station = self.parked.pop(call_id)
        circ = self._circuit(call_id)
        if circ is None or self.bridges.owner(station) is not None:
            log.warning("call %s retrieved but station %s is busy", call_id, self._device_of.get(station))
            return
        self.bridges.join(call_id, circ, station)

    def _answered(self, call_id: str, device: str) -> None:
        if call_id in self.consulting:        # the consulted party answered: the agent talks to it
            station = self.consulting.pop(call_id)
            circ = self._circuit(call_id)
            if circ is not None and self.bridges.owner(station) is None and call_id not in self.bridges.bridges:
                self.bridges.join(call_id, circ, station)
        elif call_id in self._ringing_transfer:
            br = self.bridges.bridges.get(call_id)
            if br is not None and device == f"trunk/{br.b[0]}/{br.b[1]}":
                self._ringing_transfer.discard(call_id)
                self.bridges.hold(call_id, False)

    def _transferred(self, call_id: str) -> None:
        """The local side left: the caller's timeslot is now bridged to the new far party's (silent
        until that party answers: the new circuit carries its register signalling meanwhile)."""
        call = self.server.model.calls.get(call_id)
        self.parked.pop(call_id, None)
        self._unsupervise_call(call_id)
        circs = [c.circuit for c in (call.remotes() if call is not None else []) if c.circuit is not None]
        a = call.circuit() if call is not None else None
        others = [c for c in circs if c != a]
        if a is None or not others:
            self.bridges.leave(call_id)
            return
        try:
            if call_id in self.bridges.bridges:
                self.bridges.move(call_id, others[0])
            else:
                self.bridges.join(call_id, a, others[0])
        except ValueError as e:
            log.warning("call %s: transfer bridge to %s refused: %s", call_id, others[0], e)
            self.bridges.leave(call_id)
            return
        conn = call.connections.get(f"trunk/{others[0][0]}/{others[0][1]}")
        answered = conn is not None and getattr(conn.state, "value", "") == "connected"
        self.bridges.hold(call_id, not answered)
        if not answered:
            self._ringing_transfer.add(call_id)

    def _conferenced(self, call_id: str) -> None:
        """Caller, agent and consulted party in one call: the three-way mix (barge's), the
        consulted party in the third seat."""
        call = self.server.model.calls.get(call_id)
        station = self.parked.pop(call_id, None)
        a = call.circuit() if call is not None else None
        others = [c.circuit for c in (call.remotes() if call is not None else [])
                  if c.circuit is not None and c.circuit != a]
        if a is None or station is None or not others or self.bridges.owner(station) is not None:
            log.warning("call %s: conference not bridged", call_id)
            return
        try:
            self.bridges.join(call_id, a, station)
            self.bridges.supervise(call_id, others[0], SuperviseMode.BARGE)
        except ValueError as e:
            log.warning("call %s: conference bridge refused: %s", call_id, e)

    def _call_extra(self, call_id: str | None) -> dict[str, Any]:
        call = self.server.model.calls.get(call_id) if call_id else None
        return call.extra if call is not None else {}

    def drop(self, call_id: str | None) -> None:
        """The call is gone: undo its bridge and supervision."""
        if call_id is None:
            return
        self._unsupervise_call(call_id)
        self._ringing_transfer.discard(call_id)
        self.consulting.pop(call_id, None)
        self.parked.pop(call_id, None)
        self.bridges.leave(call_id)

    def _unsupervise_call(self, call_id: str) -> None:
        for dev, cid in list(self.supervising.items()):
            if cid == call_id:
                del self.supervising[dev]
        self.bridges.unsupervise(call_id)

    # ---- supervision --------------------------------------------------------------------------
    def supervise(self, device: str, call_id: str, mode: SuperviseMode | str) -> bool:
        """Let ``device`` hear (and, by mode, speak into) ``call_id``; False when there is no audio
        to join (no station for ``device`` or the call is not bridged); ValueError when the
        station is busy with another call."""
        st = self.station(device)
        if st is None or call_id not in self.bridges.bridges:
            return False
        current = self.supervising.get(device)
        if current is not None and current != call_id:
            self.unsupervise(device)
        owner = self.bridges.owner(st)
        if owner is not None and owner != call_id:
            raise ValueError(f"station {device} is in call {owner}")
        br = self.bridges.bridges[call_id]
        if br.supervisor is not None and br.supervisor != st:
            raise ValueError(f"call {call_id} is supervised from {self._device_of.get(br.supervisor)} already")
        if st in (br.a, br.b):
            raise ValueError(f"station {device} is a party of call {call_id}")
        self.bridges.supervise(call_id, st, mode)
        self.supervising[device] = call_id
        return True

    def unsupervise(self, device: str) -> str | None:
        """Stop ``device``'s supervision (the plain bridge again); returns the call, or None."""
        call_id = self.supervising.pop(device, None)
        if call_id is not None:
            self.bridges.unsupervise(call_id)
        return call_id

    # ---- every block ---------------------------------------------------------------------------
    def play(self, circuit: Circuit, alaw: bytes) -> None:
        """Server audio (IVR prompts, announcements) to ``circuit``: mixed into a bridge, or sent."""
        if not self.bridges.inject(circuit, alaw):
            self._write(circuit, alaw)

    def tick(self) -> None:
        """Carry one block across every bridge (reads the station spans: nobody else does)."""
        self.taps.drain(self.station_spans)
        for circ, buf in list(self._pending.items()):
            if not buf or not self.bridges.inject(circ, bytes(buf[:160])):
                del self._pending[circ]
            else:
                del buf[:160]
        if self.bridges.bridges:
            self.bridges.tick()

    def sent_to_caller(self, call_id: str) -> tuple[bytes, bytes] | None:
        """This block of a bridged call: (what the caller sent, what the caller was sent)."""
        br = self.bridges.bridges.get(call_id)
        return None if br is None else (br.a_rx, br.to_a)

    def public(self, visible: set[str] | None = None) -> list[dict[str, Any]]:
        """Bridged calls as the ``media`` snapshot section: call, station, held, supervisor, mode;
        only those whose station or supervisor is in ``visible`` (None: all)."""
        out = []
        for br in self.bridges.bridges.values():
            station = self._device_of.get(br.b)
            sup = self._device_of.get(br.supervisor) if br.supervisor is not None else None
            if visible is not None and not ({station, sup} & visible):
                continue
            out.append({"call": str(br.key), "trunk": list(br.a), "station": station,
                        "to": None if station else list(br.b), "held": br.held,
                        "supervisor": sup, "mode": br.mode.value if sup else None})
        return out

    # ---- internals -----------------------------------------------------------------------------
    def _circuit(self, call_id: str) -> Circuit | None:
        call = self.server.model.calls.get(call_id)
        return call.circuit() if call is not None else None

    def _writer(self, circuit: Circuit) -> Callable[[bytes], None]:
        """A bridged party's writer: its span's ``write_audio`` with the timeslot bound."""
        board = self.server.board
        if board is None:
            return partial(self._write, circuit)
        return partial(board.span(circuit[0]).write_audio, circuit[1])

    def _write(self, circuit: Circuit, alaw: bytes) -> None:
        # per bridged party, every block: the span's write_audio looked up once per span
        write = self._span_writers.get(circuit[0])
        if write is None:
            board = self.server.board
            if board is None:
                return
            write = self._span_writers[circuit[0]] = board.span(circuit[0]).write_audio
        write(circuit[1], alaw)


def parse_stations(d: Any, what: str = "[contact] stations") -> dict[str, Circuit]:
    """``{"2001": "2/1", ...}`` -> ``{"2001": (2, 1)}``; ValueError naming the bad entry."""
    from drivers.base import VOICE_TIMESLOTS
    if not isinstance(d, dict):
        raise ValueError(f"{what} must be a table of device = \"span/timeslot\"")
    out: dict[str, Circuit] = {}
    seen: dict[Circuit, str] = {}
    for dev, spec in d.items():
        if not isinstance(spec, str) or spec.count("/") != 1:
            raise ValueError(f"{what}: {dev} = {spec!r} is not \"span/timeslot\"")
        a, b = spec.split("/")
        if not (a.strip().isdigit() and b.strip().isdigit()):
            raise ValueError(f"{what}: {dev} = {spec!r} is not \"span/timeslot\"")
        circ = (int(a), int(b))
        if circ[1] not in VOICE_TIMESLOTS:
            raise ValueError(f"{what}: {dev} = {spec!r}: timeslot {circ[1]} is not a voice timeslot (1-15, 17-31)")
        if circ in seen:
            raise ValueError(f"{what}: {dev} and {seen[circ]} share station {spec}")
        seen[circ] = str(dev)
        out[str(dev)] = circ
    return out


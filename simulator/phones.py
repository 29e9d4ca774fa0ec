"""Simulated telephones on board timeslots: each speaks identifiable audio and keeps what it hears.

A :class:`Phone` sits on one timeslot of a span's far end (``SimBoard.far_end(n)``): on a
*station span* it is an agent's or supervisor's handset bridged by the server to calls; on
a trunk span's far end it is the caller's mouth and ear. While it ``speaks`` it sends a
sine at its own frequency (or DTMF, or any PCM queued with :meth:`Phone.say`), one 20 ms
block per board block, and it keeps everything it received (:meth:`Phone.heard`).

    bank = attach_phones(board, 2, {1: Phone("2001", hz=600.0), 2: Phone("2002", hz=700.0)})
    board.advance(5.0)
    dominant_hz(bank.phones[1].heard(seconds=1.0))

Reading uses the simulator endpoint's ``received_blocks`` (which does not move the
``read_audio`` cursors), so a phone on a trunk far end leaves the simulated exchange's
signalling stack its audio. Writing happens only while the phone speaks, so on a trunk far
end it does not disturb MFC until told to talk.

``python3 -m simulator.phones --demo`` runs a station span with phones against a caller
in virtual time and prints what each one heard (a self-check of the media path).
"""
from __future__ import annotations

import argparse
from typing import Any
from collections.abc import Iterable, Mapping

import numpy as np

from _boardcore import g711

BLOCK = 160
RATE = 8000
#: what a phone keeps of what it heard (seconds), oldest dropped first
KEEP_SECONDS = 600.0


def tone_level(level_dbm0: float) -> float:
    """Peak amplitude of a sine at ``level_dbm0`` (0 dBm0 = 3.14 dB below A-law full scale, G.711)."""
    return 32768.0 * 10 ** ((level_dbm0 - 3.14) / 20.0)


class Phone:
    """One simulated handset (see the module docstring)."""

    def __init__(self, name: str, hz: float | None = None, level_dbm0: float = -12.0,
                 speaking: bool = True, answer_after: float | None = None) -> None:
        if hz is not None and not 50.0 <= float(hz) <= 3800.0:
            raise ValueError(f"phone {name}: tone {hz!r} Hz is outside the 50..3800 Hz voice band")
        self.name = name
        self.hz = None if hz is None else float(hz)
        self.level_dbm0 = float(level_dbm0)
        self.speaking = speaking and hz is not None
        self._phase = 0
        self._queue = np.zeros(0, dtype=np.int16)
        self._heard: list[bytes] = []
        self._max_blocks = int(KEEP_SECONDS * RATE / BLOCK)
        self.blocks_heard = 0
        #: hook (station lines, cti.contact.hook): lifts this long after ringing starts (None: never)
        self.answer_after = answer_after
        self.off_hook = False
        self.ringing_since: float | None = None
        self.rings = 0               #: ringing periods seen

    # ---- hook -----------------------------------------------------------------------------
    def lift(self) -> None:
        """Go off hook (answers a ringing station line)."""
        self.off_hook = True

    def hang_up(self) -> None:
        """Go on hook (clears the call on a station line)."""
        self.off_hook = False

    def on_ring(self, ringing: bool, now: float) -> None:
        """The line's ringing state at ``now``; lifts after ``answer_after`` when set."""
        if ringing and self.ringing_since is None:
            self.ringing_since = now
            self.rings += 1
        elif not ringing:
            self.ringing_since = None
        if (ringing and not self.off_hook and self.answer_after is not None and self.ringing_since is not None
                and now - self.ringing_since >= self.answer_after):
            self.lift()

    # ---- what it says ---------------------------------------------------------------------
    def speak(self, hz: float | None = None) -> None:
        """Start sending the tone (its own frequency, or ``hz``)."""
        if hz is not None:
            self.hz = float(hz)
        if self.hz is None:
            raise ValueError(f"phone {self.name} has no tone to speak")
        self.speaking = True

    def mute(self) -> None:
        self.speaking = False

    def say(self, pcm: np.ndarray) -> None:
        """Queue 8 kHz int16 PCM (speech, DTMF) to send before/instead of the tone."""
        pcm = np.asarray(pcm)
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise TypeError("say() takes a 1-D int16 PCM array at 8 kHz")
        self._queue = np.concatenate([self._queue, pcm])

    def dial(self, digits: str) -> None:
        """Queue DTMF ``digits`` (Q.23 pairs, cti.media.path)."""
        from cti.media.path import dtmf_pcm
        self.say(dtmf_pcm(digits))

    def next_block(self) -> bytes | None:
        """The next 20 ms it sends (A-law), or None when it is silent."""
        pcm = np.zeros(BLOCK, dtype=np.float64)
        talking = False
        if len(self._queue):
            n = min(BLOCK, len(self._queue))
            pcm[:n] = self._queue[:n]
            self._queue = self._queue[n:]
            talking = True
        if self.speaking and self.hz is not None:
            t = (self._phase + np.arange(BLOCK)) / RATE
            pcm += tone_level(self.level_dbm0) * np.sin(2 * np.pi * self.hz * t)
            talking = True
        self._phase += BLOCK
        if not talking:
            return None
        return g711.alaw_encode(np.clip(pcm, -32768, 32767).astype(np.int16))

    # ---- what it hears --------------------------------------------------------------------
    def hear(self, alaw: bytes) -> None:
        self._heard.append(bytes(alaw))
        self.blocks_heard += 1
        if len(self._heard) > self._max_blocks:
            del self._heard[: len(self._heard) - self._max_blocks]

    def heard(self, seconds: float | None = None) -> np.ndarray:
        """What it received (linear int16), the last ``seconds`` of it or all it kept."""
        blocks = self._heard if seconds is None else self._heard[-max(1, round(seconds * RATE / BLOCK)):]
        if not blocks:
            return np.zeros(0, dtype=np.int16)
        return g711.alaw_decode(b"".join(blocks))

    def heard_alaw(self, seconds: float | None = None) -> bytes:
        """What it received, as the A-law octets on the line."""
        blocks = self._heard if seconds is None else self._heard[-max(1, round(seconds * RATE / BLOCK)):]
        return b"".join(blocks)

    def forget(self) -> None:
        """Drop what it heard so far."""
        self._heard.clear()


class PhoneBank:
    """Phones on timeslots of one far-end span, run after every board block (a board ticker).

    With ``hook=True`` (station lines) the phones also signal their hook state and see ringing
    in the timeslots' CAS bits (cti.contact.hook); never on a trunk's far end, whose CAS bits
    belong to the exchange."""

    def __init__(self, endpoint: Any, phones: Mapping[int, Phone], hook: bool = False) -> None:
        from drivers.base import check_timeslot
        self.endpoint = endpoint
        self.phones: dict[int, Phone] = {check_timeslot(ts): p for ts, p in phones.items()}
        self._since = 0
        self._nondestructive = hasattr(endpoint, "received_blocks")
        self.hook = hook and getattr(getattr(endpoint, "config", None), "signalling", "cas") == "cas"
        self._sent_hook: dict[int, bool] = {}

    def tick(self, now: float) -> None:
        ep = self.endpoint
        if self._nondestructive:
            self._since, blocks = ep.received_blocks(self._since)
            for _seq, block, _t in blocks:
                for ts, p in self.phones.items():
                    p.hear(block[ts].tobytes())
        else:
            tss = tuple(self.phones)
            while (blk := ep.read_audio(tss)) is not None:
                for ts, p in self.phones.items():
                    p.hear(blk.timeslot(ts))
        if self.hook:
            self._signal(now)
        for ts, p in self.phones.items():
            out = p.next_block()
            if out is not None:
                ep.write_audio(ts, out)


    def _signal(self, now: float) -> None:
        from cti.contact.hook import OFF_HOOK, ON_HOOK, RING
        ep = self.endpoint
        for ts, p in self.phones.items():
            p.on_ring(ep.cas(ts) == RING, now)
            if self._sent_hook.get(ts) != p.off_hook:
                ep.set_cas(ts, OFF_HOOK if p.off_hook else ON_HOOK)
                self._sent_hook[ts] = p.off_hook


def attach_phones(board: Any, span: int, phones: Mapping[int, Phone], hook: bool = False) -> PhoneBank:
    """Put ``phones`` (timeslot -> Phone) on the far end of ``span`` of a SimBoard; returns the bank.
    ``hook=True`` on station spans: the phones signal hook and see ringing (cti.contact.hook)."""
    bank = PhoneBank(board.far_end(span), phones, hook=hook)
    board.add_ticker(bank.tick)
    return bank


def station_phones(board: Any, stations: Mapping[str, tuple[int, int]], base_hz: float = 500.0,
                   step_hz: float = 50.0) -> dict[str, Phone]:
    """A speaking phone on every station (device -> (span, ts)) of a SimBoard, each with its own
    tone (``base_hz + i * step_hz`` in the order of ``stations``); returns device -> Phone."""
    by_span: dict[int, dict[int, Phone]] = {}
    out: dict[str, Phone] = {}
    for i, (device, (span, ts)) in enumerate(stations.items()):
        hz = base_hz + i * step_hz
        while hz > 3400.0:
            hz -= 2900.0
        out[device] = by_span.setdefault(span, {})[ts] = Phone(device, hz=hz)
    for span, phones in by_span.items():
        attach_phones(board, span, phones, hook=True)
    return out


def dominant_hz(pcm: np.ndarray, rate: int = RATE) -> float:
    """The strongest frequency of ``pcm`` (Hann-windowed FFT), 0.0 for silence."""
    x = np.asarray(pcm, dtype=np.float64)
    if len(x) < 64 or not np.any(x):
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spec[0] = 0.0
    return float(np.argmax(spec) * rate / len(x))


def band_levels(pcm: np.ndarray, freqs: Iterable[float], rate: int = RATE, width: float = 20.0) -> dict[float, float]:
    """RMS-like magnitude of ``pcm`` near each of ``freqs`` (a Hann-windowed FFT, +-``width`` Hz),
    scaled so a full-scale sine reads about 1.0."""
    x = np.asarray(pcm, dtype=np.float64)
    if len(x) < 64:
        return {f: 0.0 for f in freqs}
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) / (len(x) / 4) / 32768.0
    bins = np.fft.rfftfreq(len(x), 1.0 / rate)
    return {f: float(spec[(bins >= f - width) & (bins <= f + width)].max(initial=0.0)) for f in freqs}


def _demo(seconds: float) -> int:
    """Two spans: a caller phone on span 0's far end, station phones on span 1; the server side
    cross-connects them like the contact centre's bridge does; prints what each heard."""
    import drivers
    from cti.media.bridge import Bridges
    from cti.media.taps import SpanTaps
    from simulator.board import SimBoard
    board = drivers.open("sim", spans=2)
    caller = Phone("caller", hz=1000.0)
    agent = Phone("2001", hz=600.0)
    attach_phones(board, 0, {1: caller})
    attach_phones(board, 1, {1: agent})
    taps = SpanTaps({0: board.span(0), 1: board.span(1)})
    bridges = Bridges(taps, lambda c, a: board.span(c[0]).write_audio(c[1], a))
    bridges.join("call-1", (0, 1), (1, 1))

    def tick(now: float) -> None:
        taps.drain()
        bridges.tick()
    assert isinstance(board, SimBoard), board     # the sim driver's board runs tickers
    board.add_ticker(tick)
    board.advance(seconds)
    for p in (caller, agent):
        print(f"{p.name}: speaks {p.hz:.0f} Hz, hears {dominant_hz(p.heard(1.0)):.0f} Hz")
    ok = abs(dominant_hz(caller.heard(1.0)) - 600) < 20 and abs(dominant_hz(agent.heard(1.0)) - 1000) < 20
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m simulator.phones", description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", action="store_true", help="bridge a caller to a station phone and print what each hears")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    if not args.demo:
        ap.print_help()
        return 0
    return _demo(args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())

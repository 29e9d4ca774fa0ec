"""Call recording: both directions of a call to a stereo A-law WAV (left: far end, right: agent side).

The server calls :meth:`Recorder.feed` once per 20 ms block with what it received from the
trunk timeslot and what it sent to it. Files go to ``<directory>/<date>/<call id>.wav``;
the path is carried in the RecordingStarted / RecordingStopped events.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

from .wavfile import WavWriter


@dataclass
class Recording:
    call_id: str
    path: Path
    started: float
    writer: WavWriter
    blocks: int = 0


@dataclass
class Recorder:
    """Active recordings of a server, keyed by call id."""

    directory: Path
    flush_every: int = 50          #: blocks between header fix-ups (1 s)
    wall_clock: Callable[[], float] = time.time   #: names the date folder (board time may start at 0)
    active: dict[str, Recording] = field(default_factory=dict)

    def start(self, call_id: str, now: float) -> Recording:
        if call_id in self.active:
            raise ValueError(f"call {call_id!r} is already being recorded")
        day = time.strftime("%Y-%m-%d", time.gmtime(self.wall_clock()))
        folder = Path(self.directory) / day
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in call_id)
        path = folder / f"{safe}.wav"
        rec = Recording(call_id, path, now, WavWriter(path, channels=2))
        self.active[call_id] = rec
        return rec

    def feed(self, call_id: str, received: bytes, sent: bytes) -> None:
        rec = self.active.get(call_id)
        if rec is None:
            return
        rec.writer.write_frames(received, sent)
        rec.blocks += 1
        if rec.blocks % self.flush_every == 0:
            rec.writer.flush()

    def feed_many(self, blocks: list[tuple[Recording, bytes, bytes]]) -> None:
        """One block of several recordings, ``(recording, received, sent)`` each: what
        :meth:`feed` does, without the look-up and the call per recording (the contact centre
        feeds every active recording every block)."""
        every = self.flush_every
        for rec, received, sent in blocks:
            w = rec.writer
            w.write_pair(received, sent)
            rec.blocks += 1
            if rec.blocks % every == 0:
                w.flush()

    def stop(self, call_id: str, now: float) -> Recording | None:
        rec = self.active.pop(call_id, None)
        if rec is not None:
            rec.writer.close()
        return rec

    def stop_all(self, now: float) -> list[Recording]:
        return [r for r in (self.stop(c, now) for c in list(self.active)) if r is not None]

"""One caller leaving a message (sans-IO): greeting, beep, recording, and why it ended.

    rec = MessageRecording(path, spec, greeting=alaw, beep=alaw)
    every block:  out = rec.play(now)       # what the caller hears (greeting, then the beep; silence after)
                  rec.audio(rx_block, now)  # what the caller says (recorded after the beep)
    on a digit:   rec.digit("#", now)       # # ends the message; any digit during the greeting skips it
    on clear:     rec.hangup(now)
    rec.result                              # MessageResult once it has ended

A recording ends on the terminator (``#``), at ``max_seconds``, after ``silence_seconds`` of
silence (every block below ``silence_dbm0``; the silence is cut from the file), or when the
caller hangs up. A message shorter than ``min_seconds`` of sound is dropped (``too-short``:
a caller who hung up at the beep leaves nothing to listen to). The file is a WAV that
standard tools open: A-law (RIFF format 6) or 16-bit PCM, 8 kHz mono, its header fixed up
every second so a crash leaves a valid file. A write that fails (disk full, directory
gone) ends the recording with ``reason = "error"`` and the OS's message; the partial file
is removed, and the caller's call goes on (the service plays its apology).
"""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cti.tts.audio import decode as alaw_decode
from cti.tts.audio import encode as alaw_encode
from cti.media import wavfile

BLOCK = 160


class Phase(enum.Enum):
    GREETING = "greeting"
    BEEP = "beep"
    RECORDING = "recording"
    DONE = "done"


@dataclass(frozen=True)
class MessageSpec:
    max_seconds: float = 120.0
    silence_seconds: float = 6.0
    silence_dbm0: float = -45.0
    min_seconds: float = 1.0
    terminator: str = "#"
    pcm: bool = False                 #: 16-bit PCM WAV instead of A-law

    def __post_init__(self) -> None:
        if not 1.0 <= self.max_seconds <= 3600.0:
            raise ValueError(f"voicemail max_seconds must be 1..3600, not {self.max_seconds!r}")
        if not 0.5 <= self.silence_seconds <= self.max_seconds:
            raise ValueError(f"voicemail silence_seconds must be 0.5..max_seconds, not {self.silence_seconds!r}")
        if self.terminator and self.terminator not in "0123456789*#":
            raise ValueError(f"voicemail terminator must be one DTMF digit, not {self.terminator!r}")


@dataclass(frozen=True)
class MessageResult:
    path: str
    seconds: float            #: of audio kept in the file
    reason: str               #: terminator / max-length / silence / hangup / too-short / error
    error: str = ""

    @property
    def kept(self) -> bool:
        return self.reason not in ("too-short", "error") and self.seconds > 0


def level_dbm0(alaw: bytes) -> float:
    """The block's power in dBm0 (A-law: 0 dBm0 is a sine 3.14 dB below overload)."""
    x = alaw_decode(alaw).astype(np.float64)
    p = float(np.mean(x * x)) if len(x) else 0.0
    ref = (32768 * 10 ** (-3.14 / 20)) ** 2 / 2
    return 10 * np.log10(p / ref) if p > 0 else -120.0


class MessageRecording:
    """See the module docstring."""

    def __init__(self, path: str | Path, spec: MessageSpec | None = None, *, greeting: bytes = b"",
                 beep: bytes = b"") -> None:
        self.path = Path(path)
        self.spec = spec or MessageSpec()
        self._to_play = bytearray(greeting)
        self._beep = bytes(beep)
        self.phase = Phase.GREETING if greeting else Phase.BEEP
        self.result: MessageResult | None = None
        self._writer: wavfile.WavWriter | None = None
        self._pcm: list[np.ndarray] = []
        self._octets = 0              #: recorded so far (8000 per second)
        self._sound_octets = 0        #: of which above the silence level
        self._silent_run = 0          #: trailing silent octets
        self._since_flush = 0
        if self.phase is Phase.BEEP:
            self._to_play = bytearray(self._beep)

    # ---- output to the caller -----------------------------------------------------------------------
    def play(self, now: float) -> bytes | None:
        """The block to send the caller now, or None (nothing to say: the line stays as it is)."""
        if self.phase in (Phase.GREETING, Phase.BEEP) and self._to_play:
            out = bytes(self._to_play[:BLOCK])
            del self._to_play[:BLOCK]
            if not self._to_play:
                self._advance()
            return out.ljust(BLOCK, b"\xd5")
        if self.phase in (Phase.GREETING, Phase.BEEP):
            self._advance()
        return None

    def _advance(self) -> None:
        if self.phase is Phase.GREETING:
            self.phase = Phase.BEEP
            self._to_play = bytearray(self._beep)
            if not self._beep:
                self._begin()
        elif self.phase is Phase.BEEP:
            self._begin()

    def _begin(self) -> None:
        self.phase = Phase.RECORDING
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.spec.pcm:
                self._writer = wavfile.WavWriter(self.path, channels=1)
        except OSError as exc:
            self._fail(exc)

    # ---- input from the caller ----------------------------------------------------------------------
    def audio(self, alaw: bytes, now: float) -> None:
        if self.phase is not Phase.RECORDING:
            return
        silent = level_dbm0(alaw) < self.spec.silence_dbm0
        try:
            if self._writer is not None:
                self._writer.write_frames(alaw)
                self._since_flush += len(alaw)
                if self._since_flush >= 8000:
                    self._writer.flush()
                    self._since_flush = 0
            else:
                self._pcm.append(alaw_decode(alaw).astype(np.int16))
        except OSError as exc:
            self._fail(exc)
            return
        self._octets += len(alaw)
        if silent:
            self._silent_run += len(alaw)
        else:
            self._sound_octets += len(alaw)
            self._silent_run = 0
        if self._silent_run >= self.spec.silence_seconds * 8000:
            self._end("silence", trim=self._silent_run)
        elif self._octets >= self.spec.max_seconds * 8000:
            self._end("max-length")

    def digit(self, d: str, now: float) -> None:
        if self.phase is Phase.GREETING:
            self._to_play.clear()          # a key during the greeting skips to the beep
            self._advance()
        elif self.phase is Phase.RECORDING and d == self.spec.terminator:
            self._end("terminator")

    def hangup(self, now: float) -> MessageResult:
        if self.phase is not Phase.DONE:
            if self.phase is Phase.RECORDING:
                self._end("hangup", trim=self._silent_run)
            else:
                self.phase = Phase.DONE
                self.result = MessageResult(str(self.path), 0.0, "too-short")
        assert self.result is not None
        return self.result

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    # ---- ending ---------------------------------------------------------------------------------------
    def _end(self, reason: str, trim: int = 0) -> None:
        keep = max(0, self._octets - trim)
        self.phase = Phase.DONE
        if self._sound_octets < self.spec.min_seconds * 8000:
            self._discard()
            self.result = MessageResult(str(self.path), 0.0, "too-short")
            return
        try:
            if self._writer is not None:
                self._writer.close()
                if trim:
                    _truncate_alaw_wav(self.path, keep)
            else:
                pcm = np.concatenate(self._pcm)[:keep] if self._pcm else np.zeros(0, np.int16)
                wavfile.write(self.path, pcm, fmt=wavfile.FORMAT_PCM)
        except OSError as exc:
            self._fail(exc)
            return
        self.result = MessageResult(str(self.path), round(keep / 8000.0, 2), reason)

    def _fail(self, exc: OSError) -> None:
        self.phase = Phase.DONE
        self._discard()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        self.result = MessageResult(str(self.path), 0.0, "error", f"cannot write {self.path}: {why}")

    def _discard(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
            self._writer = None
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass


def _truncate_alaw_wav(path: Path, octets: int) -> None:
    """Rewrite a mono A-law WAV keeping its first ``octets`` of audio (the trailing silence cut)."""
    audio = wavfile.read_channels(path)[1][:, 0]
    wavfile.write(path, alaw_encode(audio[:octets].astype(np.int16)))

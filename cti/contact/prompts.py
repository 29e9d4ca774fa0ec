"""Queue prompts: position / expected-wait announcements and the voicemail prompt.

A directory of WAV files (any format cti.media.wavfile reads: A-law, u-law, PCM, any rate):
``position.wav`` ("you are caller number"), ``0.wav`` .. ``9.wav``, ``minutes.wav``
("minutes expected wait") and ``voicemail.wav`` (played before an overflow to voicemail
releases the caller). Missing files leave that part silent.
"""
from __future__ import annotations

import math
from pathlib import Path

from cti.media.wavfile import WavError, read_alaw


class QueuePrompts:
    """A-law audio for announcements, loaded once from ``directory``."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory else None
        self._cache: dict[str, bytes] = {}
        if self.directory is not None and not self.directory.is_dir():
            raise ValueError(f"queue prompts directory {self.directory} not found")

    def _get(self, name: str) -> bytes:
        if self.directory is None:
            return b""
        if name not in self._cache:
            path = self.directory / f"{name}.wav"
            try:
                self._cache[name] = read_alaw(path) if path.is_file() else b""
            except (WavError, OSError, ValueError):
                self._cache[name] = b""
        return self._cache[name]

    def number(self, n: int) -> bytes:
        return b"".join(self._get(d) for d in str(max(0, int(n))))

    def announcement(self, position: int, expected_wait: float | None) -> bytes:
        """"you are caller number <position>" [+ "<minutes> minutes expected wait"]."""
        audio = self._get("position") + self.number(position)
        if expected_wait is not None and self._get("minutes"):
            audio += self.number(max(1, math.ceil(expected_wait / 60.0))) + self._get("minutes")
        return audio

    def voicemail(self) -> bytes:
        return self._get("voicemail")

"""Queue prompts: position / expected-wait announcements and the voicemail prompt.

Two kinds of directory:

* a **prompt set** (a ``manifest.toml`` in it, :mod:`cti.prompts`): announcements are read
  in its language with its number rules (Mandarin: 您前面还有 三 位 预计等待 两 分钟), the
  voicemail prompt is its ``voicemail_greeting``. The media resources (``[media]``) hand
  theirs in with :meth:`QueuePrompts.use` when the contact centre has none.
* the older **flat directory** of WAV files (any format cti.media.wavfile reads):
  ``position.wav`` ("you are caller number"), ``0.wav`` .. ``9.wav``, ``minutes.wav``
  ("minutes expected wait") and ``voicemail.wav`` (played before an overflow to voicemail).

Missing files leave that part silent: an announcement never stops a call.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from cti.media.wavfile import WavError, read_alaw

log = logging.getLogger(__name__)


class QueuePrompts:
    """A-law audio for announcements, loaded once from ``directory``."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory else None
        self._cache: dict[str, bytes] = {}
        self.set: Any = None          #: a cti.prompts.PromptSet, when the directory is one
        if self.directory is not None and not self.directory.is_dir():
            raise ValueError(f"queue prompts directory {self.directory} not found")
        if self.directory is not None and (self.directory / "manifest.toml").is_file():
            from cti.prompts import PromptError, PromptSet
            try:
                self.set = PromptSet.load(self.directory)
            except PromptError as e:
                raise ValueError(str(e)) from None

    def use(self, prompt_set: Any) -> None:
        """Read announcements from ``prompt_set`` (a cti.prompts.PromptSet) when no directory was given."""
        if self.directory is None or self.set is None:
            self.set = prompt_set

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
        if self.set is not None:
            audio = bytes(self.set.queue_position(position, expected_wait, strict=False))
            if not audio:
                log.warning("prompt set %s has no queue-position prompts", self.set.directory)
            return audio
        audio = self._get("position") + self.number(position)
        if expected_wait is not None and self._get("minutes"):
            audio += self.number(max(1, math.ceil(expected_wait / 60.0))) + self._get("minutes")
        return audio

    def voicemail(self) -> bytes:
        if self.set is not None:
            return bytes(self.set.compose(["voicemail_greeting"], strict=False))
        return self._get("voicemail")

"""Prompt sets: a directory of recordings with a manifest, and the announcements built from them.

A prompt set is a directory::

    manifest.toml        [set] language, voice, generator; [prompts] name = { file, text, say }
    0.wav 1.wav ... agent_before.wav ...

Any WAV :mod:`cti.media.wavfile` reads (A-law, u-law, PCM, any rate) is accepted, so a
studio recording can replace any generated file (keep its name in the manifest). The
shipped sets (Mandarin ``zh``, English ``en``) are generated from ``cti/prompts/sets/*.toml``
with espeak-ng (:mod:`cti.prompts.build`), at build time (``python -m cti.prompts build``)
or on first use (:func:`shipped`).

Announcements (:class:`PromptSet`):

* ``agent_number("1024")`` -> 工号 幺零二四 为您服务 / "Agent number one zero two four will
  take your call" (digit by digit, see :mod:`cti.prompts.numbers`);
* ``queue_position(3, wait_s)`` -> 您前面还有 三 位 [预计等待 两 分钟] / "There are three
  callers ahead of you [The expected wait is two minutes]".

A prompt missing from the set raises :class:`PromptMissing` naming it and the directory;
``compose(..., strict=False)`` leaves it out instead, so a call is never stopped by it.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cti.media.wavfile import WavError, read_alaw

from . import numbers


class PromptError(ValueError):
    """A prompt set that cannot be used (no manifest, bad manifest), with the reason."""


class PromptMissing(PromptError, KeyError):
    """A prompt the announcement needs is not in the set (or its file is missing/unreadable)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class PromptSet:
    directory: Path
    language: str
    voice: str
    prompts: dict[str, dict[str, Any]]
    _audio: dict[str, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, directory: str | Path) -> PromptSet:
        d = Path(directory)
        m = d / "manifest.toml"
        try:
            doc = tomllib.loads(m.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PromptError(f"prompt set {d}: no manifest.toml") from None
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PromptError(f"prompt set {m}: {exc}") from None
        head, prompts = doc.get("set", {}), doc.get("prompts", {})
        if head.get("language") not in ("zh", "en"):
            raise PromptError(f"prompt set {m}: [set] language must be 'zh' or 'en', not {head.get('language')!r}")
        if not isinstance(prompts, dict) or not prompts:
            raise PromptError(f"prompt set {m}: no [prompts]")
        for name, p in prompts.items():
            if not isinstance(p, dict) or not isinstance(p.get("file", ""), str):
                raise PromptError(f"prompt set {m}: prompts.{name} must be a table with a file")
        return cls(d, head["language"], str(head.get("voice", "")), prompts)

    def names(self) -> list[str]:
        return sorted(self.prompts)

    def audio(self, name: str) -> bytes:
        """One prompt as 8 kHz A-law (loaded once)."""
        if name not in self._audio:
            p = self.prompts.get(name)
            if p is None:
                raise PromptMissing(f"prompt {name!r} is not in the {self.language} prompt set {self.directory}")
            path = self.directory / p.get("file", f"{name}.wav")
            try:
                self._audio[name] = read_alaw(path)
            except (OSError, WavError, ValueError) as exc:
                raise PromptMissing(f"prompt {name!r} of {self.directory}: {exc}") from None
        return self._audio[name]

    def compose(self, names: list[str], *, strict: bool = True, gap_ms: int = 0) -> bytes:
        """The prompts one after another; ``strict=False`` skips missing ones."""
        gap = b"\xd5" * (8 * gap_ms)
        out = bytearray()
        for n in names:
            try:
                out += self.audio(n)
            except PromptMissing:
                if strict:
                    raise
                continue
            out += gap
        return bytes(out)

    # ---- announcements ---------------------------------------------------------------------------------
    def agent_number_names(self, work_number: str) -> list[str]:
        return ["agent_before", *numbers.digits(self.language, work_number), "agent_after"]

    def queue_position_names(self, position: int, expected_wait: float | None = None) -> list[str]:
        out = ["position_before", *numbers.quantity(self.language, max(0, int(position))), "position_after"]
        if expected_wait is not None and expected_wait > 0:
            minutes = max(1, math.ceil(expected_wait / 60.0))
            out += ["wait_before", *numbers.quantity(self.language, minutes), "wait_after"]
        return out

    def agent_number(self, work_number: str, *, strict: bool = True) -> bytes:
        return self.compose(self.agent_number_names(work_number), strict=strict)

    def queue_position(self, position: int, expected_wait: float | None = None, *, strict: bool = True) -> bytes:
        return self.compose(self.queue_position_names(position, expected_wait), strict=strict)

    def text(self, names: list[str]) -> str:
        """What the names say, for logs and tests (Mandarin without spaces)."""
        sep = "" if self.language == "zh" else " "
        return sep.join(str(self.prompts.get(n, {}).get("text", f"<{n}>")) for n in names)

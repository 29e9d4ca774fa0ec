"""Text-to-speech engines: one small interface, espeak-ng by default, any other engine plugged in.

An engine turns text in a voice into linear PCM::

    class TtsEngine:
        name: str                                    # part of the cache key
        def version(self) -> str                     # part of the cache key (a new engine re-renders)
        def voices(self) -> list[str]
        def render(self, text: str, voice: str, timeout: float) -> tuple[numpy.ndarray, int]
            # int16 mono samples and their rate; raise TtsError with the reason on failure

``render`` runs on a worker thread of :class:`cti.tts.service.TtsService`, never on the
board loop; it must give up by ``timeout`` seconds (a subprocess is killed then). Engines:

* :class:`EspeakEngine` (default): the ``espeak-ng`` program (Debian package espeak-ng),
  voices such as ``en-us``, ``cmn`` (Mandarin, characters; Debian's dictionary lacks many)
  and ``cmn-latn-pinyin`` (tone-numbered pinyin, ``ni3 hao3``).
* :class:`CommandEngine`: any program that writes a WAV: ``argv`` with ``{text}``,
  ``{voice}`` and ``{out}`` (a temporary file path; without ``{out}`` the WAV is read from
  standard output). This is how a commercial engine's command-line client plugs in::

      [media.tts]
      engine = "command"
      command = ["/opt/vendor/bin/tts", "--voice", "{voice}", "--wav", "{out}", "{text}"]
      voices = ["xiaoyan", "catherine"]

* an in-process engine (a vendor SDK): a class with the interface above, named
  ``engine = "package.module:Class"`` (constructed with the ``[media.tts]`` table's
  ``options``). If its ``render`` can hang, the service still answers the call by the
  deadline (the worker thread is abandoned and counted as stuck).
"""
from __future__ import annotations

import importlib
import os
import shutil
import struct
import subprocess
import tempfile
from typing import Any, Protocol

import numpy as np

from cti.media.wavfile import WavError, read_info_and_pcm


class TtsError(RuntimeError):
    """Rendering failed (engine missing, bad voice, crashed, timed out), with the reason."""


class TtsEngine(Protocol):
    name: str

    def version(self) -> str: ...

    def voices(self) -> list[str]: ...

    def render(self, text: str, voice: str, timeout: float) -> tuple[np.ndarray, int]: ...


def _run(argv: list[str], timeout: float, what: str) -> bytes:
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise TtsError(f"{what}: program {argv[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise TtsError(f"{what}: did not finish in {timeout:g} s (killed)") from None
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TtsError(f"{what}: exit {r.returncode}" + (f": {err[-1]}" if err else ""))
    return r.stdout


def _wav(data: bytes, what: str) -> tuple[np.ndarray, int]:
    if not data:
        raise TtsError(f"{what}: no audio produced")
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:     # the WAV reader takes paths
        f.write(data)
        f.flush()
        try:
            info, pcm = read_info_and_pcm(f.name)
        except (WavError, ValueError, OSError, struct.error) as exc:
            raise TtsError(f"{what}: not a WAV ({exc})") from None
    if not len(pcm):
        raise TtsError(f"{what}: empty audio")
    if int(np.max(np.abs(pcm.astype(np.int32)))) < 64:
        raise TtsError(f"{what}: produced only silence (unknown voice, or nothing it can say)")
    return pcm, info.rate


class EspeakEngine:
    """espeak-ng through its command line (``espeak-ng -v VOICE --stdout TEXT``)."""

    name = "espeak-ng"

    def __init__(self, program: str = "espeak-ng", speed: int = 150, pitch: int = 50) -> None:
        self.program = program
        self.speed, self.pitch = int(speed), int(pitch)
        self._version: str | None = None
        self._voices: list[str] | None = None

    def available(self) -> bool:
        return shutil.which(self.program) is not None

    def version(self) -> str:
        if self._version is None:
            out = _run([self.program, "--version"], 5.0, "espeak-ng --version")
            text = out.decode("utf-8", "replace").split("Data at")[0].strip()
            self._version = text.rsplit(":", 1)[-1].strip() or text
        return self._version

    def voices(self) -> list[str]:
        """Language names (``cmn``, ``en-us``), voice names and voice files espeak-ng knows."""
        if self._voices is None:
            out = _run([self.program, "--voices"], 5.0, "espeak-ng --voices").decode("utf-8", "replace")
            names: set[str] = set()
            for line in out.splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 5:
                    names.update((cols[1], cols[3], cols[4]))
            self._voices = sorted(names)
        return self._voices

    def render(self, text: str, voice: str, timeout: float) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise TtsError("nothing to say (empty text)")
        if voice.split("+")[0] not in self.voices():     # espeak-ng would quietly use its default voice
            raise TtsError(f"espeak-ng voice {voice!r}: unknown voice (espeak-ng --voices lists them)")
        argv = [self.program, "-v", voice, "-s", str(self.speed), "-p", str(self.pitch), "--stdout", "--", text]
        return _wav(_run(argv, timeout, f"espeak-ng voice {voice!r}"), f"espeak-ng voice {voice!r}")


class CommandEngine:
    """Any program that writes a WAV (see the module docstring)."""

    name = "command"

    def __init__(self, command: list[str], voices: list[str] | None = None, version: str = "1") -> None:
        if not command or not all(isinstance(a, str) for a in command):
            raise TtsError("[media.tts] command must be a list of strings with {text} and {voice}")
        self.command = list(command)
        self._voices = list(voices or [])
        self._version = version

    def version(self) -> str:
        return f"{' '.join(self.command)} v{self._version}"

    def voices(self) -> list[str]:
        return list(self._voices)

    def render(self, text: str, voice: str, timeout: float) -> tuple[np.ndarray, int]:
        what = f"TTS command {os.path.basename(self.command[0])!r}"
        if "{out}" in " ".join(self.command):
            fd, out = tempfile.mkstemp(suffix=".wav")
            os.close(fd)
            try:
                _run([a.format(text=text, voice=voice, out=out) for a in self.command], timeout, what)
                with open(out, "rb") as f:
                    return _wav(f.read(), what)
            finally:
                os.unlink(out)
        return _wav(_run([a.format(text=text, voice=voice, out="") for a in self.command], timeout, what), what)


def make_engine(spec: dict[str, Any] | None) -> TtsEngine:
    """The engine a ``[media.tts]`` table names (espeak-ng when absent)."""
    spec = dict(spec or {})
    kind = spec.pop("engine", "espeak-ng")
    if kind == "espeak-ng":
        return EspeakEngine(**spec.get("options", {}))
    if kind == "command":
        return CommandEngine(spec.get("command", []), spec.get("voices"), str(spec.get("version", "1")))
    if isinstance(kind, str) and ":" in kind:
        module, _, cls = kind.partition(":")
        try:
            engine: TtsEngine = getattr(importlib.import_module(module), cls)(**spec.get("options", {}))
        except (ImportError, AttributeError, TypeError) as exc:
            raise TtsError(f"[media.tts] engine {kind!r} cannot be loaded: {exc}") from None
        return engine
    raise TtsError(f"[media.tts] engine {kind!r}: give 'espeak-ng', 'command' or 'package.module:Class'")

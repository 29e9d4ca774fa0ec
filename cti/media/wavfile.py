"""WAV files for prompts and recordings: 16-bit PCM, A-law and u-law (RIFF WAVE formats 1, 6, 7).

Python's ``wave`` module reads PCM only; telephony prompts are often stored as G.711 WAVs,
so this reads the RIFF chunks itself and converts through the G.711 codec kernel. Prompts
at another sampling rate than 8000 Hz are resampled (linear interpolation, numpy).
Malformed files raise :class:`WavError` naming the problem.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from collections.abc import Iterator

import numpy as np

from _boardcore import g711

FORMAT_PCM = 1
FORMAT_ALAW = 6
FORMAT_ULAW = 7
RATE = 8000


class WavError(ValueError):
    """A file that is not a WAV this project can read (with the reason)."""


@dataclass(frozen=True)
class WavInfo:
    format: int
    channels: int
    rate: int
    bits: int
    frames: int


def _chunks(data: bytes, path: str) -> Iterator[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{path}: not a RIFF/WAVE file")
    pos = 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8: pos + 8 + size]
        if len(body) < size and cid != b"data":
            raise WavError(f"{path}: chunk {cid!r} truncated ({len(body)} of {size} octets)")
        yield cid, body
        pos += 8 + size + (size & 1)


def read_info_and_pcm(path: str | Path) -> tuple[WavInfo, np.ndarray]:
    """Read a WAV file: its format and its first channel as int16 linear PCM at its own rate."""
    info, pcm = read_channels(path)
    return info, np.ascontiguousarray(pcm[:, 0])


def read_channels(path: str | Path) -> tuple[WavInfo, np.ndarray]:
    """Read a WAV file: its format and every channel, int16 PCM shaped (frames, channels)
    (a recording: column 0 the far end, column 1 the agent side)."""
    p = str(path)
    data = Path(path).read_bytes()
    fmt: WavInfo | None = None
    payload: bytes | None = None
    for cid, body in _chunks(data, p):
        if cid == b"fmt ":
            if len(body) < 16:
                raise WavError(f"{p}: fmt chunk too short")
            tag, ch, rate, _, _align, bits = struct.unpack_from("<HHIIHH", body)
            if tag == 0xFFFE and len(body) >= 26:     # WAVE_FORMAT_EXTENSIBLE: sub-format GUID
                tag = struct.unpack_from("<H", body, 24)[0]
            fmt = WavInfo(tag, ch, rate, bits, 0)
        elif cid == b"data":
            payload = body
    if fmt is None or payload is None:
        raise WavError(f"{p}: missing {'fmt' if fmt is None else 'data'} chunk")
    if fmt.channels < 1 or fmt.rate <= 0:
        raise WavError(f"{p}: bad channel count {fmt.channels} or rate {fmt.rate}")
    if fmt.format == FORMAT_PCM and fmt.bits == 16:
        usable = len(payload) - len(payload) % (2 * fmt.channels)
        pcm = np.frombuffer(payload[:usable], dtype="<i2").astype(np.int16)
    elif fmt.format in (FORMAT_ALAW, FORMAT_ULAW) and fmt.bits == 8:
        usable = len(payload) - len(payload) % fmt.channels
        dec = g711.alaw_decode if fmt.format == FORMAT_ALAW else g711.ulaw_decode
        pcm = np.asarray(dec(payload[:usable]), dtype=np.int16)
    elif fmt.format == FORMAT_PCM and fmt.bits == 8:
        usable = len(payload) - len(payload) % fmt.channels
        pcm = ((np.frombuffer(payload[:usable], dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    else:
        raise WavError(f"{p}: unsupported WAV format {fmt.format} with {fmt.bits} bits "
                       "(use 16-bit PCM, 8-bit PCM, A-law or u-law)")
    pcm = pcm.reshape(-1, fmt.channels)
    return WavInfo(fmt.format, fmt.channels, fmt.rate, fmt.bits, len(pcm)), pcm


def resample(pcm: np.ndarray, rate: int, to: int = RATE) -> np.ndarray:
    """Linear-interpolation resampling of int16 PCM (prompts only; not for measurement)."""
    if rate == to or len(pcm) == 0:
        return pcm.astype(np.int16, copy=False)
    n = round(len(pcm) * to / rate)
    x = np.linspace(0, len(pcm) - 1, n)
    return np.round(np.interp(x, np.arange(len(pcm)), pcm.astype(np.float64))).astype(np.int16)


def read_alaw(path: str | Path) -> bytes:
    """A WAV file as 8 kHz A-law octets, ready to play on a timeslot."""
    info, pcm = read_info_and_pcm(path)
    return bytes(g711.alaw_encode(resample(pcm, info.rate)))


def write(path_or_file: str | Path | BinaryIO, samples: bytes | np.ndarray, *, fmt: int = FORMAT_ALAW,
          channels: int = 1, rate: int = RATE) -> None:
    """Write a WAV: ``samples`` are G.711 octets (fmt 6/7, interleaved when stereo) or int16 PCM (fmt 1)."""
    if fmt == FORMAT_PCM:
        body = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        bits = 16
    elif fmt in (FORMAT_ALAW, FORMAT_ULAW):
        body = bytes(samples)
        bits = 8
    else:
        raise WavError(f"cannot write WAV format {fmt}")
    align = channels * bits // 8
    # G.711 WAVs carry an 18-octet fmt chunk (cbSize = 0) and a fact chunk, as RFC 2361 expects.
    fmt_body = struct.pack("<HHIIHH", fmt, channels, rate, rate * align, align, bits)
    chunks = [(b"fmt ", fmt_body + (b"\x00\x00" if fmt != FORMAT_PCM else b""))]
    if fmt != FORMAT_PCM:
        chunks.append((b"fact", struct.pack("<I", len(body) // align)))
    chunks.append((b"data", body))
    riff = b"WAVE" + b"".join(cid + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"")
                              for cid, b in chunks)
    blob = b"RIFF" + struct.pack("<I", len(riff)) + riff
    if hasattr(path_or_file, "write"):
        path_or_file.write(blob)
    else:
        Path(path_or_file).write_bytes(blob)


class WavWriter:
    """A G.711 WAV written as audio arrives (recordings); sizes are fixed up at ``close``.

    A recording cut short by a crash still has a valid header up to the last ``flush``.
    """

    def __init__(self, path: str | Path, *, channels: int = 2, fmt: int = FORMAT_ALAW, rate: int = RATE) -> None:
        if fmt not in (FORMAT_ALAW, FORMAT_ULAW):
            raise WavError("WavWriter writes A-law or u-law")
        self.path = Path(path)
        self.channels, self.fmt, self.rate = channels, fmt, rate
        self.octets = 0
        self._pair = bytearray(2 * 160)     #: a 20 ms stereo block, interleaved (write_frames)
        self._f = open(self.path, "wb")  # noqa: SIM115 - the writer owns the file until close()
        self._write_header()

    def _write_header(self) -> None:
        align = self.channels
        fmt_body = struct.pack("<HHIIHHH", self.fmt, self.channels, self.rate, self.rate * align, align, 8, 0)
        head = (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt_body) + 12 + 8 + self.octets) + b"WAVE"
                + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
                + b"fact" + struct.pack("<II", 4, self.octets // align)
                + b"data" + struct.pack("<I", self.octets))
        self._f.seek(0)
        self._f.write(head)
        self._f.seek(0, 2)

    def write_frames(self, *channels: bytes) -> None:
        """Append one block per channel (equal lengths), interleaving them."""
        k = self.channels
        if len(channels) != k:
            raise ValueError(f"expected {k} channel blocks, got {len(channels)}")
        n = len(channels[0])
        if k == 2:                           # a call's two directions, per recorded call every block
            if len(channels[1]) != n:
                raise ValueError("channel blocks differ in length")
            data = self._pair if len(self._pair) == 2 * n else bytearray(2 * n)
            data[0::2] = channels[0]        # the file copies it: one buffer reused, block after block
            data[1::2] = channels[1]
        else:
            if any(len(c) != n for c in channels):
                raise ValueError("channel blocks differ in length")
            data = bytearray(n * k)
            for i, c in enumerate(channels):     # interleaved by strided slice assignment (C, no array)
                data[i::k] = c
        self._f.write(data)
        self.octets += len(data)

    def write_pair(self, left: bytes, right: bytes) -> None:
        """One block of a stereo file (a call's two directions), interleaved: what
        ``write_frames(left, right)`` does, on the path every recorded call takes every block."""
        n = len(left)
        if self.channels != 2 or len(right) != n:
            self.write_frames(left, right)          # the general path raises what is wrong
            return
        data = self._pair
        if len(data) != 2 * n:
            data = bytearray(2 * n)
        data[0::2] = left
        data[1::2] = right
        self._f.write(data)
        self.octets += 2 * n

    def flush(self) -> None:
        self._write_header()
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self.flush()
            self._f.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

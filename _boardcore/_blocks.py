"""Argument checks shared by the kernels' twins (the compiled kernels call them through their
twin, so both implementations refuse the same input with the same message).

    check_channels(channels) -> int        # 1..4096, TypeError/ValueError otherwise
    check_channel(channel, channels) -> int  # one channel index 0..channels-1
    check_channel_list(chans, channels)    # distinct indices as a C-contiguous int32 array
    check_now(now) -> float                # a finite number of seconds
    as_channels(samples, channels)         # C-contiguous int16 (channels, n)
    as_octets(data, what) -> memoryview    # flat octets (G.711 codes, HDLC, E1 frames)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["check_channels", "check_channel", "check_channel_list", "check_now", "as_channels",
           "as_octets"]


def check_channels(channels: object) -> int:
    """``channels`` as an int in 1..4096; TypeError for a non-integer (or bool), else ValueError."""
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
        raise TypeError(f"channels must be an int, got {type(channels).__name__}")
    if not 1 <= int(channels) <= 4096:
        raise ValueError(f"channels must be 1..4096, got {channels}")
    return int(channels)


def check_channel(channel: object, channels: int) -> int:
    """``channel`` as an index of a detector with ``channels`` channels; TypeError for a
    non-integer (or bool), ValueError out of range."""
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
        raise TypeError(f"channel must be an int, got {type(channel).__name__}")
    if not 0 <= channel < channels:
        raise ValueError(f"channel {channel} out of range 0..{channels - 1}")
    return int(channel)


def check_channel_list(chans: object, channels: int) -> np.ndarray:
    """``chans`` (a sequence or 1-D integer array of channel indices) as a C-contiguous int32
    array; TypeError for non-integers, ValueError out of range or repeated."""
    if isinstance(chans, (str, bytes)) or not hasattr(chans, "__len__"):
        raise TypeError(f"channels must be a sequence of ints, got {type(chans).__name__}")
    arr = np.asarray(chans)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int32)
    if arr.ndim != 1:
        raise ValueError(f"channels must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"channels must be ints, got dtype {arr.dtype}")
    if int(arr.min()) < 0 or int(arr.max()) >= channels:
        raise ValueError(f"channel out of range 0..{channels - 1} in {arr.tolist()}")
    if int(np.bincount(arr, minlength=1).max()) > 1:
        raise ValueError(f"channels repeated in {arr.tolist()}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def check_now(now: object) -> float:
    """``now`` as a float; TypeError when it is not a number, ValueError when not finite."""
    try:
        t = float(now)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"now must be a number, got {type(now).__name__}") from None
    if not math.isfinite(t):
        raise ValueError(f"now must be finite, got {now!r}")
    return t


def as_channels(samples: object, channels: int) -> np.ndarray:
    """``samples`` as a C-contiguous int16 array shaped (channels, n).

    Accepts an int16 ndarray shaped (channels, n) or (channels*n,), or any buffer of int16
    (bytes are read as native-endian int16). Float arrays are refused (TypeError): convert
    and clip them yourself, so NaN or overflow never turns into a silent wrong answer.
    Anything else raises TypeError / ValueError with the reason.
    """
    if isinstance(samples, np.ndarray):
        arr = samples
    elif isinstance(samples, (bytes, bytearray, memoryview)):
        mv = memoryview(samples)
        if mv.format in ("B", "b", "c") and mv.ndim == 1:
            if mv.nbytes % 2:
                raise ValueError(f"byte buffer of odd length {mv.nbytes} is not int16 samples")
            arr = np.frombuffer(mv, dtype=np.int16)
        else:
            arr = np.asarray(mv)
    else:
        raise TypeError(f"samples must be an int16 numpy array or buffer, got {type(samples).__name__}")
    if arr.dtype != np.int16:
        raise TypeError(f"samples must be int16, got dtype {arr.dtype}")
    if arr.ndim == 1:
        if arr.shape[0] % channels:
            raise ValueError(f"{arr.shape[0]} samples do not split into {channels} channels")
        arr = arr.reshape(channels, arr.shape[0] // channels)
    elif arr.ndim == 2:
        if arr.shape[0] != channels:
            raise ValueError(f"samples shaped {arr.shape} but the detector has {channels} channels")
    else:
        raise ValueError(f"samples must be 1-D or 2-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def as_octets(data: object, what: str = "data") -> memoryview:
    """``data`` (bytes-like, or a uint8/int8 numpy array) as a flat C-contiguous view of octets,
    writable when ``data`` is; TypeError / ValueError naming ``what`` otherwise."""
    if isinstance(data, np.ndarray):
        if data.dtype not in (np.uint8, np.int8):
            raise TypeError(f"{what} must be octets (uint8), got dtype {data.dtype}")
        if not data.flags.c_contiguous:
            raise ValueError(f"{what} array must be C-contiguous (np.ascontiguousarray)")
        return memoryview(data.reshape(-1).view(np.uint8))  # type: ignore[arg-type]  # numpy's stubs: an ndarray is a buffer
    if isinstance(data, (str, int, float, list, tuple)) or data is None:
        raise TypeError(f"{what} must be a bytes-like object, got {type(data).__name__}")
    try:
        mv = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, got {type(data).__name__}") from None
    if mv.itemsize != 1:
        raise TypeError(f"{what} must be octets, got a buffer of {mv.itemsize}-byte items")
    if not mv.c_contiguous:
        raise ValueError(f"{what} buffer must be C-contiguous")
    return mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv

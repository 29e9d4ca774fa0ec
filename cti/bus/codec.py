"""msgpack encoding of bus messages, with the limits the server enforces on input."""
from __future__ import annotations

from typing import Any

import msgpack

from .errors import MalformedRequestError

_packer = msgpack.Packer(use_bin_type=True)


def pack(obj: Any) -> bytes:
    """msgpack bytes of ``obj`` (str as str, bytes as bin)."""
    out: bytes = _packer.pack(obj)      # typed here: msgpack ships no annotations
    return out


def unpack(data: bytes, *, max_size: int = 1 << 20) -> Any:
    """Decode one msgpack object; MalformedRequestError on garbage, trailing bytes or oversize."""
    if len(data) > max_size:
        raise MalformedRequestError(f"frame of {len(data)} octets exceeds {max_size}", size=len(data))
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False,
                               max_str_len=max_size, max_bin_len=max_size, max_array_len=65536,
                               max_map_len=4096, max_ext_len=0)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError, TypeError) as e:
        raise MalformedRequestError(f"not one msgpack object: {type(e).__name__}") from None
    except Exception as e:  # msgpack raises a few others on hostile input (e.g. UnicodeDecodeError)
        raise MalformedRequestError(f"undecodable frame: {type(e).__name__}") from None


def unpack_event(data: bytes) -> dict[str, Any]:
    """Decode a published event (trusted: produced by the server)."""
    event: dict[str, Any] = msgpack.unpackb(data, raw=False, strict_map_key=False)
    return event

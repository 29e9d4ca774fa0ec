"""Error types shared by the signalling stacks (h11's Local/Remote split)."""
from __future__ import annotations


class ProtocolError(Exception):
    """Base of every signalling error. Decoders raise only this (and subclasses)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something malformed or unexpected in the current state."""


class LocalProtocolError(ProtocolError):
    """Our user asked for something the protocol does not allow in the current state."""


class DecodeError(RemoteProtocolError):
    """Bytes on the wire could not be decoded."""

"""The cluster stream's layout on JetStream: one stream, one subject per node, one message
per bus event, the bus frame unchanged as payload.

* subject ``<subject>.<node>`` (``cti.events.a``): a consumer filters a node by subject;
* payload: the exact msgpack frame the node's ZeroMQ bus sent (same schema, same envelope:
  ``seq``, ``time``, ``v``, ``topic``, ``epoch``; docs/bus.md);
* headers ``Nats-Msg-Id: <node>:<epoch>:<seq>`` (JetStream drops a second message with the same
  id inside the stream's duplicate window: a resend after a lost acknowledgement, a node's
  restart, is stored once), ``Cti-Node``, ``Cti-Epoch``, ``Cti-Seq`` (so that the node's
  position can be read back without decoding the payload).

A node's seqs never repeat within one journal epoch (the bus reserves them durably), so the id
names one event of the cluster for ever.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import ClusterConfig

H_MSG_ID = "Nats-Msg-Id"
H_NODE = "Cti-Node"
H_EPOCH = "Cti-Epoch"
H_SEQ = "Cti-Seq"


def subject(cfg: ClusterConfig, node: str) -> str:
    return f"{cfg.subject}.{node}"


def msg_id(node: str, epoch: str, seq: int) -> str:
    return f"{node}:{epoch}:{seq}"


def headers(node: str, epoch: str, seq: int) -> dict[str, str]:
    return {H_MSG_ID: msg_id(node, epoch, seq), H_NODE: node, H_EPOCH: epoch, H_SEQ: str(seq)}


@dataclass(frozen=True)
class Position:
    """Where a node's events on the stream end: the epoch and seq of its last stored one."""

    epoch: str
    seq: int


async def ensure_stream(js: Any, cfg: ClusterConfig) -> None:
    """Create the stream (or leave the one there: its replicas and limits are the operator's once made)."""
    from nats.js.api import StorageType, StreamConfig
    from nats.js.errors import NotFoundError
    try:
        await js.stream_info(cfg.stream)
        return
    except NotFoundError:
        pass
    await js.add_stream(StreamConfig(name=cfg.stream, subjects=[f"{cfg.subject}.>"], num_replicas=cfg.replicas,
                                     storage=StorageType.FILE, duplicate_window=float(cfg.duplicate_window),
                                     max_age=float(cfg.max_age) or None))


async def last_position(js: Any, cfg: ClusterConfig, node: str) -> Position | None:
    """The node's last event on the stream (None: it has published nothing there yet)."""
    from nats.js.errors import NotFoundError
    try:
        msg = await js.get_last_msg(cfg.stream, subject(cfg, node))
    except NotFoundError:
        return None
    h = msg.headers or {}
    try:
        return Position(str(h[H_EPOCH]), int(h[H_SEQ]))
    except (KeyError, ValueError):
        return None


__all__ = ["H_EPOCH", "H_MSG_ID", "H_NODE", "H_SEQ", "Position", "ensure_stream", "headers", "last_position",
           "msg_id", "subject"]

"""Several cti-server nodes as one contact centre (issue 17; docs/cluster.md).

What exists: node identity (``[server] node``: call ids ``<node>-<n>``, a subject per node),
the ``[cluster]`` section (:mod:`.config`), the cluster publisher (:mod:`.publisher`, a server
component; :mod:`.relay`, its thread) putting every event of every node on one replicated
NATS JetStream stream exactly once (:mod:`.stream`), and a durable consumer reading the whole
centre (:mod:`.consumer`). :mod:`.natsd` runs a local nats-server cluster for tests and
benchmarks. Built on NATS JetStream (Raft replication, message-id deduplication, durable
consumers) rather than a protocol of our own; nats-py is imported only when a node has a
``[cluster]`` section.
"""
from __future__ import annotations

from .config import ClusterConfig, ClusterConfigError, check_node
from .publisher import ClusterPublisher

__all__ = ["ClusterConfig", "ClusterConfigError", "ClusterPublisher", "check_node"]

"""cti-gateway --cluster without NATS: its options, the node endpoints, merging node snapshots
and routing requests to the node that holds the call (tests/test_cluster_gateway.py runs it
against a real JetStream cluster)."""
from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from cti.bus.server import Endpoints
from cti.cli.gateway import main
from cti.cluster.config import ClusterConfig
from cti.gateway.jetstream import ClusterAccounts, merge, parse_node


def test_node_endpoints_short_and_long_form() -> None:
    assert parse_node("a=tcp://10.0.0.1:5560") == ("a", Endpoints("tcp://10.0.0.1:5560", "tcp://10.0.0.1:5561",
                                                                 "tcp://10.0.0.1:5562"))
    assert parse_node("b=tcp://h:1,tcp://h:7,tcp://h:9") == ("b", Endpoints("tcp://h:1", "tcp://h:7", "tcp://h:9"))
    for bad in ("a", "a=", "a=10.0.0.1:5560", "a=tcp://h:x", "a.b=tcp://h:1", "a=tcp://h:1,tcp://h:2"):
        with pytest.raises(ValueError):
            parse_node(bad)


@pytest.mark.parametrize("args, words", [
    (["--node", "a=tcp://h:5560"], "--node goes with --cluster"),
    (["--cluster", "nats://127.0.0.1:4222", "--node", "a=oops"], "must be tcp://HOST:PORT"),
    (["--cluster", "http://x"], "nats://"),
    (["--cluster", "nats://127.0.0.1:4222", "--stream", "a b"], "stream"),
    (["--cluster", "nats://127.0.0.1:4222", "--node", "a=tcp://h:1", "--node", "a=tcp://h:9"], "each node once"),
])
def test_wrong_cluster_options_are_refused_clearly(args: list[str], words: str) -> None:
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0 and words in r.output, r.output


def test_node_snapshots_merge_lists_maps_and_keep_the_rest_per_node() -> None:
    a = {"op": "snapshot", "seq": 10, "node": "a", "v": 1, "calls": [{"call": "a-1"}], "agents": {"ann": {"s": 1}},
         "uptime": 5}
    b = {"op": "snapshot", "seq": 20, "node": "b", "v": 1, "calls": [{"call": "b-1"}, {"call": "b-2", "node": "b"}],
         "agents": {"bob": {"s": 2}}, "uptime": 7}
    m = merge([a, b], ["a", "b"], 99)
    assert m["seq"] == 99 and m["v"] == 1
    assert m["calls"] == [{"call": "a-1", "node": "a"}, {"call": "b-1", "node": "b"}, {"call": "b-2", "node": "b"}]
    assert m["agents"] == {"ann": {"s": 1}, "bob": {"s": 2}}
    assert m["nodes"] == {"a": {"seq": 10, "uptime": 5}, "b": {"seq": 20, "uptime": 7}}


def test_requests_go_to_the_named_node_the_call_prefix_or_where_the_device_was_seen() -> None:
    acc = ClusterAccounts(ClusterConfig(servers=["nats://127.0.0.1:4222"]),
                          {"a": Endpoints(), "b": Endpoints()})
    try:
        assert acc.route({"type": "ClearConnection", "call": "b-12"}) == "b"
        assert acc.route({"type": "ClearConnection", "call": "a-12", "node": "b"}) == "b"
        assert acc.route({"type": "MakeCall", "calling": "8001"}) == "a"         # nothing says: the first
        feed: Any = type("F", (), {"where": {"8001": "b"}})()
        acc.feed = feed
        assert acc.route({"type": "SetAgentState", "device": "8001"}) == "b"
        with pytest.raises(Exception, match="node 'z'"):
            acc.route({"node": "z"})
    finally:
        acc.close()

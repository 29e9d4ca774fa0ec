"""cti-server over a PRI span (user side and network side): the demo's callers arrive over
Q.931 and our outgoing calls leave over it, through the call model, bus and CDR store exactly
as over No.1 and SS7."""
from __future__ import annotations

import pytest

from cti.config import Config
from cti.cli.wiring import build_server

pytestmark = pytest.mark.system

ANY = "tcp://127.0.0.1:*"


@pytest.mark.parametrize("side", ["user", pytest.param("network", marks=pytest.mark.load)])
def test_demo_over_a_pri_span(tmp_path, side):
    from cti.bus.codec import unpack_event
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "d.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "sim", "spans": 1, "clock": "virtual", "step": 0.5},
                            "trunk": [{"signalling": "pri", "spans": [0], "config": {"side": side}}],
                            "demo": {"enabled": True, "seed": 3}})
    srv = build_server(cfg).start()
    try:
        srv.part("demo").scenario.config.outbound_rate = 0.2
        for _ in range(80):                        # 40 s of virtual time
            srv.step(0)
        types = [unpack_event(p)["type"] for p in srv.bus._ring]
        assert types.count("Offered") >= 4 and types.count("Originated") >= 2
        assert types.count("Established") >= 4 and types.count("CallCleared") >= 3
        assert srv.model.validate() == []
        cdrs = srv.store.cdrs(1000)
        assert {c["signalling"] for c in cdrs} == {"pri"}
        assert {c["direction"] for c in cdrs} == {"in", "out"}
        assert any(c["outcome"] == "answered" for c in cdrs)
    finally:
        srv.close()

"""The server's collector policy (cti/server.py): no automatic gen-2 pass inside a block after
start-up (a walk over the whole heap: 117 ms at 128 loaded spans), a full collection from
housekeeping every GC_FULL_EVERY seconds instead, the process's thresholds back at close."""
from __future__ import annotations

import gc
import os
import time
from typing import Any

from cti import server as server_mod


def _server(tmp_path: Any) -> Any:
    from cti.cli.wiring import build_server
    from cti.config import Config
    any_ = "tcp://127.0.0.1:*"
    cfg = Config.from_dict({"server": {"store": os.path.join(tmp_path, "cti.db")},
                            "bus": {"events": any_, "snapshot": any_, "control": any_},
                            "board": {"driver": "sim", "spans": 1, "clock": "virtual", "step": 0.02},
                            "trunk": [{"signalling": "no1", "spans": [0]}]})
    return build_server(cfg)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_no_automatic_gen2_after_start_a_full_collection_on_cadence_thresholds_restored(tmp_path, monkeypatch):
    before = gc.get_threshold()
    srv = _server(tmp_path)
    srv.step(0)                                       # before start: housekeeping never collects
    srv.start()
    try:
        g0, g1, g2 = gc.get_threshold()
        assert (g0, g1) == before[:2] and g2 >= 10**9
        passes: list[int] = []

        def seen(phase: str, info: dict[str, int]) -> None:
            if phase == "stop":
                passes.append(info["generation"])
        gc.callbacks.append(seen)
        try:
            srv.step(0)
            assert 2 not in passes                    # not due yet
            for _ in range(5):
                _Cycle()                              # cyclic garbage: only a collector frees it
            srv._last_full_gc = time.monotonic() - server_mod.GC_FULL_EVERY - 1
            srv.step(0)
            assert 2 in passes and srv._last_full_gc > time.monotonic() - 5
            n = passes.count(2)
            srv.step(0)
            assert passes.count(2) == n               # once per GC_FULL_EVERY
        finally:
            gc.callbacks.remove(seen)
    finally:
        srv.close()
    assert gc.get_threshold() == before

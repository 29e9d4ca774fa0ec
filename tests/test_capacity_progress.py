"""Call-progress detection on every busy trunk circuit (cti/media/progress.py), through the real
server on the simulator: a span is listened to only while it has a busy circuit, the tone on
a busy circuit is recognised (and on an idle one is not reported), callbacks are called."""
from __future__ import annotations

import os
from typing import Any

import pytest

from _boardcore.g711 import alaw_encode
from _boardcore.tones import generate
from cti.media.progress import ProgressWatch
from cti.server import CallProgress


def _server(tmp_path: Any, watch: CallProgress) -> Any:
    from cti.cli.wiring import build_server
    from cti.config import Config
    any_ = "tcp://127.0.0.1:*"
    cfg = Config.from_dict({"server": {"store": os.path.join(tmp_path, "cti.db")},
                            "bus": {"events": any_, "snapshot": any_, "control": any_},
                            "board": {"driver": "sim", "spans": 2, "clock": "virtual", "step": 0.02},
                            "trunk": [{"signalling": "no1", "spans": [0, 1]}]})
    srv = build_server(cfg, extra=[watch])
    srv.start()
    return srv


def _run(srv: Any, seconds: float) -> None:
    end = srv.now() + seconds - 1e-9
    while srv.now() < end:
        srv.step(0)


def test_busy_circuits_are_heard_and_idle_spans_cost_nothing(tmp_path):
    from simulator.exchange.base import CallScript
    watch = CallProgress(country="cn")
    srv = _server(tmp_path, watch)
    try:
        got: list[tuple[tuple[int, int], str, float]] = []
        watch.on_tone(lambda c, tone, t: got.append((c, tone, t)))
        _run(srv, 1.0)
        assert watch.busy() == {} and watch.blocks == 0          # no call: nothing analysed
        assert not srv.board.span(0).__dict__.get("_block_listeners")
        srv.part("network").networks[0].place_call(
            CallScript(at=srv.now() + 0.1, called="8001", calling="13800138000", hold_for=None))
        _run(srv, 8.0)                                           # MFC, then the call rings here
        busy = watch.busy()
        assert len(busy) == 1 and len(next(iter(busy.values()))) == 1
        (span, tss), = busy.items()
        ts = next(iter(tss))
        other = 1 - span
        far = srv.board.far_end(span)
        tone = alaw_encode(generate("busy", 3.0, country="cn"))
        far.write_audio(ts, tone)                                # the far party's busy tone
        srv.board.far_end(span).write_audio(1 if ts != 1 else 2, tone)    # an idle circuit: not reported
        srv.board.far_end(other).write_audio(5, tone)                    # a span with no call: not heard
        _run(srv, 3.0)
        assert watch.heard.get((span, ts)) == "busy"
        assert {c for c, _, _ in got} == {(span, ts)}
        assert ("busy" in {t for _, t, _ in got}) and watch.counts["busy"] >= 1
        assert watch.blocks >= 3.0 / 0.02 - 5                   # every block of the busy span
        assert not srv.board.span(other).__dict__.get("_block_listeners")
    finally:
        srv.close()


def test_the_watch_is_serviced_every_block_like_any_component():
    from cti import plugin
    from cti.media import progress
    assert progress.EVERY_BLOCK == plugin.EVERY_BLOCK
    assert isinstance(CallProgress(), plugin.Component) and CallProgress().deadline() is None   # no spans yet


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        ProgressWatch(refresh=0)
    with pytest.raises((ValueError, KeyError)):
        ProgressWatch(country="atlantis")
    with pytest.raises(TypeError):
        ProgressWatch().on_tone("nope")                          # type: ignore[arg-type]


def test_a_look_visits_only_circuits_that_changed():
    import drivers

    class Model:
        def __init__(self) -> None:
            self.busy: dict[tuple[int, int], object] = {}
            self.adapters: list[object] = []

        def busy_circuits(self) -> Any:
            return self.busy.keys()

    board = drivers.open("sim", spans=3)
    watch = ProgressWatch(refresh=0.2)
    model = Model()
    watch._model = model
    watch.spans = {0: board.span(0), 1: board.span(1)}            # span 2 is not watched
    model.busy = {(0, 1): 1, (0, 2): 1, (1, 5): 1, (2, 7): 1}
    watch._look(0.0)
    assert watch.busy() == {0: {1, 2}, 1: {5}} and watch._fresh == {(0, 1), (0, 2), (1, 5)}
    assert all(len(board.span(n).__dict__["_block_listeners"]) == 1 for n in (0, 1))
    watch._fresh.clear()
    watch.heard[(1, 5)] = "busy"
    model.busy = {(0, 1): 1, (0, 3): 1, (2, 7): 1}
    watch._look(0.2)
    assert watch.busy() == {0: {1, 3}} and watch._fresh == {(0, 3)}   # only the new circuit is fresh
    assert (1, 5) not in watch.heard and not board.span(1).__dict__.get("_block_listeners")
    model.busy = {}
    watch._look(0.4)
    assert watch.busy() == {} and not board.span(0).__dict__.get("_block_listeners")

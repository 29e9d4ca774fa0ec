"""docs/scenarios.md: every TOML example in it loads (the scenario parser, the IVR menu parser)."""
from __future__ import annotations

import pathlib
import re
import tomllib

from simulator.scenario import EXPECT_KEYS, ScenarioConfig

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"


def _blocks() -> list[dict]:
    return [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)]


def test_every_scenario_example_loads():
    scen = [b for b in _blocks() if "scenario" in b]
    assert len(scen) == 4
    cfgs = [ScenarioConfig.from_dict(b) for b in scen]
    assert cfgs[1].calls[0].called == "8001" and cfgs[1].call_expect == ["answered"]
    assert cfgs[2].subscribers["13900000003"].behaviour.value == "busy_tone"
    assert set(cfgs[3].expect) == set(EXPECT_KEYS)      # every summary count is documented
    assert cfgs[3].expect["answered"] == (1, 1) and cfgs[3].expect["events"] == (10, 100)


def test_the_ivr_example_loads(tmp_path):
    from cti.ivr.menu import IvrConfig
    [block] = re.findall(r"```toml\n(\[ivr\]\n.*?)```", DOC.read_text(), re.S)
    (tmp_path / "prompts").mkdir()
    (tmp_path / "ivr.toml").write_text(block, encoding="utf-8")
    cfg = IvrConfig.load(tmp_path / "ivr.toml")          # as [contact] ivr = "ivr.toml" loads it
    assert cfg.start == "main" and set(cfg.menus) == {"main", "account"}
    assert cfg.menus["account"].var == "account"

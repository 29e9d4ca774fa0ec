"""The pytest plugin (issue 19 §1): the worked example of docs/testing.md runs as a user's
repository would run it, and the harness fails loudly where it should."""
from __future__ import annotations

import importlib.metadata
import pathlib
import subprocess
import sys

import pytest

from cti.testing import SimulatedSite, site_config
from cti.testing.harness import _toml

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples" / "pytest_plugin"


def _plugin_args() -> list[str]:
    """``-p cti.testing.plugin`` unless the installed package's entry point loads it already."""
    eps = importlib.metadata.entry_points(group="pytest11")
    return [] if any(e.value == "cti.testing.plugin" for e in eps) else ["-p", "cti.testing.plugin"]


@pytest.mark.system
def test_the_worked_example_passes_in_its_own_repository():
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *_plugin_args()],
                         cwd=EXAMPLE, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "4 passed" in res.stdout


def test_the_pyproject_registers_the_plugin():
    import tomllib
    data = tomllib.loads((EXAMPLE.parents[2] / "pyproject.toml").read_text())
    assert data["project"]["entry-points"]["pytest11"]["cti"] == "cti.testing.plugin"


def test_trace_assertions_fail_with_what_was_seen(tmp_path):
    with SimulatedSite({"board": {"spans": 1}, "trunk": [{"signalling": "no1", "spans": [0]}]},
                       directory=str(tmp_path)) as site:
        trace = site.trace()
        trace.wait_for("ServerReady", timeout=5)
        with pytest.raises(AssertionError, match=r"no Delivered event .* last seen: .*ServerReady"):
            trace.wait_for("Delivered", timeout=0.3)
        with pytest.raises(AssertionError, match="expected \\['ServerReady', 'ServerStarted'\\] in order"):
            trace.assert_sequence("ServerReady", "ServerStarted")
        trace.assert_sequence("ServerStarted", "ServerReady")
        with pytest.raises(KeyError, match="no simulated exchange on span 3"):
            site.network(3)
        trace.close()


@pytest.mark.system
def test_a_site_that_never_gets_ready_is_an_error_naming_the_span(tmp_path, monkeypatch):
    import cti.readiness
    monkeypatch.setattr(cti.readiness, "adapter_ready", lambda a: getattr(a, "signalling", "") != "ss7")
    site = SimulatedSite({"board": {"spans": 2}, "trunk": [{"signalling": "no1", "spans": [0]},
                                                           {"signalling": "ss7", "spans": [1]}]},
                         directory=str(tmp_path))
    with pytest.raises(TimeoutError, match=r"not ready within 1.0 s: span 1 \(ss7"):
        site.start(ready_wait=1.0)


def test_site_config_merges_and_writes_toml(tmp_path):
    import tomllib
    cfg = site_config(tmp_path, {"server": {"node": "n1"}, "trunk": [{"signalling": "ss7", "spans": [0]}],
                                 "contact": {"route_points": {"4000": "sales"}}})
    assert cfg["server"] == {"node": "n1", "store": str(tmp_path / "cti.db")}
    assert cfg["trunk"] == [{"signalling": "ss7", "spans": [0]}] and cfg["board"]["clock"] == "virtual"
    assert tomllib.loads(_toml(cfg)) == cfg

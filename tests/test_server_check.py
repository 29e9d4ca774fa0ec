"""cti-server --check (issue 19 §3): every problem of a site at once, before any board opens;
the shipped docs/site.toml passes."""
from __future__ import annotations

import pathlib

import pytest
import zmq
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.cli.check import check_site
from cti.cli.keys import main as keys_main
from cti.cli.server import main as server_main
from cti.config import Config, ConfigError

SITE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "site.toml"


@pytest.fixture
def keys_here(tmp_path, monkeypatch):
    """A working directory holding ``keys/`` made by cti-keys, as docs/site.toml expects."""
    monkeypatch.chdir(tmp_path)
    for args in (["server", "keys"], ["client", "keys", "crm", "--role", "integrator"]):
        res = CliRunner().invoke(keys_main, args)
        assert res.exit_code == 0, res.output
    return tmp_path


def test_shipped_site_toml_passes_the_check(keys_here):
    assert check_site(str(SITE), bind=False) == []


def test_shipped_site_toml_without_keys_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    problems = check_site(str(SITE), bind=False)
    assert len(problems) == 1 and "bus.keys 'keys': no such directory" in problems[0]


BROKEN = """
[server]
node = 7
ready_timeout = -1
[bus]
events = "tcp://127.0.0.1"
snapshot = "tcp://127.0.0.1:6001"
control = "tcp://127.0.0.1:6001"
security = "curve"
keys = "no-such-dir"
[board]
driver = "nosuchcard"
spans = 2
color = "blue"
[[trunk]]
signalling = "ss7"
spans = [1, 5]
config = { opc = "one" }
[[trunk]]
signalling = "no1"
spans = [0]
config = { nosuchkey = 1 }
[contact]
route_points = { "4000" = "nowhere" }
[bogus]
x = 1
"""


def test_every_problem_is_reported_at_once_and_no_board_is_opened(tmp_path, monkeypatch):
    import drivers

    def no_board(*a, **k):
        raise AssertionError("--check opened a board")
    monkeypatch.setattr(drivers, "open", no_board)
    site = tmp_path / "site.toml"
    site.write_text(BROKEN)
    problems = check_site(str(site))
    text = "\n".join(problems)
    for part in ("unknown section(s): bogus", "[server] node must be str", "[board] unknown key(s): color",
                 "server.ready_timeout must be >= 0", "bus.events 'tcp://127.0.0.1' is not an endpoint",
                 "bus endpoints must differ", "trunk span 5 is not a span of the board",
                 "board.driver 'nosuchcard' is not a known backend", "trunk[0] (ss7) config",
                 "trunk[1] (no1) config", "bus.keys 'no-such-dir': no such directory", "[contact]"):
        assert part in text, f"{part!r} missing from:\n{text}"
    res = CliRunner().invoke(server_main, ["--check", "-c", str(site)])
    assert res.exit_code == 1
    assert f"{len(problems)} problem(s)" in res.output
    assert all(p in res.output for p in problems)


def test_a_port_in_use_is_a_problem(tmp_path):
    ctx = zmq.Context()
    busy = ctx.socket(zmq.PUB)
    port = busy.bind_to_random_port("tcp://127.0.0.1")
    try:
        site = tmp_path / "site.toml"
        site.write_text(f'[server]\nstore = "{tmp_path}/cti.db"\n[board]\ndriver = "loopback"\n'
                        f'[bus]\nevents = "tcp://127.0.0.1:{port}"\nsnapshot = "tcp://127.0.0.1:*"\n'
                        f'control = "tcp://127.0.0.1:*"\n[[trunk]]\nsignalling = "loop"\nspans = [0]\n')
        problems = check_site(str(site))
        assert len(problems) == 1 and f"bus.events tcp://127.0.0.1:{port} cannot be bound" in problems[0]
    finally:
        busy.close()
        ctx.term()
    res = CliRunner().invoke(server_main, ["--check", "-c", str(site)])
    assert res.exit_code == 0 and "OK" in res.output


def test_unreadable_toml_is_one_problem(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[server\nnode = 1\n")
    problems = check_site(str(site))
    assert len(problems) == 1 and str(site) in problems[0]


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=False),
                    st.text(max_size=12), st.lists(st.integers(-2, 70), max_size=3))


@settings(max_examples=150, deadline=None)
@given(section=st.sampled_from(["server", "bus", "board", "call", "demo"]),
       key=st.sampled_from(["node", "store", "spans", "clock", "step", "security", "events", "rate",
                            "enabled", "seed", "auto_alert", "presentation", "ready_timeout", "zzz"]),
       value=_VALUES)
def test_any_value_is_accepted_or_a_config_error_listing_problems(section, key, value):
    data = {section: {key: value}} if value is not None else {section: {key: "x"}}
    try:
        Config.from_dict(data)
    except ConfigError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)

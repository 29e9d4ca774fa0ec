"""``cti-server --check`` validates a ``[cluster]`` section (issue 17): every problem, clearly,
before anything starts; a good section passes; a site without one is untouched."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cti.cli.check import check_site
from cti.cli.server import main as server_main

GOOD = """
[server]
node = "a"
store = "{store}"

[cluster]
servers = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "nats://10.0.0.3:4222"]
centre = "postgresql://cti@10.0.0.9/centre"
lease_ttl = 2.0
"""

BAD = """
[server]
node = "a.b"
store = "{store}"

[cluster]
servers = ["http://10.0.0.1:4222"]
replicas = 7
centre = "mysql://x"
lease_ttl = 0
dead_after = "soon"
colour = "blue"
"""


def _site(tmp_path: Path, text: str) -> str:
    p = tmp_path / "site.toml"
    p.write_text(text.format(store=tmp_path / "n.db"), encoding="utf-8")
    return str(p)


def test_a_good_cluster_section_passes(tmp_path: Path) -> None:
    assert check_site(_site(tmp_path, GOOD), bind=False) == []


def test_every_problem_of_a_bad_cluster_section_is_named(tmp_path: Path) -> None:
    problems = [p for p in check_site(_site(tmp_path, BAD), bind=False) if "cluster" in p or "node" in p]
    text = "\n".join(problems)
    for word in ("servers", "replicas", "centre", "lease_ttl", "dead_after", "colour", "node 'a.b'"):
        assert word in text, (word, text)
    assert len(problems) == 7
    res = CliRunner().invoke(server_main, ["--check", "-c", _site(tmp_path, BAD)])
    assert res.exit_code == 1 and "[cluster] replicas must be 1..5" in res.output


def test_a_site_without_cluster_is_not_asked_about_it(tmp_path: Path) -> None:
    text = GOOD.split("[cluster]")[0].replace('node = "a"', 'node = "a.b"')    # any name does for one node
    assert check_site(_site(tmp_path, text), bind=False) == []


def test_tie_spans_are_checked(tmp_path: Path) -> None:
    """``ties``: node = span of this board, one span per node, and a centre to route over them."""
    good = GOOD + "ties = {{ b = 1, c = 2 }}\n"            # (doubled: the site text is a format string)
    assert check_site(_site(tmp_path, good), bind=False) == []
    for ties, says in (('{{ "b.c" = 1 }}', "ties must be a table of node = span"),
                       ("{{ b = 64 }}", "ties must be a table of node = span"),
                       ("{{ b = true }}", "ties must be a table of node = span"),
                       ("[1, 2]", "ties must be a table of node = span"),
                       ("{{ b = 1, c = 1 }}", "one tie span per node")):
        problems = check_site(_site(tmp_path, GOOD + f"ties = {ties}\n"), bind=False)
        assert any(says in p for p in problems), (ties, problems)
    alone = GOOD.replace('centre = "postgresql://cti@10.0.0.9/centre"\n', "") + "ties = {{ b = 1 }}\n"
    assert any("ties need a centre" in p for p in check_site(_site(tmp_path, alone), bind=False))

"""The floors of the house, checked from the source (docs/architecture.md "Layering").

Every import statement of the project's packages is read with :mod:`ast` (function-level and
``TYPE_CHECKING`` imports included: they are dependencies too) and mapped to its package;
a package may import only itself and packages on a lower floor of :data:`FLOORS`, so imports
run one way, down, and packages cannot import each other in a circle. The lowest floor also
never *names* a module above it (no ``"cti.…"`` strings in ``_boardcore``: accelerators
register themselves). A new package needs a floor here before it lands.

Run ``python -m pytest tests/test_layering.py -q`` to see any violation with file and line.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("_boardcore", "drivers", "cti", "simulator")

#: package -> floor. A package imports only itself and lower floors (never its own floor).
#: ``cti`` alone is the package root (cti/__init__.py, cti/accelerators.py).
FLOORS: dict[str, int] = {
    "_boardcore": 0,                       # kernels, compiled + twin
    "drivers": 1,                          # the Board API and its backends
    "cti": 2, "cti.config": 2, "cti.signaling": 2, "cti.media": 2, "cti.store": 2, "cti.outbound": 2,
    "cti.call": 3, "cti.ivr": 3, "cti.tts": 3,
    "cti.bus": 4, "cti.acd": 4, "cti.voicemail": 4, "cti.prompts": 4,   # the ACD acts on the call model
    "cti.plugin": 5, "cti.fax": 5, "cti.stats": 5,   # the server's plugin protocol; fax; ACD statistics
    "cti.contact": 6,                      # the contact centre: a component of the server
    "cti.readiness": 6,                    # ServerReady and the start-up gate: a component of the server
    "cti.cluster": 6,                      # the cluster publisher: a component of the server; its NATS stream
    "cti.server": 7, "cti.gateway": 7,     # the server; the gateway, a bus client
    "simulator": 7,                        # the far end: uses the stacks, imported only by cti.cli
    "cti.cli": 8,                          # commands and wiring: the simulator is wired here
    "cti.testing": 9,                      # the pytest plugin: builds simulated sites through cti.cli.wiring
}


@dataclass(frozen=True)
class Edge:
    """``src`` (a module of package ``frm``) imports ``dst`` (of package ``to``) at ``line``."""

    frm: str
    to: str
    src: str
    line: int
    dst: str

    def __str__(self) -> str:
        return f"{self.src}:{self.line} imports {self.dst} ({self.frm} -> {self.to})"


def package(module: str) -> str:
    """The package of a dotted module name (``cti.call.model`` -> ``cti.call``)."""
    parts = module.split(".")
    if parts[0] == "cti" and len(parts) > 1 and parts[1] != "accelerators":
        return "cti." + parts[1]
    return parts[0]


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in ``path`` that names one of :data:`TOPS`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    me = module_name(path, root).split(".")
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = me if is_pkg else me[:-1]
                base = base[:len(base) - (node.level - 1)]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"):
            names = [node.args[0].value]
        else:
            continue
        out += [(node.lineno, n) for n in names if n.split(".")[0] in TOPS]
    return out


def edges(root: Path = ROOT) -> list[Edge]:
    """Every import between two different packages of the project's source tree."""
    out = []
    for top in TOPS:
        for path in sorted((root / top).rglob("*.py")):
            src = module_name(path, root)
            frm = package(src)
            for line, dst in imports(path, root):
                to = package(dst)
                if to != frm:
                    out.append(Edge(frm, to, str(path.relative_to(root)), line, dst))
    return out


def violations(found: list[Edge], floors: dict[str, int] = FLOORS) -> list[str]:
    """Imports that do not run down the floors (or involve a package with no floor)."""
    bad = []
    for e in found:
        if e.frm not in floors or e.to not in floors:
            missing = e.frm if e.frm not in floors else e.to
            bad.append(f"{e}: package {missing} has no floor in tests/test_layering.py FLOORS")
        elif floors[e.to] >= floors[e.frm]:
            bad.append(f"{e}: floor {floors[e.frm]} may import only floors below it, not {floors[e.to]}")
    return bad


def cycles(found: list[Edge]) -> list[list[str]]:
    """Circles of packages importing each other (strongly connected components, Tarjan)."""
    graph: dict[str, set[str]] = {}
    for e in found:
        graph.setdefault(e.frm, set()).add(e.to)
        graph.setdefault(e.to, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def names_above(root: Path = ROOT) -> list[str]:
    """String constants in _boardcore that name a module of a higher floor."""
    out = []
    for path in sorted((root / "_boardcore").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                head = node.value.split(".")[0]
                if "." in node.value and head in ("cti", "drivers", "simulator") and " " not in node.value:
                    out.append(f"{path.relative_to(root)}:{node.lineno} names {node.value!r}")
    return out


# ---- the checks on the project ------------------------------------------------------------
@pytest.mark.system
def test_imports_run_down_the_floors():
    bad = violations(edges())
    assert not bad, "imports against the floors:\n" + "\n".join(bad)


@pytest.mark.system
def test_no_package_cycles():
    assert cycles(edges()) == []


def test_boardcore_names_nothing_above_it():
    assert names_above() == []


@pytest.mark.system
def test_only_the_command_layer_imports_the_simulator():
    users = sorted({e.src for e in edges() if e.to == "simulator" and e.frm != "simulator"})
    assert all(u.startswith(("cti/cli/", "cti/testing/")) for u in users), users


def test_every_accelerator_is_registered():
    """Accelerators register themselves (cti/accelerators.py): every compiled protocol module
    the build makes (``cti/**/<name>_c.pyx``, or a ``<name>_c.pxd`` beside its twin) is listed."""
    import cti  # noqa: F401  (registers)
    from _boardcore import _select
    built = {module_name(p, ROOT)[:-2] for p in (ROOT / "cti").rglob("*_c.pyx")}
    built |= {module_name(p, ROOT)[:-2] for p in (ROOT / "cti").rglob("*_c.pxd")
              if p.with_name(p.name[:-len("_c.pxd")] + "_py.py").exists()}
    assert built <= set(_select.ACCELERATED), sorted(built - set(_select.ACCELERATED))


# ---- the checker itself fails where it must -----------------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for top in TOPS:
        (tmp_path / top).mkdir(exist_ok=True)
    return tmp_path


@pytest.mark.parametrize("files, expect", [
    # the violations found at 2185c2d, in miniature
    ({"cti/server.py": "def f():\n    from simulator.scenario import Scenario\n"}, "cti.server -> simulator"),
    ({"drivers/sim.py": "from simulator.card import Card\n"}, "drivers -> simulator"),
    ({"cti/contact/audio.py": "def f():\n    from simulator.phones import station_phones\n"},
     "cti.contact -> simulator"),
    ({"cti/call/model.py": "from cti.bus.server import BusServer\n"}, "cti.call -> cti.bus"),
    ({"cti/media/x.py": "import importlib\nimportlib.import_module('cti.contact.centre')\n"}, "cti.media -> cti.contact"),
    ({"cti/newthing/a.py": "import cti.call\n"}, "has no floor"),
])
def test_checker_reports_upward_imports(tmp_path, files, expect):
    bad = violations(edges(_tree(tmp_path, files)))
    assert any(expect in b for b in bad), bad


def test_checker_allows_downward_and_relative_imports(tmp_path):
    root = _tree(tmp_path, {"cti/contact/__init__.py": "from .centre import X\n",
                            "cti/contact/centre.py": "from cti.call.model import CallModel\nfrom ..acd import engine\n",
                            "simulator/card.py": "from drivers.base import Span\n"})
    found = edges(root)
    assert {(e.frm, e.to) for e in found} == {("cti.contact", "cti.call"), ("cti.contact", "cti.acd"),
                                             ("simulator", "drivers")}
    assert violations(found) == []


def test_checker_finds_cycles(tmp_path):
    root = _tree(tmp_path, {"cti/call/model.py": "from cti.bus import x\n", "cti/bus/server.py": "from cti.call import y\n",
                            "drivers/a.py": "import simulator.card\n", "simulator/card.py": "import drivers.base\n"})
    assert cycles(edges(root)) == [["cti.bus", "cti.call"], ["drivers", "simulator"]]


def test_checker_finds_names_in_the_lowest_floor(tmp_path):
    root = _tree(tmp_path, {"_boardcore/_select.py": 'ACCELERATED = ("cti.bus.publish",)\n'})
    assert names_above(root) == ["_boardcore/_select.py:1 names 'cti.bus.publish'"]

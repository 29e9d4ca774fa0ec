"""Kernel selection: BOARDCORE_NO_EXTENSIONS forces the twins; COMPILED says what is live."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import _boardcore
import cti  # noqa: F401  (registers the protocol accelerators with _select)
from _boardcore import _select

ROOT = Path(__file__).resolve().parents[1]
MINE = ("g711", "tones", "hdlc")

_PROBE = (
    "import json, importlib, _boardcore, cti\n"
    "mods = {n: importlib.import_module('_boardcore.' + n).IMPLEMENTATION for n in %r}\n"
    "print(json.dumps({'compiled': _boardcore.COMPILED, 'impls': _boardcore.IMPLEMENTATIONS, 'mods': mods}))\n"
)


def _probe(env_value: str | None) -> dict:
    env = dict(os.environ)
    env.pop("BOARDCORE_NO_EXTENSIONS", None)
    if env_value is not None:
        env["BOARDCORE_NO_EXTENSIONS"] = env_value
    names = [n for n in MINE if _twin_exists(n)]
    out = subprocess.run([sys.executable, "-c", _PROBE % (names,)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _twin_exists(name: str) -> bool:
    try:
        _select.twin(name)
    except ImportError:
        return False
    return True


@pytest.mark.system
def test_no_extensions_forces_every_twin():
    got = _probe("1")
    assert got["compiled"] is False
    assert got["impls"] and set(got["impls"].values()) == {"python"}
    assert set(got["mods"].values()) == {"python"}


@pytest.mark.system
@pytest.mark.parametrize("value", ["0", ""])
def test_extensions_used_when_built(value):
    got = _probe(value)
    for name, impl in got["mods"].items():
        built = _select.compiled(name) is not None
        assert impl == ("compiled" if built else "python"), name
        assert got["impls"][name] == impl
    assert got["compiled"] == all(v == "compiled" for v in got["impls"].values())


def test_compiled_flag_matches_this_process():
    impls = _boardcore.IMPLEMENTATIONS
    assert (bool(impls) and all(v == "compiled" for v in impls.values())) == _boardcore.COMPILED
    for name in MINE:
        if name in impls:
            live = _select.load(name)
            assert impls[name] == ("compiled" if live.__name__.endswith("_c") else "python")


@pytest.mark.parametrize("name", MINE)
def test_twin_and_compiled_share_the_api(name):
    if not _twin_exists(name):
        pytest.skip(f"{name} not shipped yet")
    twin = _select.twin(name)
    comp = _select.compiled(name)
    if comp is None:
        pytest.skip(f"_boardcore.{name}_c not built")
    public = __import__(f"_boardcore.{name}", fromlist=["__all__"])
    for attr in public.__all__:
        assert hasattr(twin, attr), f"{name}_py lacks {attr}"
        assert hasattr(comp, attr), f"{name}_c lacks {attr}"


@pytest.mark.skipif(not os.environ.get("BOARDCORE_REQUIRE_COMPILED"), reason="only where the build must be complete (.ci/run)")
def test_every_kernel_and_accelerator_is_compiled():
    missing = [n for n in _select.KERNELS + _select.ACCELERATED if _select.compiled(n) is None]
    assert not missing, f"not built: {missing}"

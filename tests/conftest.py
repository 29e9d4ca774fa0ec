"""Shared fixtures. Kernel tests run on both implementations, like aiohttp's parser tests.

Use ``kernel_impls("dtmf")`` as the ``params`` of a fixture: it yields the compiled
module (id ``c``; skipped when it was not built) and the twin (id ``py``).
Long batteries use ``compiled_or_twin("dtmf")``: the compiled kernel when built,
otherwise the twin (a clean clone without a compiler still runs them, slowly).
"""
from __future__ import annotations

import os

import pytest

from _boardcore import _select

# Hypothesis: deterministic in CI, a little more searching locally.
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=100, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
except ImportError:  # pragma: no cover
    pass


#: Marks that take a test out of the quick lane (`make test-quick` runs ``-m unit``).
SLOW_MARKS = frozenset({"battery", "interop", "load", "hardware", "postgres", "browser", "cluster", "system"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test with none of the slow marks is a ``unit`` test (the quick lane)."""
    for item in items:
        if not SLOW_MARKS.intersection(m.name for m in item.iter_markers()):
            item.add_marker(pytest.mark.unit)


def kernel_impls(name: str) -> list:
    """pytest params: the compiled kernel (id 'c') and the twin (id 'py')."""
    return [pytest.param(("c", name), id="c"), pytest.param(("py", name), id="py")]


def load_impl(param: tuple[str, str]):
    kind, name = param
    if kind == "py":
        return _select.twin(name)
    mod = _select.compiled(name)
    if mod is None:
        msg = f"compiled {_select._prefix(name)}_c not built"
        if os.environ.get("BOARDCORE_REQUIRE_COMPILED"):
            pytest.fail(msg + " (BOARDCORE_REQUIRE_COMPILED is set, as in .ci/run)")
        pytest.skip(msg)
    return mod


def compiled_or_twin(name: str):
    """The compiled kernel if built, else the twin: for long batteries."""
    return _select.compiled(name) or _select.twin(name)

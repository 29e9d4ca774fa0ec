"""Pick the compiled kernel or its pure-Python twin (aiohttp's reader_c/reader_py pattern)."""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

#: Every kernel this package ships. Each has ``<name>_py.py`` and, when built, ``<name>_c``.
KERNELS: tuple[str, ...] = ("g711", "dtmf", "tones", "mf", "e1frame", "hdlc", "echo")

#: Accelerated modules of the floors above, by dotted prefix: ``<prefix>_py`` is the twin,
#: ``<prefix>_c`` the compiled one (built by setup.py from ``<prefix>_c.pyx`` or a ``.pxd``).
#: Every function here takes such a dotted prefix wherever it takes a kernel name. This floor
#: names nothing above it: the packages that own accelerators add them with :func:`register`
#: (the project's list is cti/accelerators.py, registered on ``import cti``).
ACCELERATED: tuple[str, ...] = ()


def register(*prefixes: str) -> None:
    """Add accelerated modules (dotted prefixes) to :data:`ACCELERATED` and so to
    :func:`implementations` (idempotent)."""
    global ACCELERATED
    for p in prefixes:
        if "." not in p:
            raise ValueError(f"an accelerator is named by its dotted prefix, not {p!r}")
        if p not in ACCELERATED:
            ACCELERATED = (*ACCELERATED, p)


def _prefix(name: str) -> str:
    return name if "." in name else f"_boardcore.{name}"

NO_EXTENSIONS: bool = os.environ.get("BOARDCORE_NO_EXTENSIONS", "") not in ("", "0", "false", "no")


def twin(name: str) -> ModuleType:
    """The pure-Python implementation of kernel ``name``."""
    return importlib.import_module(f"{_prefix(name)}_py")


def compiled(name: str) -> ModuleType | None:
    """The compiled implementation of kernel ``name``, or None when it was not built."""
    try:
        return importlib.import_module(f"{_prefix(name)}_c")
    except ImportError:
        return None


def load(name: str) -> ModuleType:
    """The live implementation of kernel ``name``: compiled unless forced or missing."""
    if not NO_EXTENSIONS:
        mod = compiled(name)
        if mod is not None:
            return mod
    return twin(name)


def export(name: str, namespace: dict[str, Any], names: list[str]) -> ModuleType:
    """Copy ``names`` from the live implementation of ``name`` into ``namespace``."""
    impl = load(name)
    for attr in names:
        namespace[attr] = getattr(impl, attr)
    namespace["IMPLEMENTATION"] = "compiled" if impl.__name__.endswith("_c") else "python"
    return impl


def implementations() -> dict[str, str]:
    """Which implementation is live for each kernel whose twin exists."""
    out: dict[str, str] = {}
    for name in KERNELS + ACCELERATED:
        twin(name)                  # every kernel and accelerator ships its twin
        live = None if NO_EXTENSIONS else compiled(name)
        out[name] = "compiled" if live is not None else "python"
    return out

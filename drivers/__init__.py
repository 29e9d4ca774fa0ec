"""Board drivers: one Board API (:mod:`drivers.base`), backends opened by name.

    >>> import drivers
    >>> board = drivers.open("sim", spans=2)          # in-process simulator
    >>> board = drivers.open("wire", url="socket://127.0.0.1:7000")
    >>> drivers.available()                           # names that can be opened

Built-in backends import lazily (python-can's ``BACKENDS`` table): opening "sim"
never imports cffi, opening "dahdi" never imports the simulator. The "sim" backend lives in
the simulator (:mod:`simulator.board`), which sits above this floor: it is named here, never
imported by anything under drivers/. Third-party
backends join through the ``cti.boards`` entry point group::

    [project.entry-points."cti.boards"]
    acme = "acme_e1.board:AcmeBoard"
"""
from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

from .base import Board, ConfigError

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "available", "backend_class", "open"]

#: Built-in backends: name -> ("module", "Class").
BUILTIN: dict[str, tuple[str, str]] = {
    "sim": ("simulator.board", "SimBoard"),      # the simulator sits above: named, never imported
    "wire": ("drivers.wire", "WireBoard"),
    "dahdi": ("drivers.dahdi", "DahdiBoard"),
}

#: Entry point group third-party backends register under.
ENTRY_POINT_GROUP = "cti.boards"


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    try:
        eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # pragma: no cover - broken metadata must not break the built-ins
        return {}
    return {ep.name: ep for ep in eps}


def available() -> list[str]:
    """Every backend name :func:`open` knows: built-ins first, then entry points (sorted)."""
    names = list(BUILTIN)
    names += sorted(n for n in _entry_points() if n not in BUILTIN)
    return names


def backend_class(name: str) -> type[Board]:
    """The Board subclass registered as ``name`` (imported on first use)."""
    if not isinstance(name, str):
        raise ConfigError(f"board name must be a str, not {type(name).__name__}")
    if name in BUILTIN:
        module, attr = BUILTIN[name]
        try:
            cls = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise ConfigError(f"board backend {name!r} cannot be loaded: {exc}") from exc
    else:
        ep = _entry_points().get(name)
        if ep is None:
            raise ConfigError(
                f"unknown board {name!r}; available: {', '.join(available())}")
        try:
            cls = ep.load()
        except Exception as exc:
            raise ConfigError(f"board backend {name!r} ({ep.value}) failed to load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Board)):
        raise ConfigError(f"board backend {name!r} is {cls!r}, not a drivers.base.Board subclass")
    return cls


def open(name: str, **kwargs: Any) -> Board:
    """Open the board backend registered as ``name`` with backend-specific options."""
    cls = backend_class(name)
    board = cls(**kwargs)
    if not board.backend:
        board.backend = name
    return board

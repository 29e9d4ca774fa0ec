"""Hot kernels of the E1 board: G.711, DTMF, MF, call-progress tones, E1 framing, HDLC.

Each kernel ``<name>`` exists twice with one API:

* ``_boardcore.<name>_c``  -- the Cython extension (built by ``setup.py``),
* ``_boardcore.<name>_py`` -- its pure-Python twin (always importable).

The public module ``_boardcore.<name>`` re-exports whichever is live. The
compiled one wins unless ``BOARDCORE_NO_EXTENSIONS=1`` is set or it was not
built. ``COMPILED`` is True when every kernel and protocol accelerator
(``ACCELERATED``: the SS7 per-message path, the journal encoder) runs compiled;
``IMPLEMENTATIONS`` says per module.
"""
from __future__ import annotations

from typing import Any

from ._select import ACCELERATED, KERNELS, NO_EXTENSIONS, implementations

__all__ = ["ACCELERATED", "COMPILED", "IMPLEMENTATIONS", "KERNELS", "NO_EXTENSIONS"]

_cache: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``IMPLEMENTATIONS`` and ``COMPILED``, computed on first use (PEP 562): working them out
    imports every twin (numpy, the SS7 layers), which ``import _boardcore.hdlc`` must not pay
    for, and the SS7 accelerators import ``_boardcore`` themselves."""
    if name in ("IMPLEMENTATIONS", "COMPILED"):
        if not _cache:
            impls = implementations()
            _cache["IMPLEMENTATIONS"] = impls
            _cache["COMPILED"] = bool(impls) and all(v == "compiled" for v in impls.values())
        return _cache[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Hot kernels of the E1 board: G.711, DTMF, MF, call-progress tones, E1 framing, HDLC.

Each kernel ``<name>`` exists twice with one API:

* ``_boardcore.<name>_c``  -- the Cython extension (built by ``setup.py``),
* ``_boardcore.<name>_py`` -- its pure-Python twin (always importable).

The public module ``_boardcore.<name>`` re-exports whichever is live. The
compiled one wins unless ``BOARDCORE_NO_EXTENSIONS=1`` is set or it was not
built. ``COMPILED`` is True when every kernel and every protocol accelerator registered
so far (``ACCELERATED``: added by the packages above with ``_select.register``; ``import
cti`` adds the project's) runs compiled; ``IMPLEMENTATIONS`` says per module.
"""
from __future__ import annotations

from typing import Any

from . import _select
from ._select import KERNELS, NO_EXTENSIONS, implementations

__all__ = ["ACCELERATED", "COMPILED", "IMPLEMENTATIONS", "KERNELS", "NO_EXTENSIONS"]

_cache: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``IMPLEMENTATIONS`` and ``COMPILED``, computed on first use (PEP 562) and again when more
    accelerators registered: working them out imports every twin (numpy, the SS7 layers),
    which ``import _boardcore.hdlc`` must not pay for; ``ACCELERATED`` as registered now."""
    if name == "ACCELERATED":
        return _select.ACCELERATED
    if name in ("IMPLEMENTATIONS", "COMPILED"):
        if _cache.get("registered") != _select.ACCELERATED:
            impls = implementations()
            _cache["registered"] = _select.ACCELERATED
            _cache["IMPLEMENTATIONS"] = impls
            _cache["COMPILED"] = bool(impls) and all(v == "compiled" for v in impls.values())
        return _cache[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Hot kernels of the E1 board: G.711, DTMF, MF, call-progress tones, E1 framing, HDLC.

Each kernel ``<name>`` exists twice with one API:

* ``_boardcore.<name>_c``  -- the Cython extension (built by ``setup.py``),
* ``_boardcore.<name>_py`` -- its pure-Python twin (always importable).

The public module ``_boardcore.<name>`` re-exports whichever is live. The
compiled one wins unless ``BOARDCORE_NO_EXTENSIONS=1`` is set or it was not
built. ``COMPILED`` is True when every kernel runs compiled; ``IMPLEMENTATIONS``
says per kernel.
"""
from __future__ import annotations

from ._select import KERNELS, NO_EXTENSIONS, implementations

IMPLEMENTATIONS: dict[str, str] = implementations()
COMPILED: bool = bool(IMPLEMENTATIONS) and all(v == "compiled" for v in IMPLEMENTATIONS.values())

__all__ = ["COMPILED", "IMPLEMENTATIONS", "KERNELS", "NO_EXTENSIONS"]

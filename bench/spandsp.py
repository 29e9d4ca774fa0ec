"""Shared plumbing for the spandsp reference wrappers (bench/spandsp_dtmf.py, bench/spandsp_mf.py).

Each wrapper declares its C prototypes and a small C driver loop; :class:`CffiWrapper` compiles
them once with cffi (API mode, linked against ``libspandsp.so`` from the Debian package
libspandsp-dev), caches the extension under ``build/<label>/`` keyed by a hash of the C text,
and remembers why it could not be built. :func:`as_channel_block` checks a block of samples
the way every wrapper's ``process`` takes it.

    w = CffiWrapper("spandsp_dtmf", CDEF, SOURCE)
    ok, why = w.available()
    mod = w.require()                      # RuntimeError(why) when unavailable
    x = as_channel_block(samples, channels)
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from types import ModuleType
from collections.abc import Sequence

import numpy as np

__all__ = ["CffiWrapper", "as_channel_block"]

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CffiWrapper:
    """A cffi extension over libspandsp, compiled on first use and cached under ``build/<label>/``."""

    def __init__(self, label: str, cdef: str, source: str, compile_args: Sequence[str] = (),
                 libraries: Sequence[str] = ("spandsp", "m"), package: str = "libspandsp-dev") -> None:
        self.label = label
        self.cdef = cdef
        self.source = source
        self.compile_args = list(compile_args)
        self.libraries = list(libraries)      #: linked; the first must be found (speexdsp too)
        self.package = package                #: the Debian package named when it is missing
        self._mod: ModuleType | None = None
        self.why: str = ""

    def module(self) -> ModuleType | None:
        """Compile (once) and import the wrapper; None with the reason in ``why`` when impossible."""
        if self._mod is not None or self.why:
            return self._mod
        try:
            import cffi
        except ImportError:
            self.why = "cffi not installed"
            return None
        import ctypes.util

        if ctypes.util.find_library(self.libraries[0]) is None:
            self.why = f"lib{self.libraries[0]} not found (Debian package {self.package})"
            return None
        tag = hashlib.sha1((self.cdef + self.source).encode()).hexdigest()[:10]
        name = f"_{self.label}_{tag}"
        outdir = os.path.join(_ROOT, "build", self.label)
        os.makedirs(outdir, exist_ok=True)
        try:
            found = [f for f in os.listdir(outdir) if f.startswith(name) and f.endswith(".so")]
            if not found:
                ffi = cffi.FFI()
                ffi.cdef(self.cdef)
                kw = {"extra_compile_args": self.compile_args} if self.compile_args else {}
                ffi.set_source(name, self.source, libraries=self.libraries, **kw)
                ffi.compile(tmpdir=outdir, verbose=False)
                found = [f for f in os.listdir(outdir) if f.startswith(name) and f.endswith(".so")]
            spec = importlib.util.spec_from_file_location(name, os.path.join(outdir, found[0]))
            if spec is None or spec.loader is None:
                raise ImportError(f"{found[0]}: not a loadable module")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            sys.modules[name] = mod
        except Exception as exc:  # compiler missing, link error, ...
            self.why = f"spandsp wrapper not built: {exc}"
            return None
        self._mod = mod
        return mod

    def available(self) -> tuple[bool, str]:
        """(True, "") when the wrapper can be used, else (False, the reason)."""
        mod = self.module()
        return (mod is not None, self.why)

    def require(self) -> ModuleType:
        """The built wrapper; RuntimeError with the reason when it cannot be built."""
        mod = self.module()
        if mod is None:
            raise RuntimeError(self.why)
        return mod


def as_channel_block(samples: np.ndarray, channels: int) -> np.ndarray:
    """``samples`` as a C-contiguous int16 (channels, n) array; TypeError/ValueError otherwise."""
    x = np.ascontiguousarray(samples)
    if x.dtype != np.int16:
        raise TypeError(f"samples must be int16, got {x.dtype}")
    if x.ndim == 1:
        x = x.reshape(channels, -1)
    if x.ndim != 2 or x.shape[0] != channels:
        raise ValueError(f"samples shaped {x.shape}, expected ({channels}, n)")
    return x

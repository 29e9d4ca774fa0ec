"""Build the _boardcore Cython kernels.

Every ``_boardcore/<name>_c.pyx`` becomes the extension ``_boardcore.<name>_c``, and every
``cti/**/<name>_c.pyx`` (protocol accelerators, e.g. the SS7 per-MSU path) the extension named
by its dotted path; each has a pure-Python twin ``<name>_py.py`` next to it. A
``cti/**/<name>_c.pxd`` with no ``.pyx`` compiles the twin itself (Cython pure-Python mode).
The package still installs and imports without a compiler: each kernel has a
pure-Python twin ``_boardcore/<name>_py.py`` that is selected when the
extension is missing or ``BOARDCORE_NO_EXTENSIONS=1`` is set.

Build-time switches (environment):
  BOARDCORE_NO_EXTENSIONS=1   build nothing, install the twins only
  BOARDCORE_CYTHON_DEBUG=1    turn bounds/wraparound checks back on (scikit-learn style)
  BOARDCORE_ANNOTATE=1        write Cython's --annotate HTML next to the sources
  BOARDCORE_ONLY=dtmf,g711    build only these kernels (quick rebuilds while developing one)
"""
import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")


class OptionalBuildExt(build_ext):
    """Build the kernels, but never fail the install: the twins keep it working."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # pragma: no cover - only without a compiler
            print(f"WARNING: _boardcore extensions not built ({exc}); using pure-Python twins",
                  file=sys.stderr)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # pragma: no cover
            print(f"WARNING: {ext.name} not built ({exc}); its pure-Python twin is used",
                  file=sys.stderr)


def extensions():
    if _flag("BOARDCORE_NO_EXTENSIONS"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("WARNING: Cython missing; installing pure-Python twins only", file=sys.stderr)
        return []
    from setuptools import Extension

    debug = _flag("BOARDCORE_CYTHON_DEBUG")
    directives = {
        "language_level": "3",
        # Fast by default; BOARDCORE_CYTHON_DEBUG=1 turns the checks back on.
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": not debug,
        "embedsignature": True,
    }
    only = {n.strip() for n in os.environ.get("BOARDCORE_ONLY", "").split(",") if n.strip()}
    sources = sorted(glob.glob(os.path.join("_boardcore", "*_c.pyx")))
    sources += sorted(glob.glob(os.path.join("cti", "**", "*_c.pyx"), recursive=True))
    exts = [
        Extension(
            os.path.splitext(path)[0].replace(os.sep, "."),
            [path],
            # a kernel's C helpers (<name>_kernel.h ...) are part of it: editing one rebuilds it
            depends=sorted(glob.glob(path[:-len("_c.pyx")] + "_*.h")),
            extra_compile_args=["-O3"] if not debug else ["-O0", "-g"],
        )
        for path in sources
        if not only or os.path.basename(path)[:-len("_c.pyx")] in only
    ]
    # one source: a <name>_c.pxd beside a <name>_py.py twin (no .pyx) compiles the twin in
    # Cython's pure-Python mode as <name>_c (aiohttp builds its reader_c from reader_py so)
    # Cython's dependency tree follows a source's own .pxd (<name>_py.pxd), not the
    # <name>_c.pxd a pure-mode build reads nor what that cimports, so an edited .pxd left a
    # stale module that crashed at run time: regenerate when any .pxd under cti/ is newer.
    pxds = glob.glob(os.path.join("cti", "**", "*.pxd"), recursive=True)
    newest_pxd = max((os.path.getmtime(p) for p in pxds), default=0.0)
    for pxd in sorted(p for p in pxds if p.endswith("_c.pxd")):
        twin = pxd[:-len("_c.pxd")] + "_py.py"
        if os.path.exists(pxd[:-len(".pxd")] + ".pyx") or not os.path.exists(twin):
            continue
        if only and os.path.basename(pxd)[:-len("_c.pxd")] not in only:
            continue
        generated = twin[:-len(".py")] + ".c"
        if os.path.exists(generated) and os.path.getmtime(generated) < newest_pxd:
            os.remove(generated)
        exts.append(Extension(os.path.splitext(pxd)[0].replace(os.sep, "."), [twin],
                              extra_compile_args=["-O3"] if not debug else ["-O0", "-g"]))
    return cythonize(exts, compiler_directives=directives,
                     annotate=_flag("BOARDCORE_ANNOTATE"), quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})

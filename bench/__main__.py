"""Run benchmarks: ``python -m bench [name ...] [--quick]`` (default: all)."""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

# One BLAS thread: the benchmarks run numpy on small blocks, and idle OpenBLAS worker threads
# spinning on a shared 2-core machine cost the rows measured after them (seen in perf: ~2 %).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import bench
from bench.common import print_results


def main(argv: list[str] | None = None) -> int:
    names = sorted(m.name[6:] for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    named_only = ("capacity_rt",)        # run when named: the real-clock capacity (two processes, minutes)
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all of " + ", ".join(names) + ")")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test of the benchmarks)")
    args = ap.parse_args(argv)
    unknown = set(args.names) - set(names) - set(named_only)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    import _boardcore

    print(f"_boardcore kernels and accelerators: {_boardcore.IMPLEMENTATIONS}")
    for name in args.names or names:
        mod = importlib.import_module(f"bench.{name}" if name in named_only else f"bench.bench_{name}")
        print_results(name, mod.run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())

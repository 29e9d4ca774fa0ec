"""Benchmarks. Each ``bench/bench_<name>.py`` has ``run(quick: bool) -> list[Result]``;
``python -m bench [names...] [--quick]`` runs them and prints one table each, with the
reference implementation measured in the same run and the ratios against it."""

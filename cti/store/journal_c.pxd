# Compiles journal_py.py (Cython's pure-Python mode) as cti.store.journal_c: one source for the
# journal writer. Nothing is declared: compiled, the twin's per-row checks and paging on the
# owner's thread cost C, and the publisher runs as fast beside it as beside the hand-written
# writer this replaced (docs/bus.md "Measured"); SQLite itself runs without the GIL either way.

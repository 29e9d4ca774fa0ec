# The two commands of the README:
#   make run    set up (venv, kernels, system packages) and run the main job
#   make test   set up and run the whole test suite (what .ci/run calls)
# Also: make bench (benchmarks with in-run references), make build (kernels only).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml setup.py | cksum | cut -d' ' -f1)

.PHONY: run test test-quick lint bench build deps system-deps clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "Cython>=3.0" setuptools wheel
	$(PY) -m pip install -q --no-build-isolation -e '.[test,report,postgres,lint,cluster]'
	touch $@

deps: $(STAMP)

system-deps:
	@bash .ci/system-deps.sh

build: deps
	$(PY) setup.py -q build_ext --inplace

run: build
	$(VENV)/bin/cti-server $(ARGS)

# Everything CI checks: the habits (ruff, mypy), every test on the compiled kernels and
# accelerators, then a representative subset on the pure-Python twins
# (BOARDCORE_NO_EXTENSIONS=1): the engine, the three stacks and the call model. The kernel
# tests already run both implementations in the first pass.
TWIN_TESTS := tests/test_signaling_engine.py tests/test_signaling_stack.py tests/test_no1_*.py \
              tests/test_ss7_*.py tests/test_pri_*.py tests/test_call_*.py tests/test_kernel_selection.py
test: system-deps build lint
	$(PY) -m pytest $(PYTEST_ARGS)
	BOARDCORE_NO_EXTENSIONS=1 BOARDCORE_REQUIRE_COMPILED= $(PY) -m pytest -q -m "unit or system" $(TWIN_TESTS)

# The quick lane: unit tests only (no end-to-end system tests, interop peers, loads,
# batteries, browsers or clusters); about a minute on a quiet 2-core machine.
test-quick: build
	$(PY) -m pytest -q -m unit -x $(PYTEST_ARGS)

# Habits a machine checks: ruff (pyproject [tool.ruff]) and mypy (pyproject [tool.mypy]).
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: system-deps build
	$(PY) -m bench $(ARGS)

clean:
	rm -rf build $(VENV) _boardcore/*.c _boardcore/*.so _boardcore/*.html
	find cti -name "*_c.c" -o -name "*_c.html" -o -name "*.so" | xargs rm -f

# The two commands: `make demo` and `make test`. Each creates .venv when absent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfn-installed

.PHONY: demo test test-python test-lit bench fuzz clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: test-python test-lit

test-python: $(STAMP)
	$(PY) -m pytest test/python
	$(PY) -m pytest -p no:cacheprovider --doctest-modules python/tfn

test-lit: $(STAMP)
	$(VENV)/bin/lit -q test/lit

# Differential fuzzing: random tfn.numpy programs against numpy, finite differences and each other.
# New failures are shrunk and saved under test/python/fuzz_regressions/ (replayed by make test).
FUZZ_MINUTES ?= 10
FUZZ_JOBS ?= 2
fuzz: $(STAMP)
	cd test/python && ../../$(PY) -m fuzz --minutes $(FUZZ_MINUTES) --jobs $(FUZZ_JOBS)

bench: $(STAMP)
	$(PY) -m pip install -q torch==2.13.0 jax matplotlib
	$(PY) bench/run.py --busy 1,2 --compile-scaling

clean:
	rm -rf $(VENV) build python/*.egg-info

# Every target sets itself up on a fresh machine: a virtual environment in .venv,
# filled with the pinned versions from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
PYTEST_ARGS ?=

.PHONY: help install test lint typecheck pytest demo bench docs clean

help:
	@echo "make demo   run the main job on a bundled dataset"
	@echo "make test   install what is needed and run ruff, mypy and the test suite"
	@echo "make bench  run the benchmarks under benchmarks/"
	@echo "make docs   build the documentation (warnings are errors)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# The runtime dependencies and the `report` extra (matplotlib), no dev tools:
# what a user who runs `pip install "skdrop[report]"` has.
$(VENV)/.report: $(PY) pyproject.toml constraints.txt
	$(PIP) -e ".[report]"
	@touch $@

$(VENV)/.dev: $(PY) pyproject.toml constraints.txt
	$(PIP) -e ".[dev]"
	@touch $@

$(VENV)/.bench: $(VENV)/.dev
	$(PIP) -e ".[dev,bench]"
	@touch $@

$(VENV)/.docs: $(PY) pyproject.toml constraints.txt
	$(PIP) -e ".[dev,docs]"
	@touch $@

install: $(VENV)/.dev

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check skdrop tests examples benchmarks docs/conf.py
	$(VENV)/bin/ruff format --check skdrop tests examples benchmarks docs/conf.py

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy skdrop/_engine skdrop/exceptions.py \
		skdrop/linear_model/_closed_form.py skdrop/linear_model/_logistic_objectives.py \
		skdrop/neural_network/_problem.py skdrop/utils/_deprecation.py skdrop/utils/_devices.py skdrop/utils/_optimize.py \
		skdrop/utils/_persistence.py skdrop/utils/_progress.py skdrop/utils/_search.py

pytest: $(VENV)/.dev
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(VENV)/.report
	$(PY) -m skdrop demo

bench: $(VENV)/.bench
	$(PY) benchmarks/bench_linear.py
	$(PY) benchmarks/bench_mlp.py
	$(PY) benchmarks/bench_categorical.py
	$(PY) benchmarks/bench_inspection.py
	$(PY) benchmarks/bench_mlp_cv.py
	$(PY) benchmarks/bench_learned_rates.py
	# Dropout logistic regression: timing and CV cost on 200,000 x 200 (the
	# GridSearchCV reference is 100 fits), quality on six real tables.
	$(PY) benchmarks/bench_logistic.py --json benchmarks/results/bench_logistic.json
	# Quality on ten real tables; 1.5 to 3 hours on 2 cores, mostly RealMLP-TD.
	$(PY) benchmarks/bench_quality.py --json benchmarks/results/bench_quality.json
	# MC dropout uncertainty, Gal & Ghahramani's UCI protocol (Boston,
	# Concrete; 20 splits, 40 and 400 epochs); about an hour on 2 cores.
	$(PY) benchmarks/bench_uncertainty.py --out benchmarks/results/bench_uncertainty.csv

docs: $(VENV)/.docs
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples docs/generated .pytest_cache .mypy_cache .ruff_cache

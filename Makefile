# Two commands on a fresh machine with python3 and make:
#   make demo   install into .venv and train/sample/evaluate on a simulated dataset
#   make test   install into .venv and run the test suite (slow checks excluded)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := dev,export,nwb,plot
DEMO_OUT ?= runs/demo
DEMO_STEPS ?= 24000

.PHONY: install test test-slow demo lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

# two worker processes (pytest-xdist), one per file: much of a test's time is one-threaded
# Python (tracing, small graphs), so two of them share 2 cores better than one does
test: install
	$(BIN)/python -m pytest -m "not slow" -q -n 2 --dist loadfile --durations=25

test-slow: install
	$(BIN)/python -m pytest -m slow -q --durations=25

demo: install
	$(BIN)/spikegan demo --out $(DEMO_OUT) --steps $(DEMO_STEPS)

lint: install
	$(BIN)/ruff check .

# bench_export --quick is a smoke run: it writes beside, not over, the committed results
bench: install
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_export.py --quick --out benchmarks/results/quick/bench_export.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

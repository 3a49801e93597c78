# The two commands of the README. Each sets up its own virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup reproduce test
setup: $(VENV)/.installed

# constraints.txt pins every transitive dependency to the versions the tests and results were made with.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

## Train the default suite with `dvc repro` and build its tables, plots and report.
# `make reproduce DVC_ARGS=--force` reruns every stage (finished runs are still reused).
reproduce: setup
	$(BIN)/dvc repro $(DVC_ARGS)
	@echo
	@echo "Runs:        results/runs/<suite>/<algo>/<env>/seed_<n>/"
	@echo "Tables:      results/<suite>/ (aggregate, per-environment, probability of improvement, leaderboard)"
	@echo "Plots:       reports/<suite>/*.png|svg"
	@echo "Report:      reports/<suite>/report.md and report.html"
	@echo "Atari 100k:  results/atari100k/ and reports/atari100k/"

## Run the tests (learning tests and the smoke pipeline included).
test: setup
	$(BIN)/python -m pytest -q

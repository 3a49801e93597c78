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

## Reproduce every published suite (pipeline.publish in params.yaml) with `dvc repro`.
# The `plan@<suite>` stages, forced first, record every run id (results/plans/<suite>.json): they see agent
# code that DVC cannot, such as a plugin installed from outside the repository, so a changed plugin is retrained.
# `make reproduce DVC_ARGS=--force` reruns every stage (finished runs are still reused).
reproduce: setup
	$(BIN)/dvc repro --force --single-item plan
	$(BIN)/dvc repro $(DVC_ARGS)
	@echo
	@for suite in $$($(BIN)/python -c "from rlbench.config.params import load_params; print(' '.join(load_params().pipeline.publish))"); do \
	  echo "Suite $$suite:"; \
	  echo "  runs        results/runs/$$suite/<algo>/<env>/seed_<n>/"; \
	  echo "  tables      results/$$suite/ (leaderboard, aggregate, per_env, probability_of_improvement, ...)"; \
	  echo "  plots       reports/$$suite/*.png|svg"; \
	  echo "  report      reports/$$suite/report.md and report.html"; \
	done
	@echo "Verdicts:    results/verdicts.md (every published number, reproduced or not, across the suites)"
	@echo "Atari 100k:  results/atari100k/ and reports/atari100k/"

## Run the tests (learning tests and the smoke pipeline included), over two processes (pytest-xdist):
# every test still runs; slow tests start first (tests/conftest.py) and `worksteal` hands a finished worker the
# other's queued tests, so a few long ones do not leave a core idle. The 15 slowest are listed at the end.
# One process: `.venv/bin/python -m pytest -q`.
test: setup
	$(BIN)/python -m pytest -q -n 2 --dist worksteal --durations=15

"""DVC stage `analyze@<suite>`: tables, leaderboard, plots and report of the suite, from its plan and runs."""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.reporting.suite_outputs import publish_suite
from rlbench.storage.plans import read_plan
from rlbench.storage.run_store import RunStore

if __name__ == "__main__":
    try:
        plan = read_plan("results", sys.argv[1])
        RunStore("results").refuse_changed(plan.runs)  # a run changed outside the pipeline is never published
        publish_suite(plan, load_params("params.yaml").pipeline)
    except RlbenchError as error:
        sys.exit(f"error: {error}")

"""DVC stage `analyze@<suite>`: tables, leaderboard, plots and report of the suite, from its plan and runs."""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.reporting.suite_outputs import publish_suite
from rlbench.storage.plans import read_plan

if __name__ == "__main__":
    try:
        publish_suite(read_plan("results", sys.argv[1]), load_params("params.yaml").pipeline)
    except RlbenchError as error:
        sys.exit(f"error: {error}")

"""DVC stage `analyze`: tables, leaderboard, plots and report of `pipeline.suite`."""

import sys

from rlbench.config import load_params
from rlbench.errors import RlbenchError
from rlbench.publish import publish_suite

if __name__ == "__main__":
    try:
        params = load_params("params.yaml")
        publish_suite(params, params.pipeline.suite)
    except RlbenchError as error:
        sys.exit(f"error: {error}")

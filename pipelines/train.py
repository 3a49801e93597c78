"""DVC stage `train`: train every unfinished run of `pipeline.suite` (finished runs are reused)."""

import sys

from rlbench.config import load_params
from rlbench.errors import RlbenchError
from rlbench.launch import run_suite

if __name__ == "__main__":
    try:
        params = load_params("params.yaml")
        report = run_suite(params)
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    print(f"suite {params.pipeline.suite}: {report.summary()}")
    sys.exit(1 if report.failed and not params.pipeline.allow_failures else 0)

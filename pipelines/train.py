"""DVC stage `train@<suite>`: train every unfinished run of the suite's plan (finished runs are reused)."""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import run_suite
from rlbench.storage.plans import read_plan

if __name__ == "__main__":
    suite = sys.argv[1]
    try:
        params = load_params("params.yaml")
        report = run_suite(params, suite, plan=read_plan("results", suite))
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    print(f"suite {suite}: {report.summary()}")
    sys.exit(1 if report.failed and not params.pipeline.allow_failures else 0)

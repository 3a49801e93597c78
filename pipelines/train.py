"""DVC stage `train@<suite>`: train every unfinished run of the suite's plan (finished runs are reused).

A run changed outside the pipeline stops the stage in one line (nothing is recorded in dvc.lock); a runs
directory that changed since dvc.lock recorded it, with the same plan, is said on stderr before DVC records it.
"""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import train_stage

if __name__ == "__main__":
    suite = sys.argv[1]
    try:
        params = load_params("params.yaml")
        report, notice = train_stage(params, suite)
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    print(f"suite {suite}: {report.summary()}")
    if notice:
        print(notice, file=sys.stderr)
    sys.exit(1 if report.failed and not params.pipeline.allow_failures else 0)

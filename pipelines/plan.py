"""DVC stage `plan@<suite>`: resolve the suite's agents and write every run's id to results/plans/<suite>.json."""

import sys

from rlbench.config.params import load_params
from rlbench.config.plan import plan_suite
from rlbench.errors import RlbenchError
from rlbench.storage.plans import write_plan

if __name__ == "__main__":
    try:
        changed = write_plan(plan_suite(load_params("params.yaml"), sys.argv[1]), "results")
        print(f"plan {sys.argv[1]}: {'updated' if changed else 'unchanged'}")
    except RlbenchError as error:
        sys.exit(f"error: {error}")

"""DVC stage `normalization@<suite>`: random-policy and solved-threshold scores of the suite's environments."""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.references.measured import write_normalization

if __name__ == "__main__":
    try:
        params = load_params("params.yaml")
        write_normalization(params.suite(sys.argv[1]), "results", params.pipeline.stats_seed)
    except RlbenchError as error:
        sys.exit(f"error: {error}")

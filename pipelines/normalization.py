"""DVC stage `normalization`: random-policy and solved-threshold scores of the suite's environments."""

import sys

from rlbench.config import load_params
from rlbench.io_utils import write_csv_atomic
from rlbench.normalization import normalization_table
from rlbench.publish import normalization_path

EPISODES = 100

if __name__ == "__main__":
    params = load_params("params.yaml")
    suite = params.suite(params.pipeline.suite)
    table = normalization_table(suite.envs, EPISODES, params.pipeline.stats_seed)
    write_csv_atomic(normalization_path("results", suite.name), table, float_format="%.4f")
    sys.exit(0)

"""DVC stage `verdicts`: every published number's reproduction verdict across the published suites.

Reads ``results/published_vs_ours/<suite>.csv`` of each suite in ``pipeline.publish`` and writes
``results/verdicts.csv`` and ``results/verdicts.md`` (:mod:`rlbench.reporting.verdicts`).
"""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.reporting.tables import DECIMALS
from rlbench.reporting.verdicts import cross_suite_verdicts, verdicts_markdown
from rlbench.storage.files import write_csv_atomic, write_text_atomic

if __name__ == "__main__":
    try:
        params = load_params("params.yaml")
        table = cross_suite_verdicts(params, "results")
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    write_csv_atomic("results/verdicts.csv", table, float_format=f"%.{DECIMALS}f")
    write_text_atomic("results/verdicts.md", verdicts_markdown(table, params.pipeline.publish))

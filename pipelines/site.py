"""DVC stage `site`: the documentation site's generated pages (``docs/results/``).

Reads the published tables (``results/``) and figures (``reports/``) and ``params.yaml``, and writes one page per
published suite, the cross-suite verdicts, the Atari 100k table, the measured error rates, the suites table and the
``params.yaml`` reference (:mod:`rlbench.reporting.site`). ``mkdocs build --strict`` then builds the site.
"""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.reporting.site import write_site

if __name__ == "__main__":
    try:
        pages = write_site(load_params("params.yaml"), ".", "docs")
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    print(f"{len(pages)} pages in docs/results/")

"""DVC stages `site-suite@<suite>` and `site`: the documentation site's generated pages (``docs/results/``).

``python pipelines/site.py SUITE`` writes one published suite's page and figures from ``results/<suite>/`` and
``reports/<suite>/``; ``python pipelines/site.py`` the rest: the index with the cross-suite verdicts, the Atari
100k table, the measured error rates, the suites table and the ``params.yaml`` reference
(:mod:`rlbench.reporting.site`). ``mkdocs build --strict`` then builds the site.
"""

import sys

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.reporting.site import write_index_site, write_suite_site

if __name__ == "__main__":
    try:
        params = load_params("params.yaml")
        if len(sys.argv) > 1:
            if sys.argv[1] not in params.pipeline.publish:
                raise RlbenchError(f"unknown published suite {sys.argv[1]!r}; published: "
                                   f"{', '.join(params.pipeline.publish)}")
            pages = write_suite_site(sys.argv[1], ".", "docs")
        else:
            pages = write_index_site(params, ".", "docs")
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    print(f"wrote {', '.join(str(page) for page in pages)}")

"""The report's stated choices, each in one place: what difference matters, and how failed runs count."""

from __future__ import annotations

MEANINGFUL_DIFFERENCE = 0.1
"""A difference of 0.1 normalised score (a tenth of the way from the random policy to the reference): the
equivalence margin of the reproduction verdicts (in raw returns: 0.1 × (reference − random) of the environment)
and the stated difference of the seeds-needed table."""

FAILURE_POLICY = (
    "A run that failed (raised, or returned NaN, after its retries) counts as the random policy on its environment "
    "(normalised score 0) at every evaluation step, and so does every non-finite evaluation of a diverged run; "
    "such runs are listed under \"Failed runs\", never left out (an algorithm none of whose runs finished is "
    "listed there and not ranked)"
)
"""How failed and diverged runs enter the statistics, in words."""

COUNTED_AS = "random score (normalised 0)"
"""The ``counted_as`` entry of a failed or diverged run in the failures table."""

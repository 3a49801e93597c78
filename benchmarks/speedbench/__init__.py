"""The speed benchmark's parts: the timing harness (``harness``), the settings it reads from params.yaml
(``settings``), the competitors (``competitors``: rlbench and SB3 through their real code paths; ``bare``: the tight
hand-written loop and the gradient floor) and the comparisons (``groups``). ``benchmarks/speed.py`` is the command."""

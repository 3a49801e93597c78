"""rlbench: a reproducible deep reinforcement learning benchmark and evaluation suite."""

__version__ = "0.1.0"

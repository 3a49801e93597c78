"""Exact dynamic programming on known tabular models: value iteration, policy evaluation (``dynamic_programming``)."""

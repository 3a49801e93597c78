"""Environment registry and factory: a name maps to a wrapped, seeded gymnasium environment (``registry``)."""

"""Agents: the interface, the built-in algorithms and the registry that names them."""

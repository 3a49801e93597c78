"""Statistics as pure functions over score matrices, rliable underneath (``bootstrap``, ``aggregates``,
``variability``)."""

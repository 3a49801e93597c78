"""Score matrices from runs (``matrices``), normalisation (``normalization``), published scores (``external``)."""

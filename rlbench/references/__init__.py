"""Measured references of normalised scores (random-policy rollouts, optimal returns): ``measured``."""

"""One independent random stream per random source, all spawned from the run's seed.

Every source of randomness of a run (training env, evaluation env, exploration, network
initialisation, replay sampling, and the catch-all torch/global seed used by third-party
code such as Stable-Baselines3) gets its own child of ``numpy.random.SeedSequence(seed)``,
so that changing how one source is consumed never shifts another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAM_NAMES = ("env", "eval_env", "exploration", "network", "replay", "framework")


@dataclass(frozen=True)
class RunSeeds:
    """The spawned seed sequences of one run, one per random source."""

    seed: int
    """The run's seed, as given in the suite."""
    env: np.random.SeedSequence
    """Training environment resets and its action space."""
    eval_env: np.random.SeedSequence
    """Evaluation environment; each evaluation round spawns its own child."""
    exploration: np.random.SeedSequence
    """Epsilon-greedy draws and policy sampling."""
    network: np.random.SeedSequence
    """Network weight initialisation."""
    replay: np.random.SeedSequence
    """Replay-buffer minibatch sampling."""
    framework: np.random.SeedSequence
    """Global torch/numpy seed for code we do not control (SB3 internals)."""

    @classmethod
    def from_seed(cls, seed: int) -> "RunSeeds":
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"a run seed must be a non-negative integer, got {seed!r}")
        children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES))
        return cls(seed, *children)


def int_seed(sequence: np.random.SeedSequence) -> int:
    """A 31-bit integer seed drawn from a seed sequence (for APIs that only take ints)."""
    return int(sequence.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def generator(sequence: np.random.SeedSequence) -> np.random.Generator:
    """A fresh numpy Generator on the given stream."""
    return np.random.Generator(np.random.PCG64(sequence))


def child(sequence: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """The index-th child of a stream, reproducible without keeping spawn state."""
    return np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, index))

"""Memory of a replay buffer of Atari-sized stacked frames (4 x 84 x 84 uint8): frame storage against the
plain storage of both stacks per transition.

Fills a ``FrameStorage`` with ``--fill`` transitions of synthetic episodes (random frames, episodes of
``--episode`` steps) and reports the bytes its arrays hold and the process's resident-memory growth
(both measured, not computed); the 1M-transition row is the measured bytes per transition times 1M,
since filling 7 GB does not fit every machine. ``VectorStorage``'s figure is its preallocated arrays.

    python benchmarks/replay_memory.py                  # -> results/benchmarks/replay_memory.md
    python benchmarks/replay_memory.py --fill 10000 --out -
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

import gymnasium as gym
import numpy as np

from rlbench.replay.frames import FrameStorage
from rlbench.replay.storage import VectorStorage
from rlbench.storage.files import write_text_atomic

STACK, SIDE = 4, 84


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def fill(storage: FrameStorage, transitions: int, episode: int, rng: np.random.Generator) -> None:
    frames = rng.integers(0, 256, (1024, SIDE, SIDE), dtype=np.uint8)  # a pool: random content, cheap to draw
    obs = frames[rng.integers(1024, size=STACK)]
    for step in range(transitions):
        next_obs = np.concatenate([obs[1:], frames[rng.integers(1024)][None]])
        storage.add(obs, 0, 0.0, next_obs, False)
        obs = frames[rng.integers(1024, size=STACK)] if (step + 1) % episode == 0 else next_obs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=int, default=100_000, help="transitions to store (default 100,000)")
    parser.add_argument("--episode", type=int, default=1_000, help="steps per synthetic episode")
    parser.add_argument("--out", default="results/benchmarks/replay_memory.md", help="output file, or - for stdout")
    args = parser.parse_args()
    observation = gym.spaces.Box(0, 255, (STACK, SIDE, SIDE), np.uint8)
    before = peak_rss_bytes()
    storage = FrameStorage(args.fill, observation, gym.spaces.Discrete(18))
    fill(storage, args.fill, args.episode, np.random.default_rng(0))
    grown = peak_rss_bytes() - before
    per_transition = storage.nbytes / args.fill
    vector = VectorStorage(1, observation, gym.spaces.Discrete(18))
    vector_per_transition = sum(a.nbytes for a in (vector.observations, vector.next_observations, vector.actions,
                                                   vector.rewards, vector.terminated))
    gib = 1024**3
    rows = [
        f"| frame storage, {args.fill:,} transitions (measured) | {storage.nbytes / gib:.3f} | {grown / gib:.3f} |",
        f"| frame storage, 1,000,000 transitions (measured bytes per transition x 1M) | "
        f"{per_transition * 1e6 / gib:.2f} | |",
        f"| both stacks per transition, {args.fill:,} | {vector_per_transition * args.fill / gib:.2f} | |",
        f"| both stacks per transition, 1,000,000 | {vector_per_transition * 1e6 / gib:.2f} | |",
    ]
    text = "\n".join([
        f"# Replay memory: {STACK} x {SIDE} x {SIDE} uint8 observations, episodes of {args.episode:,} steps",
        "",
        "| buffer | GiB held by its arrays | resident-memory growth, GiB |",
        "|---|---:|---:|",
        *rows,
        "",
        f"Frame storage: {per_transition:,.0f} bytes per transition (one {SIDE}x{SIDE} frame is {SIDE * SIDE:,}).",
        "",
    ])
    if args.out == "-":
        print(text, end="")
    else:
        write_text_atomic(Path(args.out), text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

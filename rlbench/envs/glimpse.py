"""Glimpse classification, the task of the Recurrent Attention Model (Mnih et al. 2014, "Recurrent
Models of Visual Attention").

A handwritten digit from scikit-learn's bundled 8x8 digits (``sklearn.datasets.load_digits``, the UCI
optical recognition set; no download) is placed at a random position (by default a random cell of a
2x2 grid on a 16x16 canvas) on a canvas cluttered with fragments of other digits. The agent never gets the image whole: each step it sees a *glimpse*,
``scales`` square patches centred on a location, the k-th ``glimpse * 2**k`` pixels wide and averaged
down to ``glimpse x glimpse`` (the multi-resolution retina of the paper), and chooses where to look
next. After ``n_glimpses`` glimpses its label is judged: reward 1 if right, else 0, so the return is the
accuracy. The first glimpse is at the centre.

Observation (a ``Dict``): ``glimpse`` (scales, glimpse, glimpse) in [0, 1]; ``location`` (row, column)
in [-1, 1] of that glimpse; ``canvas``, the whole image, for the full-image baseline only; ``digit``, the
location (row, column) in [-1, 1] of the digit's centre, where a glimpse sees it whole, for the oracle-location
baseline only (the learned and random glimpse agents read ``glimpse`` and ``location`` alone;
:mod:`rlbench.agents.ram` tests this).
Action (a ``Dict``): ``location`` in [-1, 1]^2, where to look next (ignored at the last step), and
``label`` 0..9 (judged at the last step only). ``info["label"]`` carries the true class at the last
step, for the classifier's supervised loss.

Images are split once, by index: every fifth image (360) is held out for evaluation (``split="test"``),
the other 1,437 train. The evaluation environment uses the held-out images (``rlbench.envs.registry``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import gymnasium as gym
import numpy as np

RESULT_PACKAGES: tuple[str, ...] = ("scikit-learn",)
"""The digits come from this distribution: its version is part of the run identity (``config.identity``)."""

SPLITS: tuple[str, ...] = ("train", "test")
PLACEMENTS: tuple[str, ...] = ("grid", "anywhere", "fixed")
"""Where the digit goes: a random cell of the canvas's grid of 8x8 cells (4 places on the default 16x16
canvas: a glimpse can be centred on it exactly), any pixel position (the paper's translated task, far
slower to learn), or always the top-left cell (a sanity task where only where to look matters)."""
DIGIT = 8
"""Side of a digit image in pixels."""
CLASSES = 10


@cache
def digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images in [0, 1] of shape (n, 8, 8), labels) of one split of scikit-learn's digits."""
    from sklearn.datasets import load_digits

    data = load_digits()
    held_out = np.arange(len(data.target)) % 5 == 0
    chosen = held_out if split == "test" else ~held_out
    return (data.images[chosen] / 16.0).astype(np.float32), data.target[chosen].astype(np.int64)


def extract_glimpse(padded: np.ndarray, size: int, location: np.ndarray, glimpse: int, scales: int) -> np.ndarray:
    """The ``(scales, glimpse, glimpse)`` retina at ``location`` (row, column in [-1, 1]) of a ``size``-pixel
    canvas given zero-padded by the widest patch on every side (see :func:`pad_canvas`)."""
    centre = np.round((np.clip(location, -1.0, 1.0) + 1.0) / 2.0 * size).astype(int)
    widest = glimpse * 2 ** (scales - 1)
    patches = np.empty((scales, glimpse, glimpse), np.float32)
    for k in range(scales):
        width = glimpse * 2**k
        top, left = centre + widest - width // 2
        patch = padded[top:top + width, left:left + width]
        patches[k] = patch.reshape(glimpse, 2**k, glimpse, 2**k).mean(axis=(1, 3))
    return patches


def digit_location(top: int, left: int, size: int) -> np.ndarray:
    """The location (row, column) in [-1, 1] whose glimpse is centred on a digit drawn at pixel ``(top, left)``
    of a ``size``-pixel canvas: the inverse of :func:`extract_glimpse`'s ``(location + 1) / 2 * size``."""
    return ((np.array([top, left], np.float64) + DIGIT / 2) / size * 2.0 - 1.0).astype(np.float32)


def pad_canvas(canvas: np.ndarray, glimpse: int, scales: int) -> np.ndarray:
    """The canvas with zeros around it, wide enough for the widest patch anywhere on it."""
    return np.pad(canvas, glimpse * 2 ** (scales - 1))


class GlimpseEnv(gym.Env):
    """Cluttered digit classification through glimpses (gymnasium API)."""

    metadata = {"render_modes": []}

    def __init__(self, split: str = "train", canvas: int = 16, glimpse: int = 4, scales: int = 3,
                 n_glimpses: int = 2, clutter: int = 2, fragment: int = 4, placement: str = "grid") -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        if placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
        if canvas < DIGIT or n_glimpses < 1 or scales < 1 or glimpse < 1 or not 0 < fragment <= DIGIT:
            raise ValueError("need canvas >= 8, n_glimpses >= 1, scales >= 1, glimpse >= 1 and 0 < fragment <= 8")
        self.split, self.size, self.glimpse, self.scales = split, canvas, glimpse, scales
        self.n_glimpses, self.clutter, self.fragment, self.placement = n_glimpses, clutter, fragment, placement
        self.images, self.labels = digits(split)
        self.observation_space = gym.spaces.Dict({
            "glimpse": gym.spaces.Box(0.0, 1.0, (scales, glimpse, glimpse), np.float32),
            "location": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            "canvas": gym.spaces.Box(0.0, 1.0, (canvas, canvas), np.float32),
            "digit": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        })
        self.action_space = gym.spaces.Dict({
            "location": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            "label": gym.spaces.Discrete(CLASSES),
        })
        self.canvas = np.zeros((canvas, canvas), np.float32)
        self.label = 0
        self.digit = np.zeros(2, np.float32)
        self.t = 0

    def _draw(self) -> None:
        rng = self.np_random
        self.canvas = np.zeros((self.size, self.size), np.float32)
        for _ in range(self.clutter):  # fragments of other digits, drawn first so the digit stays whole on top
            image = self.images[rng.integers(len(self.images))]
            r, c = rng.integers(0, DIGIT - self.fragment + 1, 2)
            top, left = rng.integers(0, self.size - self.fragment + 1, 2)
            region = self.canvas[top:top + self.fragment, left:left + self.fragment]
            np.maximum(region, image[r:r + self.fragment, c:c + self.fragment], out=region)
        index = rng.integers(len(self.images))
        if self.placement == "grid":  # one of the cells of a grid of digit-sized cells
            top, left = rng.integers(0, self.size // DIGIT, 2) * DIGIT
        elif self.placement == "fixed":
            top, left = 0, 0
        else:
            top, left = rng.integers(0, self.size - DIGIT + 1, 2)
        region = self.canvas[top:top + DIGIT, left:left + DIGIT]
        np.maximum(region, self.images[index], out=region)
        self.label = int(self.labels[index])
        self.digit = digit_location(top, left, self.size)
        self.padded = pad_canvas(self.canvas, self.glimpse, self.scales)

    def _observe(self, location: np.ndarray) -> dict[str, np.ndarray]:
        location = np.clip(np.asarray(location, np.float32), -1.0, 1.0)
        return {"glimpse": extract_glimpse(self.padded, self.size, location, self.glimpse, self.scales),
                "location": location, "canvas": self.canvas.copy(), "digit": self.digit.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self._draw()
        self.t = 1
        return self._observe(np.zeros(2, np.float32)), {}

    def step(self, action: dict[str, Any]) -> tuple[dict, float, bool, bool, dict]:
        label = int(action["label"])
        if not 0 <= label < CLASSES:
            raise ValueError(f"glimpse label must be 0..9, got {label}")
        location = np.asarray(action["location"], np.float32).reshape(2)
        if self.t < self.n_glimpses:
            self.t += 1
            return self._observe(location), 0.0, False, False, {}
        reward = 1.0 if label == self.label else 0.0
        return self._observe(location), reward, True, False, {"label": self.label}

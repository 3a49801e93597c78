"""The lecture's grid maze: reward -1 per step, actions N/E/S/W, the agent's location as the state.

A layout is a list of equal-length strings: ``#`` a wall, ``S`` the start, ``G`` the goal (terminal),
``.`` a free cell; moving into a wall or off the grid leaves the agent where it is. With ``slip`` > 0
the chosen action is replaced, with that probability, by one drawn uniformly from all four, a
stochastic model. The transition and reward model is available as arrays (:meth:`MazeEnv.model`),
built from the same move rule as :meth:`MazeEnv.step`, so exact dynamic programming
(:mod:`rlbench.planning.dynamic_programming`) gives the true V* and Q* an agent's estimates are
checked against.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlbench.planning.dynamic_programming import TabularMDP, value_iteration

ACTIONS: tuple[str, ...] = ("N", "E", "S", "W")
"""Action names, by index."""

MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
"""(row, column) change of each action."""

LAYOUTS: dict[str, tuple[str, ...]] = {
    # Three cells to the goal: V* = -3, -2, -1 along the corridor (the hand-solved test maze).
    "corridor": ("S..G",),
    # Two routes around a wall: 4 steps by the top, 6 by the bottom.
    "small": (
        "S..",
        ".#.",
        ".#G",
        "...",
    ),
    # Like the lecture's maze: start at the left, goal at the right, walls forcing a detour.
    "lecture": (
        "S..#....",
        ".#.#.##.",
        ".#...#..",
        ".####.#.",
        "......#G",
        ".##.#...",
    ),
}
"""The maze layouts by name."""

OBSERVATIONS: tuple[str, ...] = ("onehot", "coordinates")
"""How the location is observed: a one-hot vector over free cells, or (row, column) scaled to [0, 1]."""


class MazeEnv(gym.Env):
    """A grid maze (gymnasium API); ``layout`` names an entry of :data:`LAYOUTS`."""

    metadata = {"render_modes": []}

    def __init__(self, layout: str = "lecture", slip: float = 0.0, observation: str = "onehot") -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown maze layout {layout!r}; valid: {', '.join(LAYOUTS)}")
        if observation not in OBSERVATIONS:
            raise ValueError(f"unknown maze observation {observation!r}; valid: {', '.join(OBSERVATIONS)}")
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must be in [0, 1], got {slip}")
        self.layout_name, self.slip, self.observation_kind = layout, float(slip), observation
        self.grid = LAYOUTS[layout]
        self.cells: list[tuple[int, int]] = [(r, c) for r, row in enumerate(self.grid) for c, ch in enumerate(row) if ch != "#"]
        self.index = {cell: i for i, cell in enumerate(self.cells)}
        self.start = self.index[self._find("S")]
        self.goal = self.index[self._find("G")]
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        size = len(self.cells) if observation == "onehot" else 2
        self.observation_space = gym.spaces.Box(0.0, 1.0, (size,), np.float32)
        self.state = self.start

    def _find(self, char: str) -> tuple[int, int]:
        found = [(r, c) for r, row in enumerate(self.grid) for c, ch in enumerate(row) if ch == char]
        if len(found) != 1:
            raise ValueError(f"maze layout {self.layout_name!r} needs exactly one {char!r}")
        return found[0]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.grid), len(self.grid[0])

    def move(self, state: int, action: int) -> int:
        """The state reached from ``state`` by ``action`` when it does not slip (walls and edges block)."""
        row, col = self.cells[state]
        d_row, d_col = MOVES[action]
        return self.index.get((row + d_row, col + d_col), state)

    def observation(self, state: int) -> np.ndarray:
        """The observation of ``state``."""
        if self.observation_kind == "onehot":
            obs = np.zeros(len(self.cells), np.float32)
            obs[state] = 1.0
            return obs
        rows, cols = self.shape
        row, col = self.cells[state]
        return np.array([row / max(rows - 1, 1), col / max(cols - 1, 1)], np.float32)

    def observations(self) -> np.ndarray:
        """``(S, obs_dim)``: the observation of every state, by state index."""
        return np.stack([self.observation(s) for s in range(len(self.cells))])

    def model(self) -> TabularMDP:
        """The exact transition and reward model as arrays (same move rule as :meth:`step`)."""
        states, actions = len(self.cells), len(ACTIONS)
        transitions = np.zeros((states, actions, states))
        for s in range(states):
            for a in range(actions):
                if s == self.goal:
                    transitions[s, a, s] = 1.0
                    continue
                transitions[s, a, self.move(s, a)] += 1.0 - self.slip
                for other in range(actions):
                    transitions[s, a, self.move(s, other)] += self.slip / actions
        rewards = np.full((states, actions), -1.0)
        terminal = np.zeros(states, bool)
        terminal[self.goal] = True
        rewards[self.goal] = 0.0
        return TabularMDP(transitions, rewards, terminal, self.start)

    def optimal_return(self) -> float:
        """The expected undiscounted return of an optimal policy from the start: the maze's reference score."""
        return float(value_iteration(self.model(), gamma=1.0).v[self.start])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state = self.start
        return self.observation(self.state), {"state": self.state}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = int(action)
        if not self.action_space.contains(action):
            raise ValueError(f"maze action must be 0..3 (N, E, S, W), got {action}")
        if self.slip > 0.0 and self.np_random.random() < self.slip:
            action = int(self.np_random.integers(len(ACTIONS)))
        self.state = self.move(self.state, action)
        terminated = self.state == self.goal
        return self.observation(self.state), -1.0, terminated, False, {"state": self.state}

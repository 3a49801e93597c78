"""The glimpse task (:mod:`rlbench.envs.glimpse`) as its agents see it: the spaces they need and the task's
geometry (a grid policy's locations, the centres of the cells where a digit sits). Shared by the Recurrent
Attention Model (:mod:`rlbench.agents.ram`) and the full-image classifier (:mod:`rlbench.agents.full_image`)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlbench.agents.base import AgentContext


def check_glimpse_spaces(context: AgentContext) -> None:
    """Raise a ValueError unless the context has the glimpse task's observation and action spaces."""
    obs, action = context.observation_space, context.action_space
    if not (isinstance(obs, gym.spaces.Dict) and {"glimpse", "location", "canvas"} <= set(obs.spaces)
            and isinstance(action, gym.spaces.Dict) and {"location", "label"} <= set(action.spaces)):
        raise ValueError("this agent needs the glimpse task's spaces (rlbench.envs.glimpse: Dict observations with "
                         "glimpse, location and canvas; Dict actions with location and label)")


def location_grid(points: int) -> np.ndarray:
    """The ``(points**2, 2)`` candidate locations of a grid policy, row-major."""
    axis = np.linspace(-1.0, 1.0, points, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def cell_centres(canvas: int, cell: int) -> np.ndarray:
    """The ``(cells, 2)`` locations, row-major, of the centres of a ``canvas``-pixel canvas's grid of
    ``cell``-pixel cells, where the glimpse task's default placement puts the digit (``placement: grid``): a
    cell-wide patch centred there covers the cell exactly (:func:`rlbench.envs.glimpse.extract_glimpse` centres
    a patch on pixel ``(location + 1) / 2 * canvas``). On the 16-pixel canvas with 8-pixel cells: ``(+-0.5, +-0.5)``."""
    tops = np.arange(canvas // cell) * cell
    axis = ((tops + cell / 2) / canvas * 2.0 - 1.0).astype(np.float32)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)

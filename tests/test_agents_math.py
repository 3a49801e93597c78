"""The pure pieces of the in-house agents, against hand-computed values."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbench.agents.dqn import DQNAgent, double_dqn_targets, linear_epsilon, td_targets
from rlbench.agents.reinforce import ReinforceAgent, baseline_loss, discounted_returns, policy_loss
from rlbench.nets import NETWORKS, build_network
from rlbench.replay import ReplayBuffer
from rlbench.seeding import generator


# --- TD targets -------------------------------------------------------------------------------


def test_td_targets_hand_computed() -> None:
    rewards = torch.tensor([1.0, 0.5, -1.0])
    next_q = torch.tensor([[2.0, 3.0], [4.0, -1.0], [10.0, 20.0]])
    terminated = torch.tensor([0.0, 0.0, 1.0])
    got = td_targets(rewards, next_q, terminated, gamma=0.9)
    # 1 + 0.9 * 3 = 3.7; 0.5 + 0.9 * 4 = 4.1; terminated → just the reward.
    torch.testing.assert_close(got, torch.tensor([3.7, 4.1, -1.0]))


def test_td_targets_accept_bool_terminated() -> None:
    got = td_targets(torch.tensor([1.0, 1.0]), torch.tensor([[5.0], [5.0]]), torch.tensor([True, False]), 0.5)
    torch.testing.assert_close(got, torch.tensor([1.0, 3.5]))


def test_double_dqn_targets_hand_computed() -> None:
    rewards = torch.tensor([1.0, 0.0, 2.0])
    next_q_online = torch.tensor([[1.0, 2.0], [3.0, 0.0], [0.0, 9.0]])  # argmax: 1, 0, 1
    next_q_target = torch.tensor([[10.0, 5.0], [7.0, 100.0], [1.0, 1.0]])
    terminated = torch.tensor([0.0, 0.0, 1.0])
    got = double_dqn_targets(rewards, next_q_online, next_q_target, terminated, gamma=0.5)
    # 1 + 0.5 * Q_target[0, 1] = 3.5 (plain DQN would use max 10 → 6); 0 + 0.5 * 7 = 3.5; terminated → 2.
    torch.testing.assert_close(got, torch.tensor([3.5, 3.5, 2.0]))
    torch.testing.assert_close(td_targets(rewards, next_q_target, terminated, 0.5), torch.tensor([6.0, 50.0, 2.0]))


def test_linear_epsilon() -> None:
    assert linear_epsilon(0, 1.0, 0.1, 100) == 1.0
    assert linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert linear_epsilon(100, 1.0, 0.1, 100) == pytest.approx(0.1)
    assert linear_epsilon(1000, 1.0, 0.1, 100) == pytest.approx(0.1)
    assert linear_epsilon(0, 1.0, 0.1, 0) == 0.1


# --- REINFORCE --------------------------------------------------------------------------------


def test_discounted_returns_hand_computed() -> None:
    got = discounted_returns(np.array([1.0, 2.0, 3.0]), gamma=0.5)
    # G2 = 3; G1 = 2 + 0.5 * 3 = 3.5; G0 = 1 + 0.5 * 3.5 = 2.75
    np.testing.assert_allclose(got, [2.75, 3.5, 3.0])
    assert got.dtype == np.float32
    np.testing.assert_allclose(discounted_returns(np.ones(3), gamma=1.0), [3.0, 2.0, 1.0])
    assert discounted_returns(np.array([]), 0.9).shape == (0,)


def test_policy_loss_hand_computed() -> None:
    log_probs = torch.tensor([-1.0, -2.0], requires_grad=True)
    advantages = torch.tensor([2.0, -1.0], requires_grad=True)
    loss = policy_loss(log_probs, advantages)
    # -mean(-1 * 2, -2 * -1) = -mean(-2, 2) = 0
    assert loss.item() == pytest.approx(0.0)
    loss.backward()
    torch.testing.assert_close(log_probs.grad, torch.tensor([-1.0, 0.5]))
    assert advantages.grad is None  # advantages are constants of the policy gradient


def test_baseline_loss_hand_computed() -> None:
    got = baseline_loss(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 0.0]))
    assert got.item() == pytest.approx((1.0 + 0.0 + 9.0) / 3)


# --- replay buffer ----------------------------------------------------------------------------

OBS_SPACE = gym.spaces.Box(-10.0, 10.0, shape=(2,), dtype=np.float32)
ACT_SPACE = gym.spaces.Discrete(3)


def _filled(capacity: int, count: int, seed: int = 0) -> ReplayBuffer:
    buffer = ReplayBuffer(capacity, OBS_SPACE, ACT_SPACE, generator(np.random.SeedSequence(seed)))
    for i in range(count):
        buffer.add(np.array([i, -i], np.float32), i % 3, float(i), np.array([i + 1, 0], np.float32), i % 2 == 0)
    return buffer


def test_replay_circular_overwrite() -> None:
    buffer = _filled(capacity=4, count=6)
    assert len(buffer) == 4 and buffer.pos == 2
    np.testing.assert_array_equal(buffer.rewards, [4.0, 5.0, 2.0, 3.0])
    np.testing.assert_array_equal(buffer.observations[:, 0], [4, 5, 2, 3])
    np.testing.assert_array_equal(buffer.terminated, [1.0, 0.0, 1.0, 0.0])


def test_replay_samples_only_filled_slots_with_right_types() -> None:
    buffer = _filled(capacity=100, count=5)
    batch = buffer.sample(256)
    assert set(batch.rewards.tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert batch.observations.shape == (256, 2) and batch.observations.dtype == torch.float32
    assert batch.actions.dtype == torch.int64 and batch.terminated.dtype == torch.float32
    # Each sampled row is one consistent transition.
    torch.testing.assert_close(batch.next_observations[:, 0], batch.observations[:, 0] + 1)
    torch.testing.assert_close(batch.rewards, batch.observations[:, 0])


def test_replay_keeps_uint8_observations() -> None:
    space = gym.spaces.Box(0, 255, shape=(4, 8, 8), dtype=np.uint8)
    buffer = ReplayBuffer(10, space, ACT_SPACE, generator(np.random.SeedSequence(0)))
    buffer.add(np.full((4, 8, 8), 7, np.uint8), 1, 1.0, np.zeros((4, 8, 8), np.uint8), False)
    assert buffer.observations.dtype == np.uint8
    assert buffer.sample(2).observations.dtype == torch.uint8


def test_replay_sampling_deterministic_per_seed() -> None:
    a, b, c = (_filled(50, 30, seed=s).sample(16).rewards for s in (1, 1, 2))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


def test_replay_empty_sample_raises() -> None:
    with pytest.raises(ValueError):
        _filled(5, 0).sample(1)


def test_replay_state_dict_round_trip_continues_identically() -> None:
    original = _filled(capacity=8, count=11)
    original.sample(4)
    blob = io.BytesIO()
    torch.save(original.state_dict(), blob)
    blob.seek(0)
    restored = ReplayBuffer(8, OBS_SPACE, ACT_SPACE, generator(np.random.SeedSequence(99)))
    restored.load_state_dict(torch.load(blob, weights_only=True))
    assert (len(restored), restored.pos) == (len(original), original.pos)
    for buffer in (original, restored):
        buffer.add(np.array([50, 0], np.float32), 2, 50.0, np.array([51, 0], np.float32), True)
    for _ in range(3):
        x, y = original.sample(5), restored.sample(5)
        for field_x, field_y in zip(x, y):
            torch.testing.assert_close(field_x, field_y)


# --- networks ---------------------------------------------------------------------------------


def _weights(seed_sequence: np.random.SeedSequence) -> list[torch.Tensor]:
    return [p.detach().clone() for p in build_network("mlp", OBS_SPACE, 3, (8, 8), seed_sequence).parameters()]


def test_network_init_deterministic_and_isolated_from_global_rng() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = _weights(np.random.SeedSequence(5))
    assert torch.equal(torch.get_rng_state(), before)  # building neither read nor advanced it
    torch.manual_seed(456)
    second = _weights(np.random.SeedSequence(5))
    other = _weights(np.random.SeedSequence(6))
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert not any(torch.equal(x, y) for x, y in zip(first, other))


def test_mlp_shapes() -> None:
    net = build_network("mlp", OBS_SPACE, 3, (16,), np.random.SeedSequence(0))
    assert net(torch.zeros(5, 2)).shape == (5, 3)
    assert len([m for m in net.modules() if isinstance(m, torch.nn.Linear)]) == 2


def test_unknown_network_names_valid_choices() -> None:
    with pytest.raises(ValueError, match="mlp"):
        build_network("resnet", OBS_SPACE, 3, (8,), np.random.SeedSequence(0))
    assert "mlp" in NETWORKS


# --- configs ----------------------------------------------------------------------------------


def test_configs_documented_and_validated() -> None:
    assert DQNAgent.make_config({"net_arch": [32, 32]}).net_arch == (32, 32)
    assert ReinforceAgent.make_config({"net_arch": [8]}).net_arch == (8,)
    with pytest.raises(ValueError, match="learning_rate"):
        DQNAgent.make_config({"lr": 1e-3})
    with pytest.raises(ValueError):
        DQNAgent.make_config({"gradient_steps": 0})


@pytest.mark.parametrize("cls", [DQNAgent, ReinforceAgent])
def test_every_config_field_has_a_docstring(cls: type) -> None:
    import ast
    import dataclasses
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls.Config)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    documented = {
        node.target.id
        for node, following in zip(body, body[1:])
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str)
    }
    assert documented == {f.name for f in dataclasses.fields(cls.Config)}

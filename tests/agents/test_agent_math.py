"""The pure pieces of the in-house agents, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlbench.agents.dqn import DQNAgent, double_dqn_targets, greedy_action, greedy_actor, linear_epsilon, td_loss, td_targets
from rlbench.nets.numpy_forward import NumpyMLP
from rlbench.nets.mlp import MLP
from rlbench.agents.reinforce import (
    ReinforceAgent,
    baseline_loss,
    discounted_returns,
    policy_loss,
)

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


def test_td_loss_gradients_hand_computed() -> None:
    # Errors q - target: 0.5 (inside Huber's quadratic zone), 3.0 and -2.0 (outside it).
    targets = torch.tensor([1.0, 0.0, 2.0])
    gradients = {}
    for kind in ("huber", "mse"):
        q = torch.tensor([1.5, 3.0, 0.0], requires_grad=True)
        td_loss(q, targets, kind).backward()
        gradients[kind] = q.grad
    # Mean squared error: d/dq mean((q - t)^2) = 2 (q - t) / n.
    torch.testing.assert_close(gradients["mse"], torch.tensor([2 * 0.5, 2 * 3.0, 2 * -2.0]) / 3)
    # Huber (delta 1): the error inside [-1, 1], its sign outside, over n (Mnih et al. 2015's error clipping).
    torch.testing.assert_close(gradients["huber"], torch.tensor([0.5, 1.0, -1.0]) / 3)
    with pytest.raises(ValueError, match="loss must be one of huber, mse"):
        DQNAgent.make_config({"loss": "l1"})


def test_numpy_greedy_actions_follow_the_live_network() -> None:
    torch.manual_seed(0)
    net = MLP(4, 3, (16, 16))
    act = greedy_actor(net)
    observations = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    for _ in range(2):  # before and after an in-place optimiser step: the numpy views see the new weights
        with torch.no_grad():
            expected = net(torch.from_numpy(observations)).numpy()
        np.testing.assert_allclose(np.stack([NumpyMLP(net)(o) for o in observations]), expected, rtol=1e-5, atol=1e-6)
        assert [act(o) for o in observations] == [greedy_action(net, o) for o in observations]
        optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
        net(torch.from_numpy(observations)).pow(2).sum().backward()
        optimizer.step()


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

def test_configs_documented_and_validated() -> None:
    assert DQNAgent.make_config({"net_arch": [32, 32]}).net_arch == (32, 32)
    assert ReinforceAgent.make_config({"net_arch": [8]}).net_arch == (8,)
    with pytest.raises(ValueError, match="learning_rate"):
        DQNAgent.make_config({"lr": 1e-3})
    with pytest.raises(ValueError):
        DQNAgent.make_config({"gradient_steps": 0})
    for field, valid in (("loss", "huber, mse"), ("optimizer", "adam, rmsprop"), ("replay_storage", "vector, frames")):
        with pytest.raises(ValueError, match=f"{field} must be one of {valid}, got 'nope'"):
            DQNAgent.make_config({field: "nope"})


def test_sb3_image_settings_validated() -> None:
    from rlbench.agents.sb3 import SB3DQN

    assert SB3DQN.make_config({"policy": "CnnPolicy"}).policy == "CnnPolicy"
    with pytest.raises(ValueError, match="policy must be one of MlpPolicy, CnnPolicy, got 'ResNet'"):
        SB3DQN.make_config({"policy": "ResNet"})
    with pytest.raises(ValueError, match="features_extractor must be one of minatar_cnn, got 'vgg'"):
        SB3DQN.make_config({"features_extractor": "vgg"})


def test_minatar_features_are_the_minatar_convolution() -> None:
    import gymnasium as gym

    from rlbench.agents.sb3 import MinAtarFeatures

    space = gym.spaces.Box(0, 1, (10, 10, 4), np.bool_)
    features = MinAtarFeatures(space)
    assert features.features_dim == 16 * 8 * 8
    conv = features.convolutions[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (4, 16, (3, 3), (1, 1))
    assert features(torch.from_numpy(np.stack([space.sample() for _ in range(2)]))).shape == (2, 1024)


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

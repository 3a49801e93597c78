"""The network registry: deterministic initialisation, shapes of the MLP and the CNNs, valid names."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbench.nets.registry import NETWORKS, build_network

OBS_SPACE = gym.spaces.Box(-10.0, 10.0, shape=(2,), dtype=np.float32)


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


@pytest.mark.parametrize(
    ("name", "space", "hidden", "n_actions"),
    [
        ("nature_cnn", gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), (512,), 18),
        ("nature_cnn", gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), (512,), 4),
        ("minatar_cnn", gym.spaces.Box(0, 1, (10, 10, 4), np.bool_), (128,), 6),
        ("minatar_cnn", gym.spaces.Box(0, 1, (10, 10, 7), np.bool_), (128,), 3),
    ],
)
def test_cnn_output_shape_per_action_count(name, space, hidden, n_actions) -> None:
    net = build_network(name, space, n_actions, hidden, np.random.SeedSequence(0))
    batch = torch.from_numpy(np.stack([space.sample() for _ in range(5)]))
    out = net(batch)
    assert out.shape == (5, n_actions) and out.dtype == torch.float32


def test_nature_cnn_layers_follow_mnih_2015() -> None:
    net = build_network("nature_cnn", gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), 6, (512,), np.random.SeedSequence(0))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (8, 8), (4, 4)), (64, (4, 4), (2, 2)),
                                                                           (64, (3, 3), (1, 1))]
    dense = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(64 * 7 * 7, 512), (512, 6)]


def test_cnn_rejects_flat_observations() -> None:
    with pytest.raises(ValueError, match="3-dimensional Box"):
        build_network("nature_cnn", gym.spaces.Box(-1, 1, (4,), np.float32), 2, (8,), np.random.SeedSequence(0))


# --- numpy forward passes for acting -----------------------------------------------------------


def test_minatar_cnn_acts_in_numpy_on_live_weights() -> None:
    from rlbench.nets.numpy_forward import NumpyConvNetwork, numpy_forward

    space = gym.spaces.Box(0, 1, (10, 10, 6), np.bool_)
    net = build_network("minatar_cnn", space, 6, (128,), np.random.SeedSequence(1))
    forward = numpy_forward(net)
    assert isinstance(forward, NumpyConvNetwork)
    observations = np.stack([space.sample() for _ in range(50)])
    for _ in range(2):  # before and after an in-place optimiser step
        with torch.no_grad():
            expected = net(torch.from_numpy(observations)).numpy()
        np.testing.assert_allclose(np.stack([forward(o) for o in observations]), expected, rtol=1e-5, atol=1e-6)
        optimizer = torch.optim.RMSprop(net.parameters(), lr=0.1)
        net(torch.from_numpy(observations)).pow(2).sum().backward()
        optimizer.step()


def test_nature_cnn_mirror_matches_torch_and_large_networks_act_in_torch() -> None:
    from rlbench.nets.numpy_forward import MAX_NUMPY_MACS, NumpyConvNetwork, numpy_forward

    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    net = build_network("nature_cnn", space, 4, (512,), np.random.SeedSequence(2))
    assert net.macs > MAX_NUMPY_MACS and numpy_forward(net) is None  # torch's kernels are as fast there
    observations = np.stack([space.sample() for _ in range(3)])
    with torch.no_grad():
        expected = net(torch.from_numpy(observations)).numpy()
    mirror = NumpyConvNetwork(net)
    np.testing.assert_allclose(np.stack([mirror(o) for o in observations]), expected, rtol=1e-4, atol=1e-5)

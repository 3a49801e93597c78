"""LeanAdam is torch's fused Adam without the per-step Python: bit-identical parameters and state."""

from __future__ import annotations

import copy

import pytest
import torch

from rlbench.nets.optimizers import LeanAdam


def regression_steps(optimizer_for, steps: int, skip_bias_at: int | None = None) -> tuple[torch.nn.Module, dict]:
    """Train a small MLP with the optimizer ``optimizer_for(params)`` on fixed random batches."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    optimizer = optimizer_for(net.parameters())
    data = torch.Generator().manual_seed(1)
    for step in range(steps):
        x, y = torch.randn(32, 4, generator=data), torch.randn(32, 3, generator=data)
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(net(x), y).backward()
        if step == skip_bias_at:  # a parameter without a gradient is left alone (and its step count too)
            net[2].bias.grad = None
        optimizer.step()
    return net, optimizer.state_dict()


@pytest.mark.parametrize("skip_bias_at", [None, 3])
def test_lean_adam_equals_fused_torch_adam_bit_for_bit(skip_bias_at):
    lean, lean_state = regression_steps(lambda p: LeanAdam(p, lr=1e-3), 20, skip_bias_at)
    fused, fused_state = regression_steps(lambda p: torch.optim.Adam(p, lr=1e-3, fused=True), 20, skip_bias_at)
    for a, b in zip(lean.parameters(), fused.parameters(), strict=True):
        assert torch.equal(a, b)
    for key, state in fused_state["state"].items():
        for name, value in state.items():
            assert torch.equal(lean_state["state"][key][name], value), name
            assert lean_state["state"][key][name].dtype == value.dtype


def test_lean_adam_resumes_from_its_state_dict():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    optimizer = LeanAdam(net.parameters(), lr=1e-2)
    x = torch.randn(8, 3)

    def step(model, opt):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()

    step(net, optimizer)
    saved_net, saved_state = copy.deepcopy(net.state_dict()), copy.deepcopy(optimizer.state_dict())
    step(net, optimizer)

    resumed = torch.nn.Linear(3, 2)
    resumed.load_state_dict(saved_net)
    resumed_optimizer = LeanAdam(resumed.parameters(), lr=1e-2)
    resumed_optimizer.load_state_dict(saved_state)
    step(resumed, resumed_optimizer)
    for a, b in zip(net.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_lean_adam_refuses_what_it_does_not_implement():
    net = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="one parameter group"):
        LeanAdam([{"params": [net.weight]}, {"params": [net.bias]}], lr=1e-3)
    optimizer = LeanAdam(net.parameters(), lr=1e-3)
    with pytest.raises(ValueError, match="None only"):
        optimizer.zero_grad(set_to_none=False)
    with pytest.raises(ValueError, match="no closure"):
        optimizer.step(lambda: 0.0)

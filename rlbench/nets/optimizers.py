"""Adam with less per-step Python: the same fused kernel as ``torch.optim.Adam(fused=True)``, the same numbers.

``torch.optim.Optimizer.step`` spends most of a small network's optimiser time in Python around the kernel
(profiling hooks, grouping tensors by device and dtype, AMP scale lookups). For the 120-84 MLP of CleanRL's
CartPole DQN at batch 128, calling the kernel directly and dropping ``zero_grad``'s loop took a whole gradient
step from ~1.26 ms to ~1.05 ms of CPU time on this machine (one torch thread, interleaved repetitions).
:class:`LeanAdam` keeps ``torch.optim.Adam``'s state layout (so its ``state_dict`` and checkpoints are Adam's)
and calls the fused kernel directly; it produces bit-identical parameters (``tests/nets/test_optimizers.py``).
See ``benchmarks/speed.py`` for what it buys end to end.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class LeanAdam(torch.optim.Adam):
    """Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization") on CPU tensors, one parameter
    group, no AMSGrad, no weight decay: ``torch.optim.Adam(params, lr, fused=True)`` minus its per-step overhead."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        super().__init__(params, lr=lr, fused=True)
        if len(self.param_groups) != 1:
            raise ValueError(f"LeanAdam takes one parameter group, got {len(self.param_groups)}")
        self.params = list(self.param_groups[0]["params"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (``set_to_none`` only: the fused step skips parameters without one)."""
        if not set_to_none:
            raise ValueError("LeanAdam.zero_grad sets gradients to None only")
        for parameter in self.params:
            parameter.grad = None

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """One Adam step on every parameter that has a gradient."""
        if closure is not None:
            raise ValueError("LeanAdam.step takes no closure")
        group = self.param_groups[0]
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for parameter in self.params:
            if parameter.grad is None:
                continue
            state = self.state[parameter]
            if not state:  # Adam's lazy initialisation, in Adam's layout (a float32 step tensor for fused)
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
            params.append(parameter)
            grads.append(parameter.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        if not params:
            return
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=group["lr"], beta1=beta1, beta2=beta2,
                           weight_decay=group["weight_decay"], eps=group["eps"], amsgrad=False, maximize=False,
                           grad_scale=None, found_inf=None)

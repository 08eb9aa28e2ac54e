"""Activations computed the cheaper of two exact-in-math ways.

`Tanh`: tanh(x) = 2 sigmoid(2x) - 1. On the CPUs we train on, PyTorch's tanh kernel took
400 us on a 128 x 784 batch against 155 us for this form (one thread; `benchmarks/speed.py`
runs the whole step), and a generator's output layer is the widest activation of an MLP GAN.
The two agree to within 2e-7 (float32 rounding). The backward pass uses the saved output,
d tanh / dx = 1 - y^2, PyTorch's own `tanh_backward` kernel, so it costs what nn.Tanh's does.
"""

from __future__ import annotations

import torch
from torch import nn


class _TanhFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = (x * 2).sigmoid_().mul_(2).sub_(1)  # one temporary, updated in place
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


class Tanh(nn.Module):
    """nn.Tanh's drop-in: same values to float32 rounding, same gradients, no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":  # GPU tanh kernels are as fast as sigmoid's
            return torch.tanh(x)
        return _TanhFn.apply(x)

"""Where networks live: their device and, for convolutional networks, their memory layout.

Convolutional networks are kept in channels-last layout (NHWC). oneDNN on CPU and cuDNN on GPU
run convolutions natively in it, while the default layout (NCHW) costs a reorder of activations
and weights around every convolution: on the DCGAN MNIST preset a whole training step ran 11%
faster in channels-last on one CPU thread (`benchmarks/speed.py` measures the step). The layout
changes strides only: state dicts, checkpoints and `load_generator` are unaffected, and inputs
in either layout are accepted.
"""

from __future__ import annotations

import torch
from torch import nn

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def has_conv2d(net: nn.Module) -> bool:
    return any(isinstance(m, _CONVS) for m in net.modules())


def place(net: nn.Module, device: torch.device) -> nn.Module:
    """net on `device`, in channels-last layout when it holds 2-D convolutions."""
    net = net.to(device)
    if has_conv2d(net):
        net = net.to(memory_format=torch.channels_last)
    return net

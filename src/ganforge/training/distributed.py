"""torch.distributed glue: detect torchrun, average gradients, sync buffers, rank-0 helpers.

`ganforge train` and `torchrun --nproc_per_node=N -m ganforge train` run the same code: under
torchrun (RANK / WORLD_SIZE / LOCAL_RANK in the environment) the process group is initialised
with NCCL on CUDA and gloo on CPU. Instead of wrapping networks in DDP, which cannot follow the
GAN phases' `requires_grad_` switching, the trainer averages the gradients of the networks a phase
trains with one all-reduce per network (as StyleGAN2-ADA does), and averages batch-norm buffers
at ticks, so all ranks keep identical weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ganforge.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup(device_pref: str = "auto") -> tuple[DistInfo, torch.device]:
    """Initialise the process group if launched by torchrun; pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_pref == "auto":
        device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(device_pref)
        if device.type == "cuda" and device.index is None:
            device = torch.device(f"cuda:{local}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device={device_pref}: this PyTorch build sees no CUDA device; "
                              "use train.device=cpu or auto")
        if device.index >= torch.cuda.device_count():
            raise ConfigError(f"train.device={device_pref}: only {torch.cuda.device_count()} CUDA "
                              "device(s) here")
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local), device


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# below this many parameters a step's matmuls are too small for a second thread to pay: on a
# 2-core machine 2 threads ran an MLP GAN 10x slower than 1 when the other core was busy
SMALL_NETS = 5_000_000


def auto_threads(n_params: int, device: torch.device) -> tuple[int, str]:
    """`train.threads=0`: one thread for small nets, on few cores or on a GPU (which does the
    work); else half the cores (up to 8), leaving room for the data and the OS. Returns the
    count and the reason, for the run header."""
    cores = available_cores()
    if device.type != "cpu":
        return 1, f"auto: {device.type} does the work"
    if cores <= 2 or n_params < SMALL_NETS:
        return 1, f"auto: {cores} cores, {n_params / 1e6:.2f}M parameters"
    return min(cores // 2, 8), f"auto: {cores} cores, {n_params / 1e6:.2f}M parameters"


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def broadcast_module(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not info.enabled:
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def average_gradients(module: torch.nn.Module, info: DistInfo) -> None:
    """All-reduce the mean gradient of `module`, flattened into one buffer (one collective)."""
    if not info.enabled:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def average_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (batch-norm running statistics) across ranks; modules
    marked `fixed_buffers` (self-conditioning's clusters, equal on every rank) are left alone:
    a sum divided by the world size need not give back the same float."""
    if not info.enabled:
        return
    fixed = {id(b) for m in module.modules() if getattr(m, "fixed_buffers", False) for b in m.buffers()}
    for b in module.buffers():
        if b.is_floating_point() and id(b) not in fixed:
            dist.all_reduce(b.data)
            b.data /= info.world


def all_mean(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Mean of a tensor over ranks (for logged statistics)."""
    if not info.enabled:
        return t
    t = t.clone()
    dist.all_reduce(t)
    return t / info.world


def assert_in_sync(modules: dict[str, torch.nn.Module], info: DistInfo) -> None:
    """Raise if any rank's weights differ from rank 0's (checked at checkpoints).

    Compares two float64 checksums per network (plain and position-weighted sums of every
    parameter and buffer), so a single differing element is caught without moving the weights.
    """
    if not info.enabled:
        return
    for name, m in modules.items():
        vec = torch.cat([t.detach().double().flatten() for t in list(m.parameters()) + list(m.buffers())])
        pos = torch.linspace(0, 1, len(vec), dtype=torch.float64, device=vec.device)
        sums = torch.stack([vec.sum(), (vec * pos).sum()])
        out = [torch.empty_like(sums) for _ in range(info.world)]
        dist.all_gather(out, sums)
        if any(not torch.equal(o, out[0]) for o in out):
            raise RuntimeError(f"rank {info.rank}: {name} weights differ between ranks")

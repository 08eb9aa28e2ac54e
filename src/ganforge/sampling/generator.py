"""Load a trained generator for sampling, without the trainer, the data or pickle.

`load_generator(path)` reads a checkpoint (or a run folder's latest one), rebuilds G from the
JSON arch description, and loads the EMA weights when the run kept them (and the density-ratio
net R of rejection sampling when the run fitted one).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganforge.errors import CheckpointError, GanforgeError
from ganforge.nets.latent import prior_kwargs, sample_prior
from ganforge.nets.registry import rebuild
from ganforge.training.checkpoint import find_checkpoint, load_state, upgrade_state


class SampleGenerator(nn.Module):
    """A trained G plus what sampling needs: its prior and the data description.

    `sample(n)` returns images [n, C, H, W] in [-1, 1] or points [n, D] in data units, on the CPU.
    """

    def __init__(
        self, net: nn.Module, *, z_dim: int, prior: dict, data: dict, step: int,
        ratio: nn.Module | None = None, quantile: float = 1.0,
    ) -> None:
        super().__init__()
        self.net, self.z_dim, self.data, self.step = net, z_dim, data, step
        self.prior_kw = prior  # latent.sample_prior settings
        # point runs with train.drs_steps: R for discriminator rejection sampling (rejection.py)
        # kept off the module tree: R stays on the CPU when G moves and is not among G's weights
        object.__setattr__(self, "ratio", ratio)
        self.quantile = quantile

    @property
    def z_dist(self) -> str:
        return self.prior_kw["dist"]

    @property
    def num_classes(self) -> int:
        return int(getattr(self.net, "num_classes", 0))

    def prior(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return sample_prior(n, self.z_dim, gen, **self.prior_kw)

    @torch.no_grad()
    def sample(
        self, n: int, *, seed: int = 0, y: int | torch.Tensor | None = None, batch_size: int = 1000,
        rejection: bool = True,
    ) -> torch.Tensor:
        """n samples from fixed seed; `y` a class index or [n] labels for conditional G.

        A run that fitted R (train.drs_steps) samples through rejection unless `rejection=False`.
        """
        if n <= 0:
            raise GanforgeError(f"--n must be positive, got {n}")
        gen = torch.Generator().manual_seed(seed)
        if y is not None and not self.num_classes:
            raise GanforgeError("this generator is not class-conditional; drop --class")
        if self.num_classes:
            if y is None:
                y = torch.randint(self.num_classes, (n,), generator=gen)
            elif isinstance(y, int):
                if not 0 <= y < self.num_classes:
                    raise GanforgeError(f"--class {y}: must be in 0..{self.num_classes - 1}")
                y = torch.full((n,), y, dtype=torch.long)
        if rejection and self.ratio is not None:  # unconditional point runs only (trainer)
            from ganforge.sampling.rejection import rejection_sample

            def fake(k: int) -> torch.Tensor:
                return self.sample(k, seed=int(torch.randint(2**62, (1,), generator=gen)),
                                   rejection=False)

            return rejection_sample(fake, self.ratio, n, quantile=self.quantile, gen=gen)[0]
        device = next(self.net.parameters()).device
        out = []
        for i in range(0, n, batch_size):
            z = self.prior(min(batch_size, n - i), gen).to(device)
            if self.num_classes:
                out.append(self.net(z, y[i : i + len(z)].to(device)).float().cpu())
            else:
                out.append(self.net(z).float().cpu())
        return torch.cat(out)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z, y) if self.num_classes else self.net(z)


def load_generator(
    path: str | Path, *, net: str | None = None, ema: bool = True, device: str = "cpu"
):
    """A trained network from a run folder or checkpoint, in eval mode on `device`.

    net: which network (default: the one the run's objective samples from, usually "G"); its
    EMA weights when the run kept them and `ema`. A generator of latents comes wrapped as a
    `SampleGenerator` (with its prior, the data description and any rejection sampler); any
    other network is returned as the bare module.
    """
    state = upgrade_state(load_state(find_checkpoint(path)))
    name = net or state.get("sample_net", "G")
    try:
        if name not in state["nets"]:
            raise CheckpointError(
                f"{path}: no network {name!r}; the run has {', '.join(state['nets'])}"
            )
        arch = state["archs"].get(name)
        if arch is None:
            raise CheckpointError(f"{path}: network {name!r} has no saved architecture")
        module = rebuild(arch)
        emas = state.get("emas", {})
        module.load_state_dict(emas[name] if (ema and name in emas) else state["nets"][name])
        model = state["config"]["model"]
    except (KeyError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{path}: incompatible checkpoint ({str(e).splitlines()[0]})") from None
    module.eval().requires_grad_(False).to(device)
    if "z_dim" not in arch["args"]:
        return module
    ratio = None
    saved = state.get("callbacks", {}).get("rejection")
    if saved is not None:
        from ganforge.sampling.rejection import ratio_from_state

        ratio = ratio_from_state(saved)
    return SampleGenerator(
        module, z_dim=model["z_dim"], prior=prior_kwargs(model), data=state["data"],
        step=state["step"], ratio=ratio,
        quantile=state["config"]["train"].get("drs_quantile", 1.0),
    )

"""Load a trained generator for sampling, without the trainer, the data or pickle.

`load_generator(path)` reads a checkpoint (or a run folder's latest one), rebuilds G from the
JSON arch description, and loads the EMA weights when the run kept them (and the density-ratio
net R of rejection sampling when the run fitted one). Weights holding NaN/inf (a diverged run) are
refused, naming the newest intact checkpoint beside the file. `SampleGenerator.batches` draws the
samples of `sample(n)` lazily, batch by batch, for writers that must not hold all n.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from ganforge.config_rules import TRANSLATION
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.nets.latent import prior_kwargs, sample_prior
from ganforge.nets.registry import rebuild
from ganforge.training.checkpoint import (
    CKPT_DIR,
    find_checkpoint,
    load_state,
    newest_good_in,
    non_finite_key,
    upgrade_state,
)


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

    def sample(
        self, n: int, *, seed: int = 0, y: int | torch.Tensor | None = None, batch_size: int = 1000,
        rejection: bool = True,
    ) -> torch.Tensor:
        """n samples from fixed seed; `y` a class index or [n] labels for conditional G.

        A run that fitted R (train.drs_steps) samples through rejection unless `rejection=False`.
        """
        return torch.cat(list(self.batches(n, seed=seed, y=y, batch_size=batch_size,
                                           rejection=rejection)))

    def batches(
        self, n: int, *, seed: int = 0, y: int | torch.Tensor | None = None, batch_size: int = 1000,
        rejection: bool = True,
    ) -> Iterator[torch.Tensor]:
        """`sample(n, ...)` as consecutive pieces of at most `batch_size` samples, drawn lazily, so
        that a caller can write any n with memory bounded by one batch. The arguments are checked
        here, before the first piece. Rejection sampling (`self.ratio`) keeps its points in memory
        until n are accepted: its pieces are slices of that whole (at most `rejection_limit()`)."""
        if n <= 0:
            raise GanforgeError(f"--n must be positive, got {n}")
        gen = torch.Generator().manual_seed(seed)
        if y is not None and not self.num_classes:
            raise GanforgeError("this generator is not class-conditional; drop --class")
        labels = None  # a generator positioned where one randint(n) of labels would start
        if self.num_classes:
            if y is None:
                # One randint(n) up front would take 8n bytes: clone gen for the labels, then move
                # gen past them in bounded pieces (CPU draws are serial, so pieces equal one draw).
                labels = torch.Generator().manual_seed(seed)
                for i in range(0, n, 1 << 20):
                    torch.randint(self.num_classes, (min(1 << 20, n - i),), generator=gen)
            elif isinstance(y, int) and not 0 <= y < self.num_classes:
                raise GanforgeError(f"--class {y}: must be in 0..{self.num_classes - 1}")
        if rejection and self.ratio is not None:  # unconditional point runs only (trainer)
            limit = rejection_limit()
            if n > limit:
                raise GanforgeError(
                    f"--n {n}: rejection sampling draws at most {limit} candidates; ask for fewer "
                    f"or sample with --no-rejection"
                )
            return self._rejection_batches(n, gen, batch_size)
        return self._batches(n, gen, y, labels, batch_size)

    @torch.no_grad()
    def _batches(self, n, gen, y, labels, batch_size) -> Iterator[torch.Tensor]:
        device = next(self.net.parameters()).device
        for i in range(0, n, batch_size):
            # one prior draw per batch of batch_size, as before: randn(2k) != randn(k) twice
            z = self.prior(min(batch_size, n - i), gen).to(device)
            if not self.num_classes:
                yield self.net(z).float().cpu()
                continue
            if labels is not None:
                yb = torch.randint(self.num_classes, (len(z),), generator=labels)
            elif isinstance(y, int):
                yb = torch.full((len(z),), y, dtype=torch.long)
            else:
                yb = y[i : i + len(z)]
            yield self.net(z, yb.to(device)).float().cpu()

    @torch.no_grad()
    def _rejection_batches(self, n, gen, batch_size) -> Iterator[torch.Tensor]:
        from ganforge.sampling.rejection import rejection_sample

        def fake(k: int) -> torch.Tensor:
            return self.sample(k, seed=int(torch.randint(2**62, (1,), generator=gen)),
                               rejection=False)

        x = rejection_sample(fake, self.ratio, n, quantile=self.quantile, gen=gen)[0]
        yield from x.split(batch_size)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z, y) if self.num_classes else self.net(z)


def rejection_limit() -> int:
    """The most points `rejection_sample` can return: its pools times its draws (defaults)."""
    from ganforge.sampling.rejection import rejection_sample

    p = inspect.signature(rejection_sample).parameters
    return p["pool"].default * p["max_draws"].default


def _check_finite(ck: Path, what: str, weights: dict[str, torch.Tensor]) -> None:
    """Refuse weights holding NaN/inf (a diverged run), naming the newest intact checkpoint."""
    bad = non_finite_key(weights)
    if bad is None:
        return
    hint = "no intact checkpoint beside it; retrain, e.g. with a lower learning rate"
    good = newest_good_in(ck.parent)  # ck itself is not finite, so never chosen
    if good is not None:
        hint = f"the newest intact checkpoint beside it is {good[0]}"
        if ck.parent.name == CKPT_DIR:  # in a run folder: resume falls back to that one
            hint += f" (`ganforge train --resume {ck.parent.parent}` continues from it)"
    raise CheckpointError(f"{ck}: {what} has NaN/inf weights ({bad}), the run diverged; {hint}")


def load_generator(
    path: str | Path, *, net: str | None = None, ema: bool = True, device: str = "cpu"
):
    """A trained network from a run folder or checkpoint, in eval mode on `device`.

    net: which network (default: the one the run's objective samples from, usually "G"); its
    EMA weights when the run kept them and `ema`. A generator of latents comes wrapped as a
    `SampleGenerator` (with its prior, the data description and any rejection sampler); any
    other network is returned as the bare module.
    """
    ck = find_checkpoint(path)
    state = upgrade_state(load_state(ck))
    name = net or state.get("sample_net", "G")
    objective = state.get("config", {}).get("loss", {}).get("objective")
    if net is None and objective in TRANSLATION:
        raise CheckpointError(f"{path}: an image-to-image run (loss.objective={objective}) has no "
                              "noise to sample from; use `ganforge translate`")
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
        # both, whichever is loaded: a NaN in G reaches its EMA at the next update anyway
        _check_finite(ck, f"network {name}", state["nets"][name])
        if name in emas:
            _check_finite(ck, f"the EMA of {name}", emas[name])
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

        _check_finite(ck, "the rejection sampler R", saved["state"])
        ratio = ratio_from_state(saved)
    return SampleGenerator(
        module, z_dim=model["z_dim"], prior=prior_kwargs(model), data=state["data"],
        step=state["step"], ratio=ratio,
        quantile=state["config"]["train"].get("drs_quantile", 1.0),
    )

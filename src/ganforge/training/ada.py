"""Adaptive augmentation strength (ADA, Karras et al. 2020, Sec. 3): a tick callback that moves
the augmentation probability p of D's `AugmentedDiscriminator` (nets/augment.py) from D's
overfitting signal.

The signal is r_t = E[sign(D(T(x)))] over real images x: 0 when D cannot tell its training
images from fakes, 1 when it is sure of every one (it has memorised them). Each adjustment moves
p by sign(r_t - target) * (images seen since the last one) / (`train.ada_kimg` * 1000), clipped to
[0, 1], so p can go from 0 to 1 in ada_kimg thousand images (the paper: target 0.6, 500k images,
every 4 steps). Here the adjustment comes once per tick, on r_t measured then on
`PROBE_IMAGES` real images through D in its training mode, augmentation included, with the labels
the objective gives real images (class labels, or self-conditioning's clusters); D's buffers
(batch-norm statistics, spectral-norm vectors) are restored afterwards, so the probe changes
nothing but p. The real images come from a fixed-seed draw per tick, the same on every rank,
and D's weights are the same on every rank, so p stays equal across a torchrun job. p is a
buffer of D: every checkpoint holds it, and a resume continues from it.
"""

from __future__ import annotations

import torch

from ganforge.data.base import Batch
from ganforge.errors import ConfigError
from ganforge.nets.augment import AugmentedDiscriminator

PROBE_IMAGES = 256


def augmented(net: torch.nn.Module) -> AugmentedDiscriminator | None:
    """The AugmentedDiscriminator inside `net` (through DDP's `.module`), or None."""
    inner = getattr(net, "module", net)
    return inner if isinstance(inner, AugmentedDiscriminator) else None


def ada_step(p: float, rt: float, target: float, images: int, kimg: float) -> float:
    """p after one adjustment: p + sign(rt - target) * images / (kimg * 1000), clipped to [0, 1]."""
    sign = (rt > target) - (rt < target)
    return min(1.0, max(0.0, p + sign * images / (kimg * 1000.0)))


class AdaptiveAugment:
    """The ADA controller as a tick callback (training/callbacks.py); logs `aug/p`, `aug/rt`."""

    name = "ada"

    def __init__(self, trainer) -> None:
        nets = [augmented(n) for n in trainer.nets.values()]
        nets = [n for n in nets if n is not None]
        if len(nets) != 1:
            raise ConfigError("train.ada_target: needs one augmented D (model.augment); "
                              f"found {len(nets)}")
        self.d, self.cfg = nets[0], trainer.cfg
        self.last = trainer.step

    @torch.no_grad()
    def signal(self, trainer) -> float:
        """r_t = mean sign of D's logits on PROBE_IMAGES augmented real images."""
        # a multiple of D's pack size (PacGAN judges m images at once)
        pack = trainer.cfg.model.pack
        size = len(trainer.data) if hasattr(trainer.data, "__len__") else PROBE_IMAGES
        n = max(pack, min(PROBE_IMAGES, size) // pack * pack)
        batch = trainer.data.real_sample(n, seed=trainer.step)
        batch = Batch(batch.x.to(trainer.device),
                      None if batch.y is None else batch.y.to(trainer.device))
        # the labels D reads with real images, as the objective gives them (class labels, or
        # self-conditioning's clusters); no z: G's side is not asked for
        batch, _ = trainer.objective.relabel(trainer.nets, batch, None, None)
        x = batch.x
        y = batch.y if batch.y is not None and self.d.num_classes else None
        saved = {k: v.clone() for k, v in self.d.state_dict().items()}
        mode = self.d.training
        self.d.train()
        try:
            logits = self.d(x) if y is None else self.d(x, y)
        finally:
            self.d.load_state_dict(saved)
            self.d.train(mode)
        return float(torch.sign(logits.float()).mean())

    def __call__(self, trainer, record: dict) -> dict:
        t = self.cfg.train
        rt = self.signal(trainer)
        images = (trainer.step - self.last) * t.batch_size * trainer.dist.world
        p = ada_step(float(self.d.p), rt, t.ada_target, images, t.ada_kimg)
        self.d.p.fill_(p)
        self.last = trainer.step
        return {"aug/p": p, "aug/rt": rt}

    def state_dict(self) -> dict:
        return {"last": self.last}

    def load_state_dict(self, state: dict | None) -> None:
        if state:
            self.last = int(state["last"])

"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and the gradient penalty (Gulrajani et al. 2017).

The critic f (our D, raw scores) estimates W(P_r, P_g) = sup_{||f||_L <= 1} E[f(x)] - E[f(G(z))]
(Kantorovich-Rubinstein duality). D minimises E[f(G(z))] - E[f(x)]; G minimises -E[f(G(z))].
The logged `D/wdist` = E[f(x)] - E[f(G(z))] is the critic's estimate, which falls as G improves.

- wgan: after each critic update every D parameter is clipped to [-c, c] (`loss.clip`, 0.01),
  with RMSprop and n_critic = 5 (`train.d_steps`) set by the presets (Arjovsky et al. 2017, Alg. 1).
- wgan-gp: lambda E[(||grad f(x_hat)||_2 - 1)^2] on per-sample interpolates
  x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] (Gulrajani et al. 2017, Alg. 1; lambda =
  `loss.gp_lambda`, 10). eps comes from the objective's own generator, saved with the checkpoint.
  `D/grad_norm` logs the mean norm on interpolates (near 1 when the penalty holds).
"""

from __future__ import annotations

import torch

from ganforge import losses
from ganforge.objectives.base import PhaseInput, cond
from ganforge.objectives.divergences import ScoreObjective


def interpolate_grad_norms(
    critic, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor, *, create_graph: bool = True
) -> torch.Tensor:
    """||grad_x f(x_hat)||_2 per sample, x_hat = eps x + (1 - eps) x_fake.

    real, fake: [N, ...] (same shape); eps: [N] in [0, 1]; critic: [N, ...] -> [N]. Returns [N].
    """
    e = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    x_hat = (e * real.detach() + (1.0 - e) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
    return grad.flatten(1).norm(dim=1)


def gradient_penalty_from_norms(norms: torch.Tensor) -> torch.Tensor:
    """E[(||grad|| - 1)^2] (Gulrajani et al. 2017, Eq. 3) for norms [N]; a scalar."""
    return (norms - 1.0).pow(2).mean()


class WGANObjective(ScoreObjective):
    """WGAN with weight clipping; `after_step` clips the critic."""

    d_loss = staticmethod(losses.d_wasserstein)
    g_loss = staticmethod(losses.g_wasserstein)
    options = frozenset({"loss.r1_gamma", "loss.clip"})

    def compute(self, phase, nets, inp: PhaseInput):
        out = super().compute(phase, nets, inp)
        if phase == "D":
            out.stats["D/wdist"] = out.stats["D/score_real"] - out.stats["D/score_fake"]
        return out

    def after_step(self, phase, nets) -> None:
        if phase == "D":
            c = self.cfg.clip
            for p in nets["D"].parameters():
                p.clamp_(-c, c)


class WGANGPObjective(WGANObjective):
    """WGAN-GP: no clipping, a gradient penalty on interpolates instead."""

    options = frozenset({"loss.r1_gamma", "loss.gp_lambda"})

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.gen = torch.Generator().manual_seed(cfg.train.seed * 7919 + 17)

    def d_extra(self, d, inp, fake):
        terms, stats = ScoreObjective.d_extra(self, d, inp, fake)
        eps = torch.rand(len(fake), generator=self.gen).to(fake.device)
        # a conditional critic judges the interpolates under the real sample's label
        norms = interpolate_grad_norms(lambda x: cond(d, x, inp.real.y), inp.real.x, fake, eps)
        terms["D/gp"] = self.cfg.gp_lambda * gradient_penalty_from_norms(norms)
        stats["D/grad_norm"] = norms.detach().mean()
        return terms, stats

    def after_step(self, phase, nets) -> None:
        pass

    def state_dict(self) -> dict:
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "gen" in state:
            self.gen.set_state(state["gen"])

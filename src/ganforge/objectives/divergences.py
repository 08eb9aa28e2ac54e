"""Objectives that swap the GAN's divergence for another loss on D's scores: LSGAN and hinge.

- lsgan (Mao et al. 2017, Eq. 9 with a=0, b=c=1): D minimises 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2],
  G minimises 1/2 E[(D(G(z)) - 1)^2]; D's raw output is the score (no sigmoid).
- hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))],
  G minimises -E[D(G(z))].
`ScoreObjective` is the shared skeleton (also used by the Wasserstein objectives): phase D with
`train.d_steps` repeats, phase G, class-conditional nets fed their labels, optional R1.
"""

from __future__ import annotations

import torch

from ganforge import losses
from ganforge.objectives.base import (
    Objective,
    Phase,
    PhaseInput,
    PhaseOutput,
    cond,
    generate,
    reusing_d,
)


class ScoreObjective(Objective):
    """D phase: `d_loss(real_scores, fake_scores) -> (real, fake)`; G phase: `g_loss(fake_scores)`."""

    d_loss = staticmethod(losses.d_least_squares)
    g_loss = staticmethod(losses.g_least_squares)

    options = frozenset({"loss.r1_gamma"})

    def __init__(self, cfg) -> None:
        self.cfg = cfg.loss
        self.phases = (Phase("D", ("D",), repeat=cfg.train.d_steps), Phase("G", ("G",), reuses=reusing_d(cfg)))

    def d_extra(self, d, inp: PhaseInput, fake: torch.Tensor) -> tuple[dict, dict]:
        """Extra D terms and stats (penalties); none by default but R1 when r1_gamma > 0."""
        if self.cfg.r1_gamma <= 0:
            return {}, {}
        x = inp.real.x.detach().requires_grad_(True)
        r1 = losses.r1_penalty(cond(d, x, inp.real.y), x)
        return {"D/r1": 0.5 * self.cfg.r1_gamma * r1}, {}

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d = nets["G"], nets["D"]
        if phase == "D":
            fake = generate(g, inp).detach()
            s_real = cond(d, inp.real.x, inp.real.y)
            s_fake = cond(d, fake, inp.y_fake)
            l_real, l_fake = self.d_loss(s_real, s_fake)
            terms = {"D/real": l_real, "D/fake": l_fake}
            stats = {"D/score_real": s_real.detach().mean(), "D/score_fake": s_fake.detach().mean()}
            extra_terms, extra_stats = self.d_extra(d, inp, fake)
            return PhaseOutput(terms | extra_terms, stats | extra_stats)
        if phase == "G":
            return PhaseOutput(
                {"G/adv": self.g_loss(cond(d, generate(g, inp), inp.y_fake))}
            )
        raise KeyError(phase)


class LSGANObjective(ScoreObjective):
    """Least-squares GAN (Mao et al. 2017)."""

    d_loss = staticmethod(losses.d_least_squares)
    g_loss = staticmethod(losses.g_least_squares)


class HingeObjective(ScoreObjective):
    """Hinge-loss GAN (Lim & Ye 2017; Miyato et al. 2018)."""

    d_loss = staticmethod(losses.d_hinge)
    g_loss = staticmethod(losses.g_hinge)

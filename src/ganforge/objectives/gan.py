"""The classic GAN objective (Goodfellow et al. 2014) and its standard regularisers.

Phase D (G frozen): maximise log D(x) + log(1 - D(G(z))), i.e. minimise the two BCE terms
`D/real` and `D/fake`, with optional one-sided label smoothing and the R1 penalty `D/r1`
(gamma/2 * E||grad_x D(x)||^2, Mescheder et al. 2018). With `r1_every` = k > 1 the penalty moves
to a lazy `Dreg` phase run every k steps and scaled by k (Karras et al. 2020, Sec. 3.2).
Phase G (D frozen): minimise `G/adv`, the saturating log(1 - D(G(z))) or non-saturating
-log D(G(z)) loss.
"""

from __future__ import annotations

import torch

from .. import losses
from .base import Objective, Phase, PhaseInput, PhaseOutput


def _cond(net, x, y):
    return net(x, y) if getattr(net, "num_classes", 0) else net(x)


class GANObjective(Objective):
    def __init__(self, cfg) -> None:
        loss_cfg, d_steps = cfg.loss, cfg.train.d_steps
        self.cfg = loss_cfg
        phases = [Phase("D", ("D",), repeat=d_steps)]
        if loss_cfg.r1_gamma > 0 and loss_cfg.r1_every > 1:
            phases.append(Phase("Dreg", ("D",), every=loss_cfg.r1_every))
        phases.append(Phase("G", ("G",)))
        self.phases = tuple(phases)
        self.g_loss = {"saturating": losses.g_saturating, "nonsaturating": losses.g_nonsaturating}[
            loss_cfg.g_loss
        ]

    def _r1(self, d, real) -> torch.Tensor:
        x = real.x.detach().requires_grad_(True)
        return losses.r1_penalty(_cond(d, x, real.y), x)

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d = nets["G"], nets["D"]
        c = self.cfg
        if phase == "D":
            with torch.no_grad():
                fake = _cond(g, inp.z, inp.y_fake)
            real_logits = _cond(d, inp.real.x, inp.real.y)
            fake_logits = _cond(d, fake, inp.y_fake)
            l_real, l_fake = losses.d_bce(real_logits, fake_logits, real_label=1.0 - c.label_smoothing)
            terms = {"D/real": l_real, "D/fake": l_fake}
            if c.r1_gamma > 0 and c.r1_every == 1:
                terms["D/r1"] = 0.5 * c.r1_gamma * self._r1(d, inp.real)
            stats = {
                "D/p_real": torch.sigmoid(real_logits.detach()).mean(),
                "D/p_fake": torch.sigmoid(fake_logits.detach()).mean(),
            }
            return PhaseOutput(terms, stats)
        if phase == "Dreg":
            return PhaseOutput({"Dreg/r1": 0.5 * c.r1_gamma * c.r1_every * self._r1(d, inp.real)})
        if phase == "G":
            fake_logits = _cond(d, _cond(g, inp.z, inp.y_fake), inp.y_fake)
            return PhaseOutput({"G/adv": self.g_loss(fake_logits)})
        raise KeyError(phase)

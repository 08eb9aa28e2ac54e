"""pix2pix: image-to-image translation with paired data (Isola et al. 2017).

A conditional GAN on pairs (a, b): G maps a to b, D judges (a, b) pairs patch by patch (a
PatchGAN that sees the source beside the target, Sec. 3.2.2), and G also minimises the L1
distance to the true b (Eq. 4):

  G* = arg min_G max_D  L_cGAN(G, D) + lambda E[||b - G(a)||_1],   lambda = 100 (Sec. 4)
  L_cGAN = E[log D(a, b)] + E[log(1 - D(a, G(a)))]

Phases, one step: D on (a, b) real and (a, G(a)) fake, G frozen; then G through the frozen D
plus the L1 term, on the same a and the same G(a) (`reuses="D"`: one forward pass of G). D's
loss is halved, as the authors' code does, to slow D relative to G. `loss.adv_weight=0` is the
paper's "L1 alone" ablation: G trained on L1 only, with no D at all.
"""

from __future__ import annotations

import torch

from ganforge.objectives.base import Phase, PhaseInput, PhaseOutput
from ganforge.objectives.translation import (
    TranslationObjective,
    adversarial_d,
    adversarial_g,
    make_generator,
    make_patchgan,
)


class Pix2PixObjective(TranslationObjective):
    options = TranslationObjective.options | {"loss.l1_weight"}

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.adv = cfg.loss.adv_weight > 0
        if self.adv:
            self.optimizers = {"G": "g_opt", "D": "d_opt"}
            self.phases = (Phase("D", ("D",)), Phase("G", ("G",), reuses="D"), *self.r1_phase())
        else:  # L1 alone: no discriminator to build or train
            self.optimizers = {"G": "g_opt"}
            self.phases = (Phase("G", ("G",)),)

    def make_nets(self, cfg, spec) -> dict:
        g = make_generator(cfg, spec)
        if not self.adv:
            return {"G": g}
        return {"G": g, "D": make_patchgan(cfg, spec.source_shape[0] + spec.shape[0])}

    def compute(self, phase: str, nets, inp: PhaseInput) -> PhaseOutput:
        a, b = inp.real.a, inp.real.x
        g = nets["G"]
        if phase == "Dreg":  # R1 on real pairs: no forward pass of G
            return PhaseOutput(self.r1_terms(nets["D"], b, a))
        fake = inp.once("fake", lambda: g(a))
        if phase == "D":
            d = nets["D"]
            real_l = d(torch.cat([a, b], 1))
            fake_l = d(torch.cat([a, fake.detach()], 1))
            l_real, l_fake = adversarial_d(self.kind, real_l, fake_l)
            return PhaseOutput({"D/real": 0.5 * l_real, "D/fake": 0.5 * l_fake},
                               {"D/logit_real": real_l.detach().mean(),
                                "D/logit_fake": fake_l.detach().mean()})
        l1 = (fake - b).abs().mean()
        terms = {"G/l1": self.cfg.loss.l1_weight * l1}
        if self.adv:
            adv = adversarial_g(self.kind, nets["D"](torch.cat([a, fake], 1)))
            terms["G/adv"] = self.cfg.loss.adv_weight * adv
        return PhaseOutput(terms, {"G/l1_error": l1.detach()})

"""AC-GAN (Odena et al. 2017): a class-conditional G and a D with an auxiliary class head.

D judges real vs fake without seeing the label, and a head A on D's features predicts the class.
With L_S the usual source log-likelihood and L_C = log P(C = c | x_real) + log P(C = c | x_fake):
  phase D (trains D and A): maximise L_S + L_C, i.e. minimise `D/real` + `D/fake` (BCE) +
      `D/cls_real` + `D/cls_fake` (cross-entropy, weighted by `loss.aux_weight`);
  phase G: maximise L_C - L_S, with the non-saturating `G/adv` and `G/cls` = CE(A(G(z, c)), c).
Needs `model.conditional=true` (G embeds its label) on a labelled dataset; D is rebuilt
unconditional, as in the paper.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import torch
import torch.nn.functional as F

from ganforge import losses
from ganforge.errors import ConfigError
from ganforge.nets.heads import AuxClassifier, d_features
from ganforge.objectives.base import Objective, Phase, PhaseInput, PhaseOutput, generate, reusing_d


def feature_dim(d, shape) -> int:
    """Width of D.features for one sample of `shape` (a dry run in eval mode, no grad)."""
    was = d.training
    d.eval()
    with torch.no_grad():
        f = d_features(d, torch.zeros(2, *shape)).shape[1]
    d.train(was)
    return int(f)


class ACGANObjective(Objective):
    optimizers: ClassVar[dict[str, str]] = {"G": "g_opt", "D": "d_opt", "A": "d_opt"}
    options = frozenset({"loss.label_smoothing", "loss.aux_weight"})

    def __init__(self, cfg) -> None:
        if not cfg.model.conditional:
            raise ConfigError("loss.objective=acgan needs model.conditional=true (G takes labels)")
        self.full, self.cfg = cfg, cfg.loss
        self.phases = (Phase("D", ("D", "A"), repeat=cfg.train.d_steps), Phase("G", ("G",), reuses=reusing_d(cfg)))

    def build_nets(self, ctx):
        from ganforge.nets import build_discriminator, init_weights
        from ganforge.nets.registry import describe, model_record, spec_record
        from ganforge.nets.remedies import wrap_discriminator

        spec = ctx.spec
        if not spec.num_classes:
            raise ConfigError(f"loss.objective=acgan: dataset {spec.name!r} has no class labels")
        nets = super().build_nets(ctx)  # G as usual; its D is replaced (drawn first, as always)
        model = replace(self.full.model, conditional=False)
        d = build_discriminator(model, spec)
        init_weights(d, model.init)
        d = describe(wrap_discriminator(d, model, spec), "discriminator",
                     model=model_record(model), data=spec_record(spec))
        f = feature_dim(d, spec.shape)
        a = describe(AuxClassifier(f, spec.num_classes), "aux", feat_dim=f,
                     num_classes=spec.num_classes)
        return {"G": nets["G"], "D": d, "A": a}

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d, a = nets["G"], nets["D"], nets["A"]
        w = self.cfg.aux_weight
        if phase == "D":
            fake = generate(g, inp).detach()
            # real and fake in separate passes, as for the plain GAN: with batch norm in D a
            # mixed batch would share statistics between them
            cls_real, cls_fake = a(d_features(d, inp.real.x)), a(d_features(d, fake))
            l_real, l_fake = losses.d_bce(
                d(inp.real.x), d(fake), real_label=1.0 - self.cfg.label_smoothing
            )
            terms = {
                "D/real": l_real,
                "D/fake": l_fake,
                "D/cls_real": w * F.cross_entropy(cls_real, inp.real.y),
                "D/cls_fake": w * F.cross_entropy(cls_fake, inp.y_fake),
            }
            stats = {"D/acc_real": (cls_real.argmax(1) == inp.real.y).float().mean().detach()}
            return PhaseOutput(terms, stats)
        if phase == "G":
            fake = generate(g, inp)
            cls = a(d_features(d, fake))
            terms = {
                "G/adv": losses.g_nonsaturating(d(fake)),
                "G/cls": w * F.cross_entropy(cls, inp.y_fake),
            }
            stats = {"G/acc_fake": (cls.argmax(1) == inp.y_fake).float().mean().detach()}
            return PhaseOutput(terms, stats)
        raise KeyError(phase)

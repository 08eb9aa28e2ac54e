"""InfoGAN (Chen et al. 2016): latent codes c whose mutual information with G(z, c) is maximised.

G's input z (the trainer's prior draw, [N, z_dim]) carries the codes: a categorical code of K
values (`loss.info_categorical`) read as argmax z[:, :K], C continuous codes in [-1, 1]
(`loss.info_continuous`) from the next C entries, the rest noise (see `nets.heads.split_codes`).
G sees [s * onehot(c), u, noise], s = `loss.info_code_scale`. A head Q on D's features estimates
the codes; the variational lower bound L_I = E[log Q(c | G(z, c))] + H(c) <= I(c; G(z, c)) (Chen et al. 2016, Eq. 5) becomes
  `*/info` = lambda (CE(Q_cat(x), c) + 1/2 ||Q_cont(x) - u||^2)      (unit-variance Gaussian)
added to the D phase (trains D and Q, as D and Q share layers in the paper) and the G phase
(trains G and Q), next to the usual BCE / non-saturating terms. lambda = `loss.info_weight`.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from ganforge import losses
from ganforge.errors import ConfigError
from ganforge.nets.heads import InfoGenerator, QHead, d_features
from ganforge.objectives.acgan import feature_dim
from ganforge.objectives.base import Objective, Phase, PhaseInput, PhaseOutput, reusing_d


def info_loss(
    cat_logits: torch.Tensor, cont_pred: torch.Tensor, c: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """-E[log Q(c, u | x)] up to constants: CE(cat_logits [N, K], c [N]) + 1/2 mean ||pred - u||^2.

    Either part is skipped when its code is absent (K = 0 or C = 0). Returns a scalar.
    """
    out = cat_logits.new_zeros(())
    if cat_logits.shape[1]:
        out = out + F.cross_entropy(cat_logits, c)
    if cont_pred.shape[1]:
        out = out + 0.5 * (cont_pred - u).pow(2).sum(1).mean()
    return out


class InfoGANObjective(Objective):
    optimizers: ClassVar[dict[str, str]] = {"G": "g_opt", "D": "d_opt", "Q": "g_opt"}
    options = frozenset({
        "loss.label_smoothing", "loss.info_categorical", "loss.info_continuous",
        "loss.info_weight", "loss.info_code_scale",
    })

    def __init__(self, cfg) -> None:
        lo, m = cfg.loss, cfg.model
        k, c = lo.info_categorical, lo.info_continuous
        if k < 0 or c < 0 or k == 1 or k + c == 0:
            raise ConfigError(
                f"loss.info_categorical={k}, info_continuous={c}: need K=0 or K>=2, "
                f"C>=0, and at least one code"
            )
        if m.z_dim <= k + c:
            raise ConfigError(
                f"model.z_dim={m.z_dim}: InfoGAN needs z_dim > info_categorical + "
                f"info_continuous = {k + c} (the rest is noise)"
            )
        if m.conditional:
            raise ConfigError("loss.objective=infogan: model.conditional must be false")
        if m.z_dist == "mixture":  # the codes are read from i.i.d. entries of z (split_codes)
            raise ConfigError("loss.objective=infogan: model.z_dist must be uniform or normal")
        if lo.info_code_scale <= 0:
            raise ConfigError(f"loss.info_code_scale={lo.info_code_scale}: must be > 0")
        self.cfg, self.k, self.c, self.z_dist = lo, k, c, m.z_dist
        self.code_scale = lo.info_code_scale
        self.d_hidden = m.d_hidden
        self.phases = (Phase("D", ("D", "Q"), repeat=cfg.train.d_steps), Phase("G", ("G", "Q"), reuses=reusing_d(cfg)))

    def build_nets(self, ctx):
        from ganforge.nets.registry import describe

        info = {
            "categorical": self.k,
            "continuous": self.c,
            "z_dist": self.z_dist,
            "code_scale": self.code_scale,
        }
        nets = super().build_nets(ctx)
        g, d = nets["G"], nets["D"]
        f = feature_dim(d, ctx.spec.shape)
        q = QHead(f, categorical=self.k, continuous=self.c, hidden=self.d_hidden)
        q = describe(q, "qhead", feat_dim=f, categorical=self.k, continuous=self.c,
                     hidden=self.d_hidden)
        # the arch records the code wrapper, so sampling rebuilds it
        g = describe(InfoGenerator(g, **info), "generator", **g.arch["args"], info=info)
        return {"G": g, "D": d, "Q": q}

    def _info(self, nets, fake, c, u):
        cat, cont = nets["Q"](d_features(nets["D"], fake))
        acc = (cat.argmax(1) == c).float().mean().detach() if self.k else cat.new_zeros(())
        return self.cfg.info_weight * info_loss(cat, cont, c, u), acc

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d = nets["G"], nets["D"]
        c, u, noise = g.codes(inp.z)
        if phase == "D":
            fake = inp.once("fake", lambda: g.from_codes(c, u, noise)).detach()
            l_real, l_fake = losses.d_bce(
                d(inp.real.x), d(fake), real_label=1.0 - self.cfg.label_smoothing
            )
            info, acc = self._info(nets, fake, c, u)
            return PhaseOutput(
                {"D/real": l_real, "D/fake": l_fake, "D/info": info}, {"D/info_acc": acc}
            )
        if phase == "G":
            fake = inp.once("fake", lambda: g.from_codes(c, u, noise))
            info, acc = self._info(nets, fake, c, u)
            return PhaseOutput(
                {"G/adv": losses.g_nonsaturating(d(fake)), "G/info": info}, {"G/info_acc": acc}
            )
        raise KeyError(phase)

"""EBGAN (Zhao et al. 2017): the discriminator is an autoencoder and its reconstruction error
D(x) = mean (Dec(Enc(x)) - x)^2 is an energy, low on data.

  phase D: L_D = E[D(x)] + E[max(0, m - D(G(z)))]       (`D/real`, `D/fake`; m = `loss.margin`)
  phase G: L_G = E[D(G(z))] + w * PT(Enc(G(z)))         (`G/adv`, `G/pt`; w = `loss.pt_weight`)
(Zhao et al. 2017, Eqs. 1-2; the pulling-away term PT, Eq. 6, pushes fakes' codes apart against
mode collapse). The energy is a per-element mean, so m is on that scale: images in [-1, 1] have
energies in [0, 4], and the presets use m around 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.nets.autoencoder import AutoencoderD
from ganforge.objectives.base import Objective, Phase, PhaseInput, PhaseOutput, generate, reusing_d


def pulling_away_term(s: torch.Tensor) -> torch.Tensor:
    """PT = 1 / (N (N - 1)) sum_{i != j} (s_i . s_j / (|s_i| |s_j|))^2 for codes s [N, F], N >= 2.

    Zhao et al. 2017, Eq. 6: the mean squared cosine similarity between distinct samples; 0 when
    the codes are orthogonal, 1 when they all point the same way.
    """
    n = s.shape[0]
    unit = F.normalize(s.flatten(1), dim=1)
    cos2 = (unit @ unit.T).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


class EBGANObjective(Objective):
    options = frozenset({"loss.margin", "loss.pt_weight"})

    @classmethod
    def check_options(cls, cfg, name, owners) -> None:
        super().check_options(cfg, name, owners)
        from ganforge.config import ModelConfig

        default = ModelConfig()
        remedies = [k for k in ("pack", "minibatch_disc", "mbstd", "spectral_norm", "self_cond",
                                 "augment", "augment_p", "pixels")
                    if getattr(cfg.model, k) != getattr(default, k)]
        if remedies:  # they wrap the classic D, which EBGAN replaces by its autoencoder
            raise ConfigError(
                f"model.{remedies[0]}: has no effect under loss.objective=ebgan (its D is an "
                "autoencoder); drop it"
            )

    def __init__(self, cfg) -> None:
        if cfg.model.conditional:
            raise ConfigError("loss.objective=ebgan: model.conditional must be false")
        if not cfg.loss.margin > 0:
            raise ConfigError(f"loss.margin: must be positive for EBGAN, got {cfg.loss.margin}")
        self.cfg, self.model = cfg.loss, cfg.model
        self.phases = (Phase("D", ("D",), repeat=cfg.train.d_steps), Phase("G", ("G",), reuses=reusing_d(cfg)))

    def build_nets(self, ctx):
        from ganforge.nets.registry import describe

        m = self.model
        nets = super().build_nets(ctx)  # G as usual; the default D is drawn, then replaced
        kw = {"hidden": m.d_hidden, "code": max(8, m.d_hidden // 4), "depth": m.d_depth}
        d = AutoencoderD(ctx.spec.shape, **kw)
        return {"G": nets["G"], "D": describe(d, "autoencoder", in_shape=list(ctx.spec.shape), **kw)}

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d = nets["G"], nets["D"]
        if phase == "D":
            fake = generate(g, inp).detach()
            e_real, e_fake = d(inp.real.x), d(fake)
            terms = {"D/real": e_real.mean(), "D/fake": F.relu(self.cfg.margin - e_fake).mean()}
            stats = {
                "D/energy_real": e_real.detach().mean(),
                "D/energy_fake": e_fake.detach().mean(),
            }
            return PhaseOutput(terms, stats)
        if phase == "G":
            fake = generate(g, inp)
            terms = {"G/adv": d(fake).mean()}
            if self.cfg.pt_weight > 0:
                terms["G/pt"] = self.cfg.pt_weight * pulling_away_term(d.features(fake))
            return PhaseOutput(terms)
        raise KeyError(phase)

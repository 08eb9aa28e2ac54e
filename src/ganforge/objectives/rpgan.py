"""RpGAN + R1 + R2: the relativistic pairing GAN with both zero-centred gradient penalties, the loss
of R3GAN (Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN Baseline").

With l the discriminator's logit and pairs (x_i, z_i) of a real sample and a noise draw:
Phase D (G frozen): minimise
- `D/adv` = E[softplus(-(l(x) - l(G(z))))], D ranks each real sample above its paired fake
  (relativistic pairing, Jolicoeur-Martineau 2019);
- `D/r1` = gamma/2 E||grad_x l(x)||^2 on real data and `D/r2` = gamma/2 E||grad_x l(x)||^2 on
  fakes (Mescheder et al. 2018, "Which training methods for GANs do actually converge?").
  Huang et al. show RpGAN with both penalties converges locally where either alone does not;
  gamma = `loss.r1_gamma` weights both (0: no penalty). With `loss.r1_every` = k > 1 both move
  to a lazy `Dreg` phase run every k steps and scaled by k (lazy regularisation, Karras et al.
  2020, Sec. 3.1), as the classic GAN's R1 does (objectives/gan.py); R3GAN itself penalises
  every step (k = 1, the default).
Phase G (D frozen): minimise `G/adv` = E[softplus(-(l(G(z)) - l(x)))], the same pairing with the
roles swapped; it reads a real batch (the pair's real side, a constant for G).

The gamma schedule is the objective's: with `loss.gamma_final` set, gamma moves from
`loss.r1_gamma` to it along `train.lr_schedule`'s curve (linear, or half a cosine), a pure
function of the phase input's step, so a resume needs no extra state. Huang et al. decay gamma
(with the lr) over training; the trainer ramps the lr, Adam's beta2 (`g_opt/d_opt.beta2_final`)
and the EMA half-life (`train.ema_final`) along the same curve (training/optim.py).

With `loss.pairing` false the adversarial terms are the classic non-saturating GAN's on the same
logits, `D/adv` = E[softplus(-l(x))] + E[softplus(l(G(z)))] and `G/adv` = E[softplus(-l(G(z)))],
with R1 + R2 unchanged: the "GAN + R1 + R2" row of Huang et al.'s ablation, which reached 693 of
Stacked MNIST's 1,000 modes where RpGAN + R1 + R2 reached all of them.

Logged statistics: `D/score_real`, `D/score_fake` (mean logits), `D/p_pair` = E[sigmoid(l(x) -
l(G(z)))], how often D ranks the real sample first in probability, and `D/gamma`.
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
from ganforge.schedules import progress, ramp


def gamma_at(start: float, end: float | None, schedule: str, step: int, total: int) -> float:
    """gamma at `step` of `total`: `start` when `end` is None, else `schedules.ramp` from `start`
    to `end` along the schedule's curve."""
    if end is None:
        return float(start)
    return ramp(schedule, progress(step, total), start, end)


class RpGANObjective(Objective):
    """RpGAN + R1 + R2 (see the module docstring); any G and D, unconditional or conditional."""

    options = frozenset({"loss.r1_gamma", "loss.r1_every", "loss.gamma_final", "loss.pairing"})

    def __init__(self, cfg) -> None:
        self.cfg = cfg.loss
        self.schedule = cfg.train.lr_schedule
        lazy = self.cfg.r1_gamma > 0 and self.cfg.r1_every > 1
        phases = [Phase("D", ("D",), repeat=cfg.train.d_steps)]
        if lazy:
            phases.append(Phase("Dreg", ("D",), every=self.cfg.r1_every))
        # G's loss pairs each fake with a real sample, so the G phase reads a real batch too
        phases.append(Phase("G", ("G",), needs_real=self.cfg.pairing, reuses=reusing_d(cfg)))
        self.phases = tuple(phases)
        self.every_step = self.cfg.r1_gamma > 0 and not lazy

    def gamma(self, inp: PhaseInput) -> float:
        c = self.cfg
        return gamma_at(c.r1_gamma, c.gamma_final, self.schedule, inp.step, inp.total_steps)

    def _penalties(self, d, inp: PhaseInput, fake: torch.Tensor):
        """(real logits, fake logits, R1, R2): one forward pass of D on inputs that track their
        gradients, whose logits also serve the adversarial term."""
        real_x = inp.real.x.detach().requires_grad_(True)
        fake_x = fake.detach().requires_grad_(True)
        real_logits = cond(d, real_x, inp.real.y)
        fake_logits = cond(d, fake_x, inp.y_fake)
        r1 = losses.r1_penalty(real_logits, real_x)
        r2 = losses.r2_penalty(fake_logits, fake_x)
        return real_logits, fake_logits, r1, r2

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d = nets["G"], nets["D"]
        if phase == "D":
            # D step: minimise softplus(-(D(x) - D(G(z)))) + gamma/2 (R1 + R2)
            fake = generate(g, inp).detach()
            terms = {}
            if self.every_step:
                real_logits, fake_logits, r1, r2 = self._penalties(d, inp, fake)
                w = 0.5 * self.gamma(inp)
                terms |= {"D/r1": w * r1, "D/r2": w * r2}
            else:
                real_logits = cond(d, inp.real.x, inp.real.y)
                fake_logits = cond(d, fake, inp.y_fake)
            if self.cfg.pairing:
                adv = losses.d_relativistic_pair(real_logits, fake_logits)
            else:  # the classic GAN's D loss: log D(x) + log(1 - D(G(z)))
                adv = sum(losses.d_bce(real_logits, fake_logits))
            terms = {"D/adv": adv} | terms
            diff = (real_logits - fake_logits).detach()
            stats = {
                "D/score_real": real_logits.detach().mean(),
                "D/score_fake": fake_logits.detach().mean(),
                "D/p_pair": torch.sigmoid(diff).mean(),
            }
            if self.cfg.r1_gamma > 0:
                # a fill kernel, not a host-to-device copy: no sync in the hot loop
                stats["D/gamma"] = torch.full((), self.gamma(inp), device=diff.device)
            return PhaseOutput(terms, stats)
        if phase == "Dreg":
            # lazy penalties: gamma/2 (R1 + R2) times the interval k, every k steps
            with torch.no_grad():
                fake = cond(g, inp.z, inp.y_fake)
            _, _, r1, r2 = self._penalties(d, inp, fake)
            w = 0.5 * self.gamma(inp) * self.cfg.r1_every
            return PhaseOutput({"Dreg/r1": w * r1, "Dreg/r2": w * r2})
        if phase == "G":
            # G step: minimise softplus(-(D(G(z)) - D(x))) through the frozen D
            fake_logits = cond(d, generate(g, inp), inp.y_fake)
            if not self.cfg.pairing:  # the classic non-saturating G loss needs no real batch
                return PhaseOutput({"G/adv": losses.g_nonsaturating(fake_logits)})
            with torch.no_grad():  # the pair's real side is a constant for G
                real_logits = cond(d, inp.real.x, inp.real.y)
            return PhaseOutput({"G/adv": losses.g_relativistic_pair(real_logits, fake_logits)})
        raise KeyError(phase)

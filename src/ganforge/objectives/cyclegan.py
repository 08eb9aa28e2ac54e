"""CycleGAN: image-to-image translation with unpaired data (Zhu et al. 2017).

Two generators, G: A -> B and F: B -> A, and two discriminators, D_B (real b vs G(a)) and D_A
(real a vs F(b)). With no pairs to copy, G and F must invert each other (Eq. 2, 3):

  L = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc + lambda_id L_identity
  L_cyc = E[||F(G(a)) - a||_1] + E[||G(F(b)) - b||_1],   lambda = 10
  L_identity = E[||G(b) - b||_1] + E[||F(a) - a||_1],    lambda_id = 0.5 lambda (Sec. 5.2)

with the least-squares GAN loss (Sec. 4, `loss.adversarial=lsgan`). D sees, half of the time,
fakes from a history of the last 50 generated images instead of the newest ones (Shrivastava
et al. 2017; `ImagePool`), which damps oscillation. The pools and their random stream are the
objective's state, saved in checkpoints, so a resumed run draws what an uninterrupted one would.

Class-conditional discriminators (`model.conditional=true`, `model.d_cond=concat`), for unpaired
domains that are both labelled with the same classes: each D sees an image's class as one-hot
planes beside it (real a with its label; F(b) with b's label), so "a 7 of domain A" is what D_A
judges F(b) against when b is a 7. That gives D what it cannot see one image at a time: that a
translation changed the class into a look-alike of another (say, a 1 drawn with a flag and a
foot, read as a 7 in a domain that draws 1 as one stroke). G and F never see labels, so they
translate unlabelled images at test time. The pools keep each fake with its label planes.

Phases, one step: D (D_A and D_B, generators frozen) on pooled fakes; then G (G and F, both
discriminators frozen) on the same inputs and the same G(a), F(b) (`reuses="D"`).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ganforge.errors import ConfigError
from ganforge.nets.heads import class_planes
from ganforge.objectives.base import Phase, PhaseInput, PhaseOutput
from ganforge.objectives.translation import (
    TranslationObjective,
    adversarial_d,
    adversarial_g,
    as_columns,
    make_generator,
    make_patchgan,
)


class ImagePool:
    """A buffer of up to `size` past fakes (Shrivastava et al. 2017, Sec. 2.3).

    `query(fakes)`: each fake is stored while the pool fills; once full, with probability 1/2 a
    random stored image is returned in its place (and replaced by it), else the fake itself.
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.images: torch.Tensor | None = None  # [k, C, H, W], k <= size
        self.gen = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for f in fakes:
            f = f.unsqueeze(0)
            k = 0 if self.images is None else len(self.images)
            if k < self.size:
                self.images = f.clone() if self.images is None else torch.cat([self.images, f])
                out.append(f)
            elif torch.rand((), generator=self.gen) < 0.5:
                i = int(torch.randint(k, (), generator=self.gen))
                out.append(self.images[i : i + 1].clone())
                self.images[i] = f[0]
            else:
                out.append(f)
        return torch.cat(out)

    def state_dict(self) -> dict:
        return {"images": self.images, "gen": self.gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.images = state["images"]
        self.gen.set_state(state["gen"])


class CycleGANObjective(TranslationObjective):
    directions: ClassVar[dict[str, str]] = {"AtoB": "G", "BtoA": "F"}
    pairing = ("unpaired", "paired")  # paired data is used as two unpaired domains
    options = TranslationObjective.options | {
        "loss.cycle_weight", "loss.identity_weight", "loss.pool_size"}
    optimizers: ClassVar[dict[str, str]] = {"G": "g_opt", "F": "g_opt", "DA": "d_opt", "DB": "d_opt"}
    ema_nets = ("G", "F")

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        lo = cfg.loss
        self.phases = (Phase("D", ("DA", "DB")), Phase("G", ("G", "F"), reuses="D"),
                       *self.r1_phase())
        self.classes = 0  # > 0: class-conditional Ds (set in build_nets)
        seed = cfg.train.seed * 1_000_003 + 7
        self.pools = {"A": ImagePool(lo.pool_size, seed), "B": ImagePool(lo.pool_size, seed + 1)}

    def build_nets(self, ctx) -> dict:
        if ctx.cfg.model.conditional:
            data = ctx.data
            la, lb = getattr(data, "labels_a", None), getattr(data, "labels_b", None)
            if la is None or lb is None or data.classes_a != ctx.spec.num_classes:
                raise ConfigError(
                    f"model.conditional: data.dataset={ctx.spec.name} does not label both "
                    "domains with the same classes, which class-conditional CycleGAN Ds need")
            self.classes = ctx.spec.num_classes
        return super().build_nets(ctx)

    def make_nets(self, cfg, spec) -> dict:
        ca, cb = spec.source_shape[0], spec.shape[0]
        if cfg.loss.identity_weight > 0 and ca != cb:
            raise ConfigError(f"loss.identity_weight={cfg.loss.identity_weight}: the identity "
                              f"terms need domains with equal channels (A has {ca}, B has {cb}); "
                              "set it to 0")
        if spec.source_shape[1:] != spec.shape[1:]:
            raise ConfigError(f"data.dataset={spec.name}: CycleGAN needs both domains at one size "
                              f"(A {tuple(spec.source_shape)}, B {tuple(spec.shape)}); set data.crop_size")
        back = type(spec)(spec.name, spec.kind, spec.source_shape, source_shape=spec.shape)
        return {"G": make_generator(cfg, spec), "F": make_generator(cfg, back),
                "DA": make_patchgan(cfg, ca + self.classes), "DB": make_patchgan(cfg, cb + self.classes)}

    def _planes(self, y: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
        """The class planes [N, k, H, W] a conditional D reads before x; None if unconditional."""
        if not self.classes:
            return None
        return class_planes(y, self.classes, x)

    def _judged(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """What a D reads for images x of class y: x, or its class planes then x."""
        planes = self._planes(y, x)
        return x if planes is None else torch.cat([planes, x], 1)

    def compute(self, phase: str, nets, inp: PhaseInput) -> PhaseOutput:
        a, b, ya, yb = inp.real.a, inp.real.x, inp.real.ya, inp.real.y
        g, f = nets["G"], nets["F"]
        if phase == "Dreg":  # R1 on real images: no forward pass of G or F
            return PhaseOutput(
                self.r1_terms(nets["DA"], a, self._planes(ya, a), name="Dreg/A_r1")
                | self.r1_terms(nets["DB"], b, self._planes(yb, b), name="Dreg/B_r1"))
        fake_b = inp.once("fake_b", lambda: g(a))
        fake_a = inp.once("fake_a", lambda: f(b))
        if phase == "D":
            terms, stats = {}, {}
            # a fake of domain A is F(b) and carries b's class; one of B, G(a) with a's
            for dom, real, fake in (("A", self._judged(a, ya), self._judged(fake_a.detach(), yb)),
                                    ("B", self._judged(b, yb), self._judged(fake_b.detach(), ya))):
                d = nets[f"D{dom}"]
                real_l, fake_l = d(real), d(self.pools[dom].query(fake))
                l_real, l_fake = adversarial_d(self.kind, real_l, fake_l)
                terms |= {f"D/{dom}_real": 0.5 * l_real, f"D/{dom}_fake": 0.5 * l_fake}
                stats[f"D/{dom}_logit_gap"] = (real_l.mean() - fake_l.mean()).detach()
            return PhaseOutput(terms, stats)
        lo = self.cfg.loss
        adv = (adversarial_g(self.kind, nets["DB"](self._judged(fake_b, ya)))
               + adversarial_g(self.kind, nets["DA"](self._judged(fake_a, yb))))
        cyc = (f(fake_b) - a).abs().mean() + (g(fake_a) - b).abs().mean()
        terms = {"G/adv": lo.adv_weight * adv, "G/cycle": lo.cycle_weight * cyc}
        if lo.identity_weight > 0:
            idt = (g(b) - b).abs().mean() + (f(a) - a).abs().mean()
            terms["G/identity"] = lo.identity_weight * lo.cycle_weight * idt
        return PhaseOutput(terms, {"G/cycle_error": cyc.detach() / 2})

    def preview(self, nets, fixed: PhaseInput) -> torch.Tensor:
        """Rows A | G(A) | F(G(A)), then B | F(B) | G(F(B))."""
        a, b = fixed.real.a, fixed.real.x
        g, f = nets["G"], nets["F"]
        ga, fb = g(a), f(b)
        return torch.cat([as_columns(a, ga, f(ga)), as_columns(b, fb, g(fb))])

    def state_dict(self) -> dict:
        return {k: p.state_dict() for k, p in self.pools.items()}

    def load_state_dict(self, state: dict) -> None:
        for k, p in self.pools.items():
            if k in state:
                p.load_state_dict(state[k])

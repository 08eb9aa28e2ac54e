"""What the image-to-image objectives (pix2pix, CycleGAN, SRGAN) share.

Image-to-image data come as batches of pairs (`Batch.a` the source, `Batch.x` the target; see
data/base.py): the generators translate images, there is no noise z and no class label. This
module holds the parts the three objectives have in common:
- the adversarial loss on a discriminator's logits, chosen by `loss.adversarial`
  (gan: Goodfellow et al. 2014 with the non-saturating G loss; lsgan: Mao et al. 2017, the
  CycleGAN default; hinge: Lim & Ye 2017), and R1 on the real target (Mescheder et al. 2018);
- inputs: a real batch per update, never noise; the preview's fixed pairs are the data's own
  fixed sample (`Dataset.real_sample`, centre crops, no flips), taken when the nets are built;
- the preview picture: one row per example, columns such as input | output | target (the
  source drawn at the target's size and channels so the columns line up);
- `directions`: which network translates which way, read by `ganforge translate`.

Train and test modes. Previews run the sampling networks in eval mode (the trainer's
`sampling()`), and so does `ganforge translate`: the same weights (the EMA when one is kept) in
the same mode give the same output. The U-Net and ResNet generators normalise with instance
norm by default, which has no running statistics, so the one train/eval difference left is
pix2pix's dropout: off at test time here (pix2pix's paper keeps it on as a source of noise;
`ganforge translate --dropout` does that, with a seed).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from ganforge import losses
from ganforge.errors import ConfigError
from ganforge.objectives.base import BuildContext, Objective, Phase, PhaseInput, PhaseOutput

PREVIEW_ROWS = 8  # examples in a preview picture


def adversarial_d(kind: str, real_logits, fake_logits):
    """(real term, fake term) of D's loss for `loss.adversarial` = kind; logits of any shape
    (a PatchGAN's map [N, 1, h, w] averages over patches, as in Isola et al. 2017)."""
    if kind == "gan":
        return losses.d_bce(real_logits, fake_logits)
    if kind == "lsgan":
        return losses.d_least_squares(real_logits, fake_logits)
    return losses.d_hinge(real_logits, fake_logits)


def adversarial_g(kind: str, fake_logits):
    """G's adversarial term for `loss.adversarial` = kind. lsgan: E[(D(G(x)) - 1)^2], the form
    the CycleGAN code uses (twice Mao et al.'s 1/2 E[...], so lambda = 10 weighs as there)."""
    if kind == "gan":
        return losses.g_nonsaturating(fake_logits)
    if kind == "lsgan":
        return 2.0 * losses.g_least_squares(fake_logits)
    return losses.g_hinge(fake_logits)


def as_columns(*cols: torch.Tensor) -> torch.Tensor:
    """Images [N, C_i, H_i, W_i] in [-1, 1] -> [N, len(cols), C, H, W]: each column resized
    (nearest) to the largest size and grey columns repeated to colour, so a low-resolution or
    grey source sits beside its colour target."""
    h = max(c.shape[-2] for c in cols)
    w = max(c.shape[-1] for c in cols)
    ch = max(c.shape[1] for c in cols)
    out = []
    for c in cols:
        c = c.float()
        if c.shape[-2:] != (h, w):
            c = F.interpolate(c, size=(h, w), mode="nearest")
        if c.shape[1] != ch:
            c = c.expand(-1, ch, -1, -1)
        out.append(c.clamp(-1, 1))
    return torch.stack(out, 1)


def make_generator(cfg, spec):
    """The image-to-image G that `model.arch` names, for the data's source and target shapes."""
    from ganforge.nets.translation import make_net

    m = cfg.model
    c_in, c_out, size = spec.source_shape[0], spec.shape[0], spec.shape[-1]
    if m.arch == "unet":
        return make_net("unet", in_ch=c_in, out_ch=c_out, base=m.base_channels,
                        depth=m.unet_depth or None, size=size, dropout=m.dropout, norm=m.g_norm)
    if m.arch == "resnet":
        return make_net("resnet", in_ch=c_in, out_ch=c_out, base=m.base_channels,
                        blocks=m.g_blocks, norm=m.g_norm)
    extra = {"skip": True} if m.sr_skip else {}  # old checkpoints' args stay as they were
    return make_net("srresnet", channels=c_out, scale=cfg.data.scale, base=m.base_channels,
                    blocks=m.g_blocks, **extra)


def make_patchgan(cfg, in_ch: int):
    m = cfg.model
    from ganforge.nets.translation import make_net

    return make_net("patchgan", in_ch=in_ch, base=m.base_channels, n_layers=m.d_layers,
                    norm=m.d_norm, spectral_norm=m.spectral_norm)


def initialise(nets: dict, scheme: str) -> None:
    """`model.init=dcgan`: N(0, 0.02) weights, the pix2pix/CycleGAN initialisation."""
    if scheme == "dcgan":
        from ganforge.nets.translation import init_normal

        for net in nets.values():
            init_normal(net)


class TranslationObjective(Objective):
    """Base class: real pairs as inputs, fixed pairs for previews, the adversarial loss choice."""

    # which network translates which way (`ganforge translate --direction`)
    directions: ClassVar[dict[str, str]] = {"AtoB": "G"}
    pairing: ClassVar[tuple[str, ...]] = ("paired",)
    options = frozenset({"loss.adversarial", "loss.adv_weight", "loss.r1_gamma", "loss.r1_every"})

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.kind = cfg.loss.adversarial
        self.fixed_batch = None

    def check_data(self, spec) -> None:
        if spec.pairing not in self.pairing:
            what = spec.pairing or "unpaired images without a source side"
            raise ConfigError(
                f"data.dataset={spec.name}: loss.objective={self.cfg.loss.objective} needs "
                f"{' or '.join(self.pairing)} image data, this is {what}")

    def build_nets(self, ctx: BuildContext) -> dict:
        self.check_data(ctx.spec)
        self.fixed_batch = ctx.data.real_sample(PREVIEW_ROWS, seed=0)
        nets = self.make_nets(ctx.cfg, ctx.spec)
        initialise(nets, ctx.cfg.model.init)
        return nets

    def make_nets(self, cfg, spec) -> dict:
        raise NotImplementedError

    def r1_phase(self) -> tuple[Phase, ...]:
        """A lazy R1 phase for the discriminators when loss.r1_gamma > 0."""
        lo = self.cfg.loss
        if lo.r1_gamma <= 0:
            return ()
        ds = tuple(n for n in self.optimizers if n.startswith("D"))
        return (Phase("Dreg", ds, every=lo.r1_every),)

    def r1_terms(self, d, x: torch.Tensor, cond: torch.Tensor | None = None, name: str = "Dreg/r1"):
        """gamma/2 * E||grad_x D(x)||^2 * r1_every on real targets x (D sees cond beside x)."""
        lo = self.cfg.loss
        x = x.detach().requires_grad_(True)
        logits = d(x if cond is None else torch.cat([cond, x], 1))
        r1 = losses.r1_penalty(logits.flatten(1).sum(1), x)
        return {name: 0.5 * lo.r1_gamma * lo.r1_every * r1}

    def draw(self, phase: Phase, nets, src) -> PhaseInput:
        """A real batch of pairs; no noise, no labels."""
        return PhaseInput(src.real(), None, None, src.step, src.total_steps)

    def fixed_inputs(self, nets, n: int, prior, device) -> PhaseInput:
        return PhaseInput(self.fixed_batch.to(device), None, None, 0)

    def preview(self, nets, fixed: PhaseInput) -> torch.Tensor:
        """Rows of input | output | target."""
        a, b = fixed.real.a, fixed.real.x
        return as_columns(a, nets["G"](a), b)

    def compute(self, phase: str, nets, inp: PhaseInput) -> PhaseOutput:
        raise NotImplementedError

"""SRGAN: photo-realistic single-image super-resolution (Ledig et al. 2017).

G (SRResNet) up-scales a low-resolution image by `data.scale`; D tells real high-resolution
crops from G's. Training has two stages (Sec. 3.2):
1. SRResNet: for the first `loss.pretrain_steps` steps G alone minimises the pixel MSE
   E[||G(a) - x||^2] (no D phase runs);
2. SRGAN: G minimises the perceptual loss l_X + 1e-3 l_Gen (Eq. 3), with the content loss l_X
   the MSE between feature maps of a fixed network (VGG19's relu5_4, "VGG54", features divided
   by 12.75 as in the authors' setup, Sec. 3.2) and l_Gen = -log D(G(a)); D trains against it.

`loss.content` picks l_X: "mse" (pixels: SRResNet's loss throughout), "vgg19" (the paper's;
the weights file `loss.feature_file`, checked against its hash, never trained),
"vgg19-random" (the same VGG19 with fixed random weights, seed 0: a feature network ganforge has
on hand offline; random convolutional features still measure structure, cf. He et al. 2016,
"A powerful generative model using random weights for the deep image representation"; but under
PyTorch's default initialisation its activations shrink layer by layer, and at relu2_2 the content
term is below 1e-6 against the adversarial 1e-3: G then follows D alone, docs/srgan.md) or
"inception" (ImageNet features on hand offline: the FID Inception-v3 of the `ganforge[inception]`
extra, its file's sha256 pinned, `loss.content_layer` one of its layers; nets/inception_weights.py;
CONTENT_NETS below). The run's
config records which; the benchmark's protocol names it beside every number. The feature
network belongs to the loss: it is not one of the run's networks and is not checkpointed.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
from torch import nn

from ganforge.errors import CheckpointError, ConfigError, DataError
from ganforge.nets import vgg
from ganforge.nets.inception import FEATURE_LAYERS
from ganforge.nets.inception_weights import load_inception_content
from ganforge.nets.vgg import LAYERS as VGG_LAYERS
from ganforge.objectives.base import Phase, PhaseInput, PhaseOutput
from ganforge.objectives.translation import (
    TranslationObjective,
    adversarial_d,
    adversarial_g,
    make_generator,
)

VGG_SCALE = 1.0 / 12.75  # the SRGAN authors' rescaling of VGG feature maps


class ContentNet(NamedTuple):
    """What SRGAN's content loss needs to know of a fixed feature network."""

    layers: tuple[str, ...]  # the names loss.content_layer may take
    default: str  # loss.content_layer when unset
    scale: float  # feature maps are multiplied by it before the MSE
    weights: str  # loss.feature_file: "required", "optional" (the extra's file) or "none"


# loss.content -> its net; unset layers: the paper's VGG54, Inception's layer at VGG22's depth.
# Inception's maps are unscaled: its batch-normalised activations are of order 1 already.
CONTENT_NETS = {
    "vgg19": ContentNet(tuple(VGG_LAYERS), "relu5_4", VGG_SCALE, "required"),
    "vgg19-random": ContentNet(tuple(VGG_LAYERS), "relu5_4", VGG_SCALE, "none"),
    "inception": ContentNet(FEATURE_LAYERS, "Conv2d_2b_3x3", 1.0, "optional"),
}


class SRGANObjective(TranslationObjective):
    pairing = ("superres",)
    options = TranslationObjective.options | {
        "loss.content", "loss.content_layer", "loss.feature_file", "loss.pretrain_steps"}
    optimizers: ClassVar[dict[str, str]] = {"G": "g_opt", "D": "d_opt"}

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        start = cfg.loss.pretrain_steps
        self.phases = (Phase("D", ("D",), start=start), Phase("G", ("G",), reuses="D"),
                       *(Phase(p.name, p.trains, every=p.every, start=start)
                         for p in self.r1_phase()))
        # the content loss's fixed net (never trained, not checkpointed); None: pixel MSE
        self.features = None if cfg.loss.content == "mse" else self._content_net(cfg)

    @classmethod
    def check_options(cls, cfg, name, owners) -> None:
        """Besides the shared checks: the layer belongs to the chosen feature net, and no
        option is set that the chosen content loss does not read."""
        super().check_options(cfg, name, owners)
        lo = cfg.loss
        net = CONTENT_NETS.get(lo.content)  # None: mse
        if net and net.weights == "required" and not lo.feature_file:
            raise ConfigError(f"loss.content={lo.content}: needs loss.feature_file, the VGG19 "
                              "weights (vgg19-dcbb9e9d.pth); offline, use loss.content=inception "
                              "(the ganforge[inception] extra), vgg19-random or mse")
        if lo.feature_file and (net is None or net.weights == "none"):
            raise ConfigError(f"loss.feature_file: loss.content={lo.content} reads no weights "
                              "file; drop it")
        if lo.content_layer is None:
            return
        if net is None:
            raise ConfigError(f"loss.content_layer={lo.content_layer}: loss.content=mse compares "
                              "pixels, not features; drop it")
        if lo.content_layer not in net.layers:
            raise ConfigError(f"loss.content_layer={lo.content_layer}: not a layer of loss.content="
                              f"{lo.content}'s net; choose from {', '.join(net.layers)}")

    @staticmethod
    def _content_net(cfg) -> nn.Module:
        """The content loss's net, built before training rather than when pre-training ends: a
        missing or wrong weights file, or crops too small for the chosen layer, stop the run
        before it trains (one-line errors naming the option)."""
        lo = cfg.loss
        layer = lo.content_layer or CONTENT_NETS[lo.content].default
        try:
            if lo.content == "inception":
                net = load_inception_content(lo.feature_file, layer)
            elif lo.content == "vgg19":
                net = vgg.load_vgg19(lo.feature_file, layer=layer)
            else:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    net = vgg.VGG19Features(layer=layer)
        except (CheckpointError, DataError) as e:
            key = f"loss.feature_file={lo.feature_file}" if lo.feature_file else \
                f"loss.content={lo.content}"
            raise type(e)(f"{key}: {e}") from None
        net = net.eval().requires_grad_(False)
        side = cfg.data.crop_size
        if side:
            try:
                with torch.no_grad():
                    net(torch.zeros(1, 3, side, side))
            except RuntimeError:
                raise ConfigError(
                    f"data.crop_size={side}: too small for loss.content_layer={layer} of "
                    f"loss.content={lo.content}; choose a shallower layer or larger crops") from None
        return net

    def make_nets(self, cfg, spec) -> dict:
        from ganforge.nets.translation import make_net

        return {"G": make_generator(cfg, spec),
                "D": make_net("srgan-d", channels=spec.shape[0], base=cfg.model.base_channels,
                              spectral_norm=cfg.model.spectral_norm)}

    def content(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if self.features is None:
            return (sr - hr).pow(2).mean()
        phi = self.features.to(sr.device)  # a no-op after the first call
        scale = CONTENT_NETS[self.cfg.loss.content].scale
        return (scale * (phi(sr) - phi(hr))).pow(2).mean()

    def compute(self, phase: str, nets, inp: PhaseInput) -> PhaseOutput:
        lr, hr = inp.real.a, inp.real.x
        g = nets["G"]
        if phase == "Dreg":  # R1 on real images: no forward pass of G
            return PhaseOutput(self.r1_terms(nets["D"], hr))
        sr = inp.once("fake", lambda: g(lr))
        if phase == "D":
            d = nets["D"]
            real_l, fake_l = d(hr), d(sr.detach())
            l_real, l_fake = adversarial_d(self.kind, real_l, fake_l)
            return PhaseOutput({"D/real": l_real, "D/fake": l_fake},
                               {"D/logit_real": real_l.detach().mean(),
                                "D/logit_fake": fake_l.detach().mean()})
        mse = (sr - hr).pow(2).mean()
        if inp.step < self.cfg.loss.pretrain_steps:  # stage 1: SRResNet
            return PhaseOutput({"G/mse": mse})
        adv = adversarial_g(self.kind, nets["D"](sr))
        return PhaseOutput({"G/content": self.content(sr, hr),
                            "G/adv": self.cfg.loss.adv_weight * adv}, {"G/mse": mse.detach()})

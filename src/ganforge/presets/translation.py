"""Image-to-image presets: pix2pix, CycleGAN, SRResNet/SRGAN, CPU-sized on offline data.

The CPU presets train on data that pip packages ship (data/bundled.py): edges to MNIST digits,
grey to colour on bundled photographs, scikit-learn's digits <-> MNIST, and x4 super-resolution
of bundled photographs. The papers' own settings (256x256 crops, batch 1, U-Net-256 / ResNet-9,
SRResNet-16 on DIV2K-sized data) are the `-paper` presets, for a GPU; their data are downloaded
with checksums (data/translation_sets.py). The networks and losses are the same in both: only
sizes, steps and batch differ.
"""

from __future__ import annotations

from typing import Any

_ADAM = {f"{p}.{k}": v for p in ("g_opt", "d_opt") for k, v in
         {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}.items()}
# what every image-to-image preset shares: no noise to probe, pictures every 250 steps
_COMMON = {"train.diagnose": False, "train.sample_every": 250, "train.checkpoint_every": 1000,
           "model.init": "dcgan", **_ADAM}

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "pix2pix-edges2mnist": (
        "pix2pix (U-Net G, 34x34 PatchGAN, cGAN + 100 L1) from edge maps to MNIST digits; ~4 CPU-min",
        {
            **_COMMON, "loss.objective": "pix2pix", "data.dataset": "edges2mnist",
            "model.arch": "unet", "model.base_channels": 32, "model.d_layers": 2,
            "model.d_norm": "instance", "train.batch_size": 32, "train.steps": 1500,
        },
    ),
    "pix2pix-photos": (
        "pix2pix from grey to colour on 64x64 crops of bundled photographs (held-out photos)",
        {
            **_COMMON, "loss.objective": "pix2pix", "data.dataset": "grey2color-photos",
            "data.crop_size": 64, "data.flip": True, "model.arch": "unet",
            "model.base_channels": 16, "model.d_norm": "instance", "train.batch_size": 16,
            "train.steps": 1500,
        },
    ),
    "pix2pix-paper": (
        ("pix2pix as published (U-Net-256, 70x70 PatchGAN, batch 1, 286->256 crops, flips) on "
        "facades; a GPU job"),
        {
            **_COMMON, "loss.objective": "pix2pix", "data.dataset": "facades",
            "data.image_size": 286, "data.crop_size": 256, "data.flip": True, "data.direction": "BtoA",
            "model.arch": "unet", "model.base_channels": 64, "model.d_norm": "batch",
            "model.g_norm": "batch", "train.batch_size": 1, "train.steps": 80000,
            "train.sample_every": 2000, "train.checkpoint_every": 5000,
        },
    ),
    "cyclegan-digits2mnist": (
        (
            "CycleGAN (PatchGAN, LSGAN, cycle 10, identity 5, pool 50; a U-Net G at this size) "
            "between scikit-learn's 8x8 digits and MNIST, unpaired"
        ),
        {
            # a U-Net G: a ResNet G small enough for CPU minutes (no skip connections) redrew
            # the shapes instead of keeping them (tests/test_translation.py); the paper's
            # ResNet-9 is the cyclegan-paper preset
            **_COMMON, "loss.objective": "cyclegan", "data.dataset": "digits2mnist",
            "model.arch": "unet", "model.dropout": 0.0, "model.base_channels": 16,
            "model.d_layers": 2, "model.d_norm": "instance", "loss.adversarial": "lsgan",
            "train.batch_size": 16, "train.steps": 2000,
        },
    ),
    "cyclegan-paper": (
        ("CycleGAN as published (ResNet-9, 70x70 PatchGAN, LSGAN, batch 1, 286->256 crops, "
         "200 epochs; lr decays linearly all along, the paper's only in the second half) on "
         "horse2zebra; a GPU job"),
        {
            **_COMMON, "loss.objective": "cyclegan", "data.dataset": "horse2zebra",
            "data.image_size": 286, "data.crop_size": 256, "data.flip": True, "model.arch": "resnet",
            "model.base_channels": 64, "model.g_blocks": 9, "model.d_norm": "instance",
            "loss.adversarial": "lsgan", "train.batch_size": 1, "train.steps": 266800,
            "train.lr_schedule": "linear", "train.sample_every": 5000,
            "train.checkpoint_every": 10000,
        },
    ),
    # both with the bicubic skip (model.sr_skip): on the 4 held-out photos SRResNet scores
    # 30.05 +- 0.02 dB against bicubic's 28.99 and the paper's net's 28.18 +- 0.23; SRGAN with
    # the Inception content loss 28.99 +- 0.12 (SSIM 0.822), with the former random-VGG19 one
    # 26.52 +- 1.77 (SSIM 0.688) (3 seeds, docs/srgan.md)
    "srresnet-photos": (
        "SRResNet x4 (pixel MSE only) on 64x64 crops of bundled photographs (held-out photos)",
        {
            **_COMMON, "loss.objective": "srgan", "data.dataset": "photos-sr", "data.scale": 4,
            "data.crop_size": 64, "data.flip": True, "model.arch": "srresnet",
            "model.sr_skip": True, "model.base_channels": 32, "model.g_blocks": 8, "model.init": "default",
            "loss.pretrain_steps": 2000, "train.batch_size": 16, "train.steps": 2000,
            "g_opt.lr": 1e-4, "g_opt.beta1": 0.9,
        },
    ),
    "srgan-photos": (
        ("SRGAN x4: the SRResNet pre-training, then content + 1e-3 adversarial loss (offline: "
        "ImageNet features of the FID Inception-v3, the ganforge[inception] extra)"),
        {
            **_COMMON, "loss.objective": "srgan", "data.dataset": "photos-sr", "data.scale": 4,
            "data.crop_size": 64, "data.flip": True, "model.arch": "srresnet",
            "model.sr_skip": True, "model.base_channels": 32, "model.g_blocks": 8, "model.init": "default",
            # Inception's Conv2d_2b_3x3 (its default layer, at half resolution as VGG22, VGG19's
            # relu2_2, is): ImageNet features on hand offline. VGG19 relu2_2 with random weights
            # ("vgg19-random", the former setting) gives content terms below 1e-6 against the
            # adversarial 1e-3 (default init shrinks activations layer by layer): SRGAN then
            # trained on D alone and drifted in colour (docs/srgan.md)
            "loss.pretrain_steps": 2000, "loss.adv_weight": 1e-3, "loss.content": "inception",
            "train.batch_size": 16, "train.steps": 2300,
            "g_opt.lr": 1e-4, "g_opt.beta1": 0.9, "d_opt.lr": 1e-4, "d_opt.beta1": 0.9,
        },
    ),
    "srgan-paper": (
        ("SRGAN as published (SRResNet-16, 96x96 crops, VGG54 content, 1e6 + 2e5 steps at lr "
         "1e-4; the paper's drop to 1e-5 is not modelled) on DIV2K; needs the VGG19 weights "
         "file; a GPU job"),
        {
            **_COMMON, "loss.objective": "srgan", "data.dataset": "div2k", "data.scale": 4,
            "data.crop_size": 96, "data.flip": True, "model.arch": "srresnet",
            "model.base_channels": 64, "model.g_blocks": 16, "model.init": "default",
            "loss.pretrain_steps": 1000000, "loss.adv_weight": 1e-3, "loss.content": "vgg19",
            "loss.feature_file": "vgg19-dcbb9e9d.pth", "train.batch_size": 16,
            "train.steps": 1200000, "g_opt.lr": 1e-4, "g_opt.beta1": 0.9, "d_opt.lr": 1e-4,
            "d_opt.beta1": 0.9, "train.sample_every": 10000, "train.checkpoint_every": 20000,
        },
    ),
}

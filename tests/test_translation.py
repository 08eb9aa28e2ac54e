"""The image-to-image objectives learn, resume exactly and translate as they previewed.

pix2pix must learn colour inversion on tiny paired images to a low held-out L1, CycleGAN the same
inversion from unpaired domains with its cycle error falling, and a short SRResNet pre-training
must beat bicubic up-scaling on held-out crops. Runs are tiny (16x16 images, a few hundred
steps) so the file stays within a minute or two of CPU time.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.config import from_dict
from ganforge.errors import ConfigError
from ganforge.metrics.restoration import psnr
from ganforge.presets import preset_config
from ganforge.runner import make_trainer, resume_trainer
from ganforge.sampling.translate import load_translator
from ganforge.training.checkpoint import find_checkpoint, load_state

FAST = {"train.threads": 1, "train.tick": 10, "train.sample_every": 1000,
        "train.checkpoint_every": 1000}


def _smooth_images(n: int, size: int, seed: int, channels: int = 3) -> np.ndarray:
    """n smooth random colour images [n, size, size, C] uint8: low-frequency noise, up-sampled."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, channels, 4, 4, generator=g)
    x = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _squares(n: int, size: int, seed: int) -> np.ndarray:
    """Dark images (level 0.15) with one bright square (0.85) of random place and size. Their
    inversions swap the two levels, so inversion is the one pointwise map between the domains
    (with random levels, any level-to-level bijection would match B's distribution as well)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 3, size, size), 0.15)
    for i in range(n):
        w = int(torch.randint(4, size // 2 + 1, (), generator=g))
        r, c = (int(v) for v in torch.randint(0, size - w + 1, (2,), generator=g))
        x[i, :, r : r + w, c : c + w] = 0.85
    return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _blocky_images(n: int, size: int, seed: int) -> np.ndarray:
    """Piecewise-constant colour images (4x4-pixel blocks): sharp edges that bicubic blurs."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, size // 4, size // 4, generator=g)
    x = F.interpolate(low, scale_factor=4, mode="nearest")
    return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _write(folder, images, prefix="im"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        Image.fromarray(im).save(folder / f"{prefix}{i:03d}.png")


@pytest.fixture(scope="module")
def inversion(tmp_path_factory):
    """Paired A/B folders (B = 255 - A) with train and test splits, and unpaired trainA/trainB."""
    root = tmp_path_factory.mktemp("inversion")
    for split, seed, n in (("train", 0, 96), ("test", 1, 16)):
        a = _smooth_images(n, 16, seed)
        _write(root / "paired" / split / "A", a)
        _write(root / "paired" / split / "B", 255 - a)
    # unrelated draws of dark images with a bright square, and of their inversions
    _write(root / "unpaired" / "trainA", _squares(96, 16, 2))
    _write(root / "unpaired" / "trainB", 255 - _squares(96, 16, 3), prefix="other")
    _write(root / "squares", _squares(16, 16, 6))
    _write(root / "hr" / "train", _blocky_images(24, 32, 4))
    _write(root / "hr" / "test", _blocky_images(8, 32, 5))
    return root


def _pix2pix_cfg(root, **ov):
    return preset_config("pix2pix-edges2mnist", {
        **FAST, "data.dataset": "paired", "data.data_dir": str(root / "paired"),
        "model.base_channels": 8, "model.d_layers": 1, "model.dropout": 0.0,
        "train.batch_size": 16, "train.steps": 300, "g_opt.lr": 2e-3, **ov})


def _cyclegan_cfg(root, **ov):
    return preset_config("cyclegan-digits2mnist", {
        **FAST, "data.dataset": "unpaired", "data.data_dir": str(root / "unpaired"),
        # a U-Net G (skip connections): the ResNet G of this size, with no skips, needs many
        # more steps to draw the squares' edges back in place
        "model.arch": "unet", "model.dropout": 0.0, "model.base_channels": 8,
        "model.d_layers": 1, "loss.identity_weight": 0.0, "train.batch_size": 8, "train.steps": 300,
        "g_opt.lr": 2e-3, **ov})


def _srgan_cfg(root, **ov):
    return preset_config("srgan-photos", {
        **FAST, "data.dataset": "superres", "data.data_dir": str(root / "hr" / "train"),
        "data.crop_size": 16, "data.scale": 2, "model.base_channels": 8, "model.g_blocks": 2,
        "loss.content": "mse", "loss.pretrain_steps": 250, "train.batch_size": 16,
        "train.steps": 300, "g_opt.lr": 1e-3, **ov})


def _read(folder):
    a = np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))])
    return torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1


def _test_pairs(root):
    return _read(root / "paired" / "test" / "A")


def _held_out_l1(run, a: torch.Tensor) -> float:
    tr = load_translator(run)
    out = torch.cat([tr(x[None]) for x in a])
    return float((out - (-a)).abs().mean())


def test_pix2pix_learns_inversion_to_a_low_held_out_l1(tmp_path, inversion):
    a = _test_pairs(inversion)
    before = float((a - (-a)).abs().mean())  # the identity's error, for scale
    make_trainer(_pix2pix_cfg(inversion), tmp_path / "p2p", quiet=True).fit()
    l1 = _held_out_l1(tmp_path / "p2p", a)
    assert l1 < 0.08 < before, (l1, before)


def test_cyclegan_learns_inversion_unpaired_and_its_cycle_error_falls(tmp_path, inversion):
    from ganforge.training.stats import read_jsonl

    make_trainer(_cyclegan_cfg(inversion), tmp_path / "cyc", quiet=True).fit()
    recs = read_jsonl(tmp_path / "cyc" / "log.jsonl")
    first, last = recs[0]["G/cycle_error"], recs[-1]["G/cycle_error"]
    assert last < 0.5 * first, (first, last)
    a = _read(inversion / "squares")
    l1 = _held_out_l1(tmp_path / "cyc", a)
    assert l1 < 0.15, l1  # never shown a pair, G still maps a to 255 - a
    back = load_translator(tmp_path / "cyc", direction="BtoA")
    assert float((torch.cat([back(-x[None]) for x in a]) - a).abs().mean()) < 0.15


def test_srresnet_pretraining_beats_bicubic_on_held_out_crops(tmp_path, inversion):
    cfg = _srgan_cfg(inversion, **{"loss.pretrain_steps": 600, "train.steps": 600})
    make_trainer(cfg, tmp_path / "sr", quiet=True).fit()
    from ganforge.data import load_dataset

    test = load_dataset("superres", data_dir=str(inversion / "hr" / "test"), crop_size=32,
                        scale=2).real_sample(8, seed=0)
    tr = load_translator(tmp_path / "sr")
    sr = torch.cat([tr(x[None]) for x in test.a])
    bicubic = F.interpolate(test.a, scale_factor=2, mode="bicubic", align_corners=False)
    p_sr = psnr(sr, test.x, border=2).mean()
    p_bi = psnr(bicubic.clamp(-1, 1), test.x, border=2).mean()
    assert p_sr > p_bi + 0.3, (float(p_sr), float(p_bi))


@pytest.mark.parametrize("which", ["pix2pix", "cyclegan", "srgan"])
def test_resume_is_bit_identical(tmp_path, inversion, which):
    make = {"pix2pix": _pix2pix_cfg, "cyclegan": _cyclegan_cfg, "srgan": _srgan_cfg}[which]
    ov = {"train.steps": 12, "train.checkpoint_every": 6, "train.tick": 3, "train.ema": 0.9}
    ov |= {"pix2pix": {"model.dropout": 0.5},  # dropout draws from the global stream
           "cyclegan": {"model.arch": "resnet", "model.g_blocks": 1},
           "srgan": {"loss.pretrain_steps": 4}}[which]  # the stage switch falls before the stop
    make_trainer(make(inversion, **ov), tmp_path / "a", quiet=True).fit()
    make_trainer(make(inversion, **{**ov, "train.steps": 6}), tmp_path / "b", quiet=True).fit()
    torch.manual_seed(99)
    resumed = resume_trainer(tmp_path / "b", overrides={"train.steps": 12}, quiet=True)
    resumed.fit(resumed=True)
    sa, sb = (load_state(find_checkpoint(tmp_path / r)) for r in "ab")
    for key in ("nets", "emas", "opts", "objective"):
        ta, tb = _tensors(sa[key]), _tensors(sb[key])
        assert ta.keys() == tb.keys()
        for k in ta:
            assert torch.equal(ta[k], tb[k]), f"{which}: {key}{k} differs after a resume"


def _tensors(obj, prefix=""):
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    out = {}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out |= _tensors(v, f"{prefix}/{k}")
    return out


def test_translate_gives_the_preview_output(tmp_path, inversion):
    cfg = _pix2pix_cfg(inversion, **{"train.steps": 20, "train.ema": 0.9, "model.dropout": 0.5})
    trainer = make_trainer(cfg, tmp_path / "run", quiet=True)
    trainer.fit()
    with torch.no_grad(), trainer.sampling() as nets:
        shown = trainer.objective.preview(nets, trainer.fixed)  # [N, 3, C, H, W]
    src = trainer.fixed.real.a
    folder = tmp_path / "inputs"
    folder.mkdir()
    for i, x in enumerate(src):
        u = ((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(u).save(folder / f"in{i}.png")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "ganforge", "translate", str(tmp_path / "run"),
                        "--input", str(folder), "--out", str(out)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    for i in range(len(src)):
        got = torch.from_numpy(np.array(Image.open(out / f"in{i}.png"))).permute(2, 0, 1)
        want = ((shown[i, 1] + 1) * 127.5).round().to(torch.uint8)
        assert torch.equal(got, want), i  # the same 8-bit picture, pixel for pixel


def test_a_crop_larger_than_an_image_is_a_one_line_error(tmp_path, inversion):
    r = subprocess.run([sys.executable, "-m", "ganforge", "train", "--preset",
                        "pix2pix-edges2mnist", "--dataset", "paired", "--data-dir",
                        str(inversion / "paired"), "--set", "data.crop_size=64", "--steps", "2",
                        "--out", str(tmp_path / "r"), "--quiet"], capture_output=True, text=True, check=False)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "64" in lines[0] and ".png" in lines[0], r.stderr


def test_sampling_an_image_to_image_run_points_to_translate(tmp_path, inversion):
    make_trainer(_pix2pix_cfg(inversion, **{"train.steps": 2}), tmp_path / "run", quiet=True).fit()
    r = subprocess.run([sys.executable, "-m", "ganforge", "sample", str(tmp_path / "run"),
                        "--out", str(tmp_path / "x.png")], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "ganforge translate" in r.stderr, r.stderr


def test_options_that_cannot_apply_are_refused():
    base = preset_config("pix2pix-edges2mnist").to_dict()
    with pytest.raises(ConfigError, match="train.diagnose"):
        from_dict({**base, "train": {**base["train"], "diagnose": True}})
    with pytest.raises(ConfigError, match="loss.cycle_weight"):
        preset_config("pix2pix-edges2mnist", {"loss.cycle_weight": 5})
    with pytest.raises(ConfigError, match="model.arch=unet"):
        preset_config("dcgan-mnist", {"model.arch": "unet"})
    with pytest.raises(ConfigError, match="model.dropout"):
        preset_config("dcgan-mnist", {"model.dropout": 0.1})
    with pytest.raises(ConfigError, match="feature_file"):
        preset_config("srgan-photos", {"loss.content": "vgg19"})


def test_class_conditional_cyclegan_ds_read_the_class_of_labelled_domains(tmp_path, inversion,
                                                                          mnist_dir):
    cond = {"model.conditional": True, "model.d_cond": "concat"}
    cfg = preset_config("cyclegan-digits2mnist", {
        **FAST, **cond, "data.data_dir": str(mnist_dir), "model.base_channels": 8,
        "model.d_layers": 1, "train.batch_size": 4, "train.steps": 4, "loss.r1_gamma": 0.1,
        "loss.r1_every": 2})
    trainer = make_trainer(cfg, tmp_path / "run", quiet=True)
    trainer.fit()
    a = trainer.fixed.real.a[:2]
    for d in ("DA", "DB"):
        conv = next(m for m in trainer.nets[d].modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.in_channels == 1 + 10  # the image and one plane per class
    planes = lambda c: F.one_hot(torch.tensor([c, c]), 10).float()[:, :, None, None].expand(
        -1, -1, *a.shape[-2:])
    with torch.no_grad():
        said_3, said_7 = (trainer.nets["DA"](torch.cat([planes(c), a], 1)) for c in (3, 7))
    assert (said_3 - said_7).abs().max() > 1e-4  # the class alone changes D's verdict
    with pytest.raises(ConfigError, match="model.conditional: data.dataset=unpaired"):
        make_trainer(_cyclegan_cfg(inversion, **cond, **{"train.steps": 1}), tmp_path / "u",
                     quiet=True)
    with pytest.raises(ConfigError, match="model.d_cond=projection"):
        preset_config("cyclegan-digits2mnist", {"model.conditional": True})
    with pytest.raises(ConfigError, match="model.conditional: not available"):
        preset_config("pix2pix-edges2mnist", cond)


def test_eval_of_a_translation_run_scores_its_held_out_pairs(tmp_path, inversion):
    make_trainer(_pix2pix_cfg(inversion, **{"train.steps": 30}), tmp_path / "run", quiet=True).fit()
    r = subprocess.run([sys.executable, "-m", "ganforge", "eval", str(tmp_path / "run"),
                        "--out", str(tmp_path / "e.json")], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    import json

    rep = json.loads((tmp_path / "e.json").read_text())
    a = _test_pairs(inversion)  # the test split: B = -A exactly
    tr = load_translator(tmp_path / "run")
    want = float((torch.cat([tr(x[None]) for x in a]) + a).abs().mean())
    assert rep["scores"]["l1"] == pytest.approx(want, abs=1e-6)
    assert {"psnr", "ssim"} <= rep["scores"].keys() and rep["protocol"]["split"] == "test"
    r = subprocess.run([sys.executable, "-m", "ganforge", "eval", str(tmp_path / "run"),
                        "--metrics", "fd"], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "--metrics" in r.stderr

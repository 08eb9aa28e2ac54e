"""The CIFAR-10 recipe (docs/cifar10.md): the presets hold R3GAN's numbers, the full-size nets build
for 32x32 RGB with 10 classes, and a shrunk copy trains a few steps in bf16 on CPU, on CIFAR-10's
pickle batches and on an image folder, with the 8-bit images fit for the device's uint8 path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from ganforge.data import load_dataset
from ganforge.data.device import DeviceDataset, as_levels
from ganforge.nets.r3gan import widths
from ganforge.objectives import build_objective
from ganforge.objectives.base import BuildContext
from ganforge.presets import preset_config
from ganforge.runner import make_trainer
from ganforge.training.checkpoint import find_checkpoint, load_state
from ganforge.training.optim import ema_decay, half_life, lr_factor

# a few steps of the recipe at a size a CPU runs in a second or two
SHRUNK = {"model.base_channels": 8, "model.g_depth": 1, "model.d_depth": 1,
          "train.batch_size": 8, "train.steps": 3, "train.tick": 3, "train.checkpoint_every": 3,
          "train.sample_every": 1000, "train.grid_size": 10, "train.diagnose": False,
          "train.threads": 1, "train.amp": "bf16"}


def _write_cifar(folder, n: int = 4) -> None:
    """CIFAR-10's python batches in miniature: n random uint8 images a batch, labels 0..9."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": [(i + j) % 10 for j in range(n)]}, f)


def _write_folder(root, classes: int = 10, per_class: int = 2) -> None:
    """An image folder with one subfolder a class (so it is labelled): 32x32 RGB PNGs."""
    from PIL import Image

    rng = np.random.default_rng(4)
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for j in range(per_class):
            arr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / f"class{c}" / f"{j}.png")


def test_the_preset_holds_r3gans_cifar10_settings():
    """brownvc/R3GAN train.py, preset CIFAR10, with the README's batch 512: cosine ramps over
    20 Mimg of lr 2e-4 -> 5e-5, beta2 0.9 -> 0.99, gamma 0.05 -> 0.005, EMA half-life -> 5 Mimg."""
    c = preset_config("rpgan-cifar10")
    t = c.train
    assert (c.data.dataset, c.model.arch, c.loss.objective, c.model.conditional) == \
        ("cifar10", "r3gan", "rpgan", True)
    assert (c.model.z_dim, c.model.z_dist, c.model.g_depth, c.model.d_depth) == (64, "normal", 2, 2)
    assert t.batch_size == 512 and t.steps * t.batch_size == pytest.approx(20e6, rel=1e-4)
    assert (t.lr_schedule, t.amp, t.reuse) == ("cosine", "bf16", False)
    for o in (c.g_opt, c.d_opt):
        assert (o.name, o.beta1, o.beta2, o.beta2_final) == ("adam", 0.0, 0.9, 0.99)
        assert o.lr * lr_factor(t.lr_schedule, t.steps, t.steps, t.lr_final) == pytest.approx(5e-5)
    assert (c.loss.r1_gamma, c.loss.gamma_final, c.loss.r1_every) == (0.05, 0.005, 1)
    assert half_life(ema_decay(t, t.steps)) * t.batch_size == pytest.approx(5e6, rel=1e-3)
    assert half_life(ema_decay(t, 0)) == pytest.approx(1.0)  # R3GAN starts at 0: no averaging
    small = preset_config("rpgan-cifar10-small")
    assert small.train.amp == "off" and small.model.base_channels < c.model.base_channels
    # the ramps keep their proportions: the final EMA half-life is a quarter of each run
    for p in (c, small):
        assert half_life(p.train.ema_final) / p.train.steps == pytest.approx(0.25, rel=1e-3)


def test_the_full_size_nets_build_for_32px_rgb_with_ten_classes(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py", n=1)
    cfg = preset_config("rpgan-cifar10", {"data.data_dir": str(tmp_path), "data.download": False})
    data = load_dataset("cifar10", data_dir=str(tmp_path), download=False)
    torch.manual_seed(0)
    nets = build_objective(cfg).build_nets(BuildContext(cfg, data, data.spec))
    g, d = nets["G"], nets["D"]
    assert widths(cfg.model.base_channels, 3) == [1024, 1024, 512, 256]
    for net in (g, d):
        n = sum(p.numel() for p in net.parameters())
        assert 20e6 < n < 23e6, n  # R3GAN's CIFAR-10 nets: about 21M parameters each
    y = torch.arange(2)
    with torch.no_grad():
        x = g(torch.randn(2, 64), y)
        assert x.shape == (2, 3, 32, 32) and x.abs().max() <= 1
        assert d.eval()(x, y).shape == (2,)


@pytest.mark.parametrize("source", ["cifar10", "folder"])
def test_a_shrunk_copy_trains_in_bf16_and_keeps_8bit_data(tmp_path, source):
    if source == "cifar10":
        _write_cifar(tmp_path / "data" / "cifar-10-batches-py")
        data = {"data.data_dir": str(tmp_path / "data"), "data.download": False}
    else:
        _write_folder(tmp_path / "data")
        data = {"data.dataset": "folder", "data.data_dir": str(tmp_path / "data"),
                "data.image_size": 32, "data.channels": 3}
    cfg = preset_config("rpgan-cifar10", {**SHRUNK, **data})
    trainer = make_trainer(cfg, tmp_path / "run", quiet=True, log=lambda *a: None)
    assert trainer.spec.shape == (3, 32, 32) and trainer.spec.num_classes == 10
    seen = []  # D's convolutions (its logit is float32: the label projection adds float32)
    for m in trainer.nets["D"].modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    summary = trainer.fit()

    assert seen and set(seen) == {torch.bfloat16}  # D ran under bf16 autocast
    terms = {k: v for k, v in summary["last"].items() if k.split("/")[0] in ("D", "G")}
    assert {"D/adv", "D/r1", "D/r2", "G/adv"} <= terms.keys(), terms.keys()
    assert all(np.isfinite(v) for v in terms.values()), terms
    state = load_state(find_checkpoint(tmp_path / "run"))
    assert state["config"]["train"]["amp"] == "bf16" and state["scaler"] is None  # bf16: no scaler
    for name, sd in (*state["nets"].items(), *state["emas"].items()):
        for k, w in sd.items():
            if w.is_floating_point():
                assert w.dtype == torch.float32 and torch.isfinite(w).all(), f"{name}.{k}"

    # the images are exactly 8-bit, so on a GPU they stay on the device as uint8 and every batch
    # is the host's to the bit (DeviceDataset, shown here on the CPU)
    assert as_levels(trainer.data.x) is not None
    dev = DeviceDataset(trainer.data, torch.device("cpu"))
    assert dev.uint8 and dev.x.dtype == torch.uint8
    a = dev.sample(6, torch.Generator().manual_seed(1))
    b = trainer.data.sample(6, torch.Generator().manual_seed(1))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)

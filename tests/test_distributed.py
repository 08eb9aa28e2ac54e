"""torchrun with 2 CPU processes (gloo): same command, rank 0 writes, ranks stay identical."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

from ganforge.training.checkpoint import find_checkpoint, load_state
from ganforge.training.stats import read_jsonl

from .conftest import TINY


@pytest.mark.slow
def test_torchrun_two_processes_train_and_resume(tmp_path):
    if shutil.which("torchrun") is None and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "torchrun")):
        pytest.skip("torchrun not installed")
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    sets = [f"--set={k}={v}" for k, v in TINY.items()]
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "ganforge"]
    res = subprocess.run([*base, "train", "--preset", "ring8", "--steps", "40", "--out", str(run),
                          "--quiet", *sets], env=env, capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("run folder:") == 1  # only rank 0 reports and writes
    state = load_state(find_checkpoint(run))
    assert state["step"] == 40 and len(state["rng"]["data"]) == 2
    # each rank drew its own stream: the two ranks' data generators ended in different states
    assert not torch.equal(state["rng"]["data"][0], state["rng"]["data"][1])
    assert [r["step"] for r in read_jsonl(run / "log.jsonl")] == [10, 20, 30, 40]
    # resuming under torchrun continues the run; the in-sync check at each checkpoint passed
    res = subprocess.run([*base, "train", "--resume", str(run), "--steps", "60", "--quiet"],
                         env=env, capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert load_state(find_checkpoint(run))["step"] == 60


@pytest.mark.slow
def test_torchrun_trains_an_image_to_image_objective_with_ranks_in_sync(tmp_path):
    """CycleGAN (four networks, an image pool per rank) under torchrun: the networks stay
    identical across ranks (checked at every checkpoint) and the run resumes."""
    from .conftest import SHARED_MNIST

    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("MNIST test split not on hand")
    run = tmp_path / "ddp-cyc"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "ganforge", "train"]
    sets = ["--set=model.base_channels=8", "--set=train.checkpoint_every=10", "--set=train.tick=5"]
    res = subprocess.run([*base, "--preset", "cyclegan-digits2mnist", "--data-dir",
                          str(SHARED_MNIST), "--steps", "20", "--out", str(run), "--quiet", *sets],
                         env=env, capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    res = subprocess.run([*base, "--resume", str(run), "--steps", "30", "--quiet"], env=env,
                         capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    state = load_state(find_checkpoint(run))
    assert state["step"] == 30 and set(state["nets"]) == {"G", "F", "DA", "DB"}


@pytest.mark.slow
def test_torchrun_trains_the_modern_baseline_with_augmentation_and_ada(tmp_path):
    """RpGAN on r3gan nets with DiffAugment, and a GAN with ADA, under torchrun: the ranks stay
    identical (D's augmentation strength p included; checked at every checkpoint), each rank
    augments its own images, and the run resumes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "ganforge", "train"]
    small = ["--set=data.dataset=digits", "--set=train.checkpoint_every=10", "--set=train.tick=5",
             "--set=train.batch_size=16", "--set=model.augment=color,translation,cutout"]
    run = tmp_path / "ddp-rp"
    res = subprocess.run([*base, "--preset", "rpgan-mnist", "--steps", "20", "--out", str(run),
                          "--quiet", *small, "--set=model.augment_p=0.5"], env=env,
                         capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    res = subprocess.run([*base, "--resume", str(run), "--steps", "30", "--quiet"], env=env,
                         capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert load_state(find_checkpoint(run))["step"] == 30
    run = tmp_path / "ddp-ada"
    res = subprocess.run([*base, "--preset", "digits", "--steps", "20", "--out", str(run),
                          "--quiet", *small, "--set=model.augment_p=0", "--set=train.ada_target=0.1",
                          "--set=train.ada_kimg=1", "--set=model.base_channels=16"], env=env,
                         capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    p = [r["aug/p"] for r in read_jsonl(run / "log.jsonl") if "aug/p" in r]
    assert len(p) == 4 and p[-1] > 0, p  # D separates 8x8 digits early: p rises
    assert float(load_state(find_checkpoint(run))["nets"]["D"]["p"]) == pytest.approx(p[-1])

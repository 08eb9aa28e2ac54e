"""Trainer behaviour: phases freeze the other network, runs write their files, resumes are exact."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ganforge import load_generator
from ganforge.errors import CheckpointError
from ganforge.presets import preset_config
from ganforge.runner import make_trainer, resume_trainer
from ganforge.training.checkpoint import find_checkpoint, load_state
from ganforge.training.optim import lr_factor
from ganforge.training.stats import read_jsonl
from ganforge.training.trainer import Trainer

from .conftest import TINY


def _cfg(preset="ring8", **extra):
    return preset_config(preset, {**TINY, **extra})


def _weights(trainer_or_state):
    if isinstance(trainer_or_state, Trainer):
        t = trainer_or_state
        out = {f"{k}.{n}": p for k, net in t.nets.items() for n, p in net.state_dict().items()}
        for k, opt in t.opts.items():
            for i, s in opt.state_dict()["state"].items():
                out |= {f"opt.{k}.{i}.{n}": v for n, v in s.items()}
        return out
    st = trainer_or_state
    out = {f"{k}.{n}": p for k, sd in st["nets"].items() for n, p in sd.items()}
    for k, opt in st["opts"].items():
        for i, s in opt["state"].items():
            out |= {f"opt.{k}.{i}.{n}": v for n, v in s.items()}
    return out


def _assert_identical(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k, v in a.items():
        assert torch.equal(v, b[k]), f"{k} differs"


def test_d_phase_leaves_g_untouched_and_g_phase_leaves_d_untouched(tmp_path):
    t = make_trainer(_cfg(), tmp_path / "run", quiet=True)
    g0 = {k: v.clone() for k, v in t.nets["G"].state_dict().items()}
    d0 = {k: v.clone() for k, v in t.nets["D"].state_dict().items()}
    t.objective.phases = tuple(p for p in t.objective.phases if p.name == "D")
    t.train_step()
    assert all(torch.equal(g0[k], v) for k, v in t.nets["G"].state_dict().items())
    assert any(not torch.equal(d0[k], v) for k, v in t.nets["D"].state_dict().items())
    t2 = make_trainer(_cfg(), tmp_path / "run2", quiet=True)
    t2.objective.phases = tuple(p for p in t2.objective.phases if p.name == "G")
    t2.train_step()
    assert all(torch.equal(d0[k], v) for k, v in t2.nets["D"].state_dict().items())
    assert all(p.grad is None for p in t2.nets["D"].parameters()), "frozen D accumulated grads"


def test_k_d_steps_update_d_k_times_per_step(tmp_path):
    t = make_trainer(_cfg(**{"train.d_steps": 3}), tmp_path / "run", quiet=True)
    t.train_step()
    d_state = t.opts["D"].state_dict()["state"][0]["step"].item()
    g_state = t.opts["G"].state_dict()["state"][0]["step"].item()
    assert (d_state, g_state) == (3, 1)


def test_run_folder_has_config_log_tensorboard_samples_animation(tmp_path):
    run = tmp_path / "run"
    summary = make_trainer(_cfg(**{"train.steps": 40}), run, quiet=True).fit()
    assert (run / "config.json").is_file() and (run / "samples.png").is_file()
    assert (run / "training.gif").is_file() and summary["animation"]
    assert list((run / "tb").glob("events.out.tfevents.*"))
    recs = read_jsonl(run / "log.jsonl")
    assert [r["step"] for r in recs] == [10, 20, 30, 40]
    assert {"D/real", "D/fake", "D/r1", "G/adv", "D/p_real"} <= recs[-1].keys()
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "step-00000000.png", "step-00000020.png", "step-00000040.png"]


def test_resume_is_bit_identical_with_ema_and_k_steps(tmp_path):
    extra = {"train.ema": 0.9, "train.d_steps": 2, "loss.label_smoothing": 0.1}
    full = make_trainer(_cfg(**extra, **{"train.steps": 60}), tmp_path / "full", quiet=True)
    full.fit()
    half = make_trainer(_cfg(**extra, **{"train.steps": 20}), tmp_path / "half", quiet=True)
    half.fit()
    resumed = resume_trainer(tmp_path / "half", overrides={"train.steps": 60}, quiet=True)
    assert resumed.step == 20
    resumed.fit(resumed=True)
    _assert_identical(_weights(full), _weights(resumed))
    for a, b in zip(full.ema["G"].state_dict().values(), resumed.ema["G"].state_dict().values()):
        assert torch.equal(a, b)
    # the log continues where the checkpoint was, without duplicates
    assert [r["step"] for r in read_jsonl(tmp_path / "half" / "log.jsonl")] == [10, 20, 30, 40, 50, 60]


def test_lr_schedules_reach_their_final_fraction():
    assert [lr_factor("constant", s, 100, 0.0) for s in (0, 50, 100)] == [1.0, 1.0, 1.0]
    assert [lr_factor("linear", s, 100, 0.1) for s in (0, 50, 100)] == pytest.approx([1, 0.55, 0.1])
    assert [lr_factor("cosine", s, 100, 0.0) for s in (0, 50, 100)] == pytest.approx([1, 0.5, 0])


def test_a_scheduled_run_stopped_and_resumed_matches_an_uninterrupted_one(tmp_path):
    extra = {"train.lr_schedule": "linear", "train.lr_final": 0.1, "train.steps": 60}
    full = make_trainer(_cfg(**extra), tmp_path / "full", quiet=True)
    full.fit()
    assert full.opts["G"].param_groups[0]["lr"] == pytest.approx(full.cfg.g_opt.lr * (0.1 + 0.9 / 60))
    half = make_trainer(_cfg(**extra), tmp_path / "half", quiet=True)
    half.callbacks.append(lambda t, rec: t.request_stop("test") or {} if t.step == 20 else {})
    half.fit()
    assert half.step == 20
    resumed = resume_trainer(tmp_path / "half", quiet=True)
    resumed.fit(resumed=True)
    _assert_identical(_weights(full), _weights(resumed))


def _train_cmd(run, steps, *more):
    sets = [f"--set={k}={v}" for k, v in {**TINY, "train.checkpoint_every": 50}.items()]
    return [sys.executable, "-m", "ganforge", "train", "--preset", "ring8", "--steps", str(steps),
            "--out", str(run), "--quiet", *sets, *more]


def test_sigkill_mid_training_then_resume_matches_uninterrupted(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    steps = 800
    ref = subprocess.run(
        _train_cmd(tmp_path / "ref", steps), env=env, capture_output=True, text=True, check=False
    )
    assert ref.returncode == 0, ref.stderr
    run = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(run, steps), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    latest = run / "checkpoints" / "latest"
    deadline = time.time() + 120
    while time.time() < deadline:
        if latest.is_file() and latest.read_text().strip() >= "step-00000200":
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_state(find_checkpoint(run))["step"]
    assert 0 < killed_at < steps, "the run finished before it could be killed"
    res = subprocess.run([sys.executable, "-m", "ganforge", "train", "--resume", str(run), "--quiet"],
                         env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert f"at step {killed_at}" in res.stdout
    _assert_identical(_weights(load_state(find_checkpoint(tmp_path / "ref"))),
                      _weights(load_state(find_checkpoint(run))))


def test_checkpoint_survives_a_stray_partial_file(tmp_path):
    run = tmp_path / "run"
    make_trainer(_cfg(**{"train.steps": 20}), run, quiet=True).fit()
    (run / "checkpoints" / "step-00000040.safetensors.tmp").write_bytes(b"half a file")
    assert find_checkpoint(run).name == "step-00000020.safetensors"
    bad = run / "checkpoints" / "step-00000020.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="step-00000020"):
        resume_trainer(run, quiet=True)


def test_load_generator_samples_without_trainer(tmp_path):
    run = tmp_path / "run"
    t = make_trainer(_cfg(**{"train.steps": 20, "train.ema": 0.5}), run, quiet=True)
    t.fit()
    g = load_generator(run)
    x = g.sample(100, seed=3)
    assert x.shape == (100, 2) and torch.equal(x, g.sample(100, seed=3))
    with torch.no_grad():
        z = g.prior(5, torch.Generator().manual_seed(0))
        assert torch.equal(g(z), t.ema["G"].eval()(z))
    raw = load_generator(run, ema=False)
    assert not torch.equal(raw.sample(10), g.sample(10))


def test_dcgan_trains_on_mnist_shapes(tmp_path, mnist_dir):
    cfg = preset_config("dcgan-mnist", {
        "data.data_dir": str(mnist_dir), "model.base_channels": 8, "train.steps": 3,
        "train.batch_size": 8, "train.grid_size": 16, "train.threads": 1})
    with pytest.warns(UserWarning, match="no train split in .*; using the test split instead"):
        summary = make_trainer(cfg, tmp_path / "run", quiet=True).fit()
    assert summary["step"] == 3
    x = load_generator(tmp_path / "run").sample(4)
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1

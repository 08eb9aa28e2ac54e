"""Runs that never lose work or lie: divergence, signals, one writer, resume faults, bad config.

One test per fault a user met (README, "Faults"); each failed before its fix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganforge.cli import main
from ganforge.presets import preset_config
from ganforge.runner import callbacks_for, make_trainer
from ganforge.training.checkpoint import (
    checkpoints_newest_first,
    finite_state,
    load_state,
    upgrade_state,
)
from ganforge.training.health import TrainingDiverged
from ganforge.training.trainer import Trainer

from .conftest import TINY

RING = ["--preset", "ring8", "--quiet", "--set", "train.threads=1", "--set", "model.g_hidden=32",
        "--set", "model.d_hidden=32"]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganforge: error: ") and "Traceback" not in err[0], err
    return err[0]


def _cfg(**extra):
    return preset_config("ring8", {**TINY, "train.steps": 60, "train.diagnose": False, **extra})


def _poison_at(step: int):
    """A callback factory that sets one of G's weights to NaN at the tick of `step`, once."""

    def make(trainer):
        done = []

        def cb(tr, rec):
            if tr.step == step and not done:
                done.append(1)
                with torch.no_grad():
                    next(tr.nets["G"].parameters()).view(-1)[0] = float("nan")

        return cb

    return make


def _all_checkpoints_finite(run: Path) -> bool:
    return all(finite_state(upgrade_state(load_state(p))) for p in checkpoints_newest_first(run))


def test_a_nan_is_caught_and_never_checkpointed_and_the_last_good_one_stays_latest(tmp_path):
    cfg = _cfg(**{"train.checkpoint_every": 10, "train.tick": 20})
    t = Trainer(cfg, tmp_path, quiet=True, callbacks=[_poison_at(20)])
    # poisoned at the tick of step 20, caught before that step's checkpoint is written
    with pytest.raises(TrainingDiverged,
                       match="step 20: G weights not finite; last good checkpoint: .*step-00000010"):
        t.fit()
    assert checkpoints_newest_first(tmp_path)[0].name == "step-00000010.safetensors"
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "step-00000010.safetensors"
    assert _all_checkpoints_finite(tmp_path)


def test_rollback_resumes_from_the_last_good_checkpoint_with_lower_learning_rates(tmp_path):
    cfg = _cfg(**{"train.checkpoint_every": 10, "train.tick": 10, "train.on_divergence": "rollback"})
    lines = []
    t = Trainer(cfg, tmp_path, quiet=True, log=lines.append,
                callbacks=[_poison_at(30)])
    summary = t.fit()
    assert summary["step"] == 60 and t.rollbacks == 1
    assert any("rolled back to step 20" in ln and "x0.5" in ln for ln in lines), lines
    lr = t.opts["G"].param_groups[0]["lr"]
    assert lr == pytest.approx(0.5 * cfg.g_opt.lr)
    assert _all_checkpoints_finite(tmp_path)


def test_exploding_but_finite_losses_stop_the_run_with_a_nonzero_exit(tmp_path, capsys):
    # the digits DCGAN at lr 1e6: losses of ~1e13 and samples of stripes, without one NaN
    code = main(["train", "--quiet", "--steps", "300", "--out", str(tmp_path / "r"),
                 "--set", "model.base_channels=8", "--set", "train.threads=1",
                 "--set", "g_opt.lr=1e6", "--set", "d_opt.lr=1e6"])
    assert code == 1
    line = _one_line_error(capsys)
    assert "training diverged at step" in line and "train.max_loss" in line


def test_d_saturated_for_a_window_of_ticks_is_divergence():
    from ganforge.training.health import HealthCheck, TrainingDiverged

    h = HealthCheck(1e6, 3)
    ok = {"D/p_real": 0.9, "D/p_fake": 0.1}
    sat = {"D/p_real": 0.9999, "D/p_fake": 0.00001}
    h.check(sat, 1)
    h.check(sat, 2)
    h.check(ok, 3)  # the streak breaks
    h.check(sat, 4)
    h.check(sat, 5)
    with pytest.raises(TrainingDiverged, match="D saturated"):
        h.check(sat, 6)


def _start(args, tmp_path, name="p"):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with open(out, "w") as fo, open(err, "w") as fe:  # the child keeps its own descriptors
        p = subprocess.Popen([sys.executable, "-m", "ganforge", *args], stdout=fo, stderr=fe,
                             env=env)
    return p, out, err


def _wait_for(path: Path, timeout: float = 120) -> None:
    end = time.time() + timeout
    while not path.exists():
        assert time.time() < end, f"{path} never appeared"
        time.sleep(0.2)


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_saves_a_checkpoint_and_exits_nonzero_with_the_resume_line(tmp_path, sig, code):
    run = tmp_path / "run"
    p, out, err = _start(["train", *RING, "--steps", "1000000", "--out", str(run),
                          "--set", "train.checkpoint_every=1000000"], tmp_path)
    _wait_for(run / "log.jsonl")
    p.send_signal(sig)
    assert p.wait(timeout=120) == code, err.read_text()
    text = out.read_text()
    assert f"continue with: ganforge train --resume {run}" in text
    step = int(text.split("interrupted at step ")[1].split(":")[0])
    assert (run / "checkpoints" / f"step-{step:08d}.safetensors").is_file()
    assert "Traceback" not in err.read_text()


def test_a_second_writer_is_refused_and_a_killed_writer_frees_the_folder(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *RING, "--steps", "20", "--out", str(run)]) == 0
    p, _, _ = _start(["train", "--resume", str(run), "--steps", "1000000", "--quiet"], tmp_path)
    _wait_for(run / ".lock")
    deadline = time.time() + 60
    while str(p.pid) not in (run / ".lock").read_text():
        assert time.time() < deadline
        time.sleep(0.2)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    assert f"another ganforge process (pid {p.pid})" in _one_line_error(capsys)
    p.kill()  # SIGKILL: the OS drops the lock with the process
    p.wait()
    assert main(["train", "--resume", str(run), "--steps", "30", "--quiet"]) == 0


def test_a_truncated_latest_checkpoint_falls_back_to_the_intact_one_and_says_so(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *RING, "--steps", "40", "--out", str(run),
                 "--set", "train.checkpoint_every=20"]) == 0
    latest = run / "checkpoints" / "step-00000040.safetensors"
    latest.write_bytes(latest.read_bytes()[:1000])
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "60"]) == 0
    out = capsys.readouterr().out
    assert "step-00000040.safetensors" in out and "resuming from step-00000020.safetensors" in out


def test_an_edited_config_is_honoured_for_resumable_keys_and_refused_for_others(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *RING, "--steps", "20", "--out", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["steps"] = 30
    (run / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "honouring the edited train.steps" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 30
    cfg["model"]["g_hidden"] = 64
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    assert "model.g_hidden changed (32 -> 64)" in _one_line_error(capsys)
    cfg["model"]["g_hidden"] = 32
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "--resume", str(run), "--set", "train.batch_size=8"]) == 2
    assert "train.batch_size changed" in _one_line_error(capsys)


@pytest.mark.parametrize(
    "setting,needle",
    [
        ("train.device=tpu", "train.device: unknown 'tpu'"),
        ("train.threads=-4", "train.threads: must be >= 0"),
        ("g_opt.beta1=5", "g_opt.beta1: must be in [0, 1)"),
        ("d_opt.lr=inf", "d_opt.lr: must be positive and finite"),
        ("train.on_divergence=retry", "choose from stop, rollback"),
    ],
)
def test_bad_values_are_refused_before_anything_runs_even_on_dry_run(tmp_path, capsys, setting,
                                                                    needle):
    assert main(["train", "--dry-run", "--set", setting]) == 2
    assert needle in _one_line_error(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a build without CUDA")
def test_cuda_on_a_cpu_build_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", *RING, "--out", str(tmp_path / "r"), "--set", "train.device=cuda"]) == 2
    assert "sees no CUDA device" in _one_line_error(capsys)
    assert not (tmp_path / "r").exists()


def test_a_closed_stdout_is_a_one_line_error_not_a_traceback(tmp_path):
    """`ganforge ... | head -1`: the reader goes away while ganforge still writes."""
    p = subprocess.Popen([sys.executable, "-m", "ganforge", "presets"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the first line
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 2
    assert err.strip() == "ganforge: error: standard output was closed before the command finished"


def test_default_threads_are_one_for_small_nets_here_and_the_header_says_why(tmp_path):
    from ganforge.training.distributed import SMALL_NETS, auto_threads

    lines = []
    cfg = preset_config("ring8", {**TINY, "train.threads": 0, "train.steps": 1,
                                  "train.diagnose": False})
    t = Trainer(cfg, tmp_path, log=lines.append, callbacks=callbacks_for(cfg))
    t.fit()
    assert t.threads == 1 and torch.get_num_threads() == 1
    assert "1 thread (auto:" in lines[0], lines
    assert auto_threads(SMALL_NETS - 1, torch.device("cpu"))[0] == 1


def test_warnings_print_once_as_one_line(tmp_path, capsys, mnist_dir):
    out = tmp_path / "r"
    code = main(["train", "--preset", "dcgan-mnist", "--data-dir", str(mnist_dir), "--quiet",
                 "--steps", "2", "--out", str(out), "--set", "model.base_channels=8",
                 "--set", "train.batch_size=8", "--set", "train.grid_size=4",
                 "--set", "train.diagnose=false"])
    assert code == 0
    warn = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(warn) == 1 and warn[0].startswith("ganforge: warning: mnist: no train split in"), warn


def test_make_trainer_needs_no_lock_until_fit(tmp_path):
    a = make_trainer(_cfg(), tmp_path, quiet=True)
    b = make_trainer(_cfg(), tmp_path, quiet=True)
    a.fit()  # the first writer finishes and releases the folder
    assert b.fit(resumed=False)["step"] == 60

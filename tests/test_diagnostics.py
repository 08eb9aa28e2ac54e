"""Live diagnostics fire when they should and stay quiet when they should not; `ganforge diagnose`
summarises a run. Short ring8 runs: a collapsing vanilla GAN, a saturating G against a strong D,
and a healthy run with R1."""

import json

import pytest
import torch

from ganforge.cli import main
from ganforge.diagnostics.live import oscillates
from ganforge.diagnostics.report import diagnose_run
from ganforge.presets import preset_config
from ganforge.runner import make_trainer, resume_trainer
from ganforge.training.stats import read_jsonl

from .conftest import TINY

FAST = {"train.threads": 1, "train.sample_every": 10**6, "train.checkpoint_every": 10**6}


def _run(tmp_path, preset, **ov):
    lines: list[str] = []
    t = make_trainer(preset_config(preset, {**FAST, **ov}), tmp_path, quiet=True, log=lines.append)
    t.fit()
    events = read_jsonl(tmp_path / "events.jsonl") if (tmp_path / "events.jsonl").is_file() else []
    warned = {e["condition"] for e in events if e["event"] == "warning"}
    return t, lines, events, warned


@pytest.mark.slow
def test_a_healthy_ring8_run_raises_no_warning_and_diagnose_reports_it(tmp_path):
    _t, lines, events, warned = _run(
        tmp_path, "ring8", **{"train.steps": 1000, "train.tick": 100, "train.batch_size": 128}
    )
    assert warned == set(), events
    assert not [ln for ln in lines if ln.startswith("warning")]
    recs = read_jsonl(tmp_path / "log.jsonl")
    last = recs[-1]
    assert last["diag/warnings"] == [] and last["diag/modes_live"] == 8
    assert last["diag/grad/G"] > 0 and any(k.startswith("diag/grad/D/") for k in last)
    assert 0.3 < last["diag/p_real"] < 0.7 and 0.3 < last["diag/p_fake"] < 0.7
    assert sum(last["diag/mode_hist"]) == 1000
    assert main(["diagnose", str(tmp_path)]) == 0
    out = tmp_path / "diagnosis"
    for name in ("report.md", "grad_norms.png", "modes.png", "balance.png"):
        assert (out / name).stat().st_size > 0
    assert "no condition was detected" in (out / "report.md").read_text()


@pytest.mark.slow
def test_a_collapsing_gan_raises_the_collapse_warning(tmp_path):
    _t, lines, events, warned = _run(
        tmp_path, "ring8-vanilla", **{"train.steps": 600, "train.tick": 50, "train.batch_size": 128}
    )
    assert "collapse" in warned, events
    assert "vanishing_gradients" not in warned
    ev = next(e for e in events if e["condition"] == "collapse")
    assert ev["evidence"]["diag/modes_live"] < 8 and "model.pack" in ev["remedies"]
    assert ev["step"] >= 0.2 * 600  # not during the warm-up
    assert any(ln.startswith("warning") and "collapse" in ln for ln in lines)
    report = diagnose_run(tmp_path)["report"]
    assert "**collapse**" in report


def _strong_d(tmp_path, g_loss):
    return _run(
        tmp_path,
        "ring8-vanilla",
        **{
            "train.steps": 150,
            "train.tick": 25,
            "loss.g_loss": g_loss,
            "train.d_steps": 4,
            "g_opt.lr": 1e-4,
            "d_opt.lr": 3e-3,
        },
    )


@pytest.mark.slow
def test_the_saturating_loss_against_a_strong_d_raises_vanishing_gradients(tmp_path):
    _, _lines, events, warned = _strong_d(tmp_path / "sat", "saturating")
    assert "vanishing_gradients" in warned, events
    ev = next(e for e in events if e["condition"] == "vanishing_gradients")
    assert ev["evidence"]["diag/g_dead"] >= 0.5 and "nonsaturating" in ev["remedies"]
    # same D, non-saturating loss: G still gets a gradient (D may still overpower it)
    _, _, events, warned = _strong_d(tmp_path / "nonsat", "nonsaturating")
    assert "vanishing_gradients" not in warned, events


def test_diagnostics_leave_training_bit_identical(tmp_path):
    runs = []
    for diag in (True, False):
        cfg = preset_config(
            "ring8",
            {**TINY, "train.steps": 40, "train.diagnose": diag, "model.spectral_norm": True},
        )
        t = make_trainer(cfg, tmp_path / str(diag), quiet=True)
        t.fit()
        runs.append(
            {f"{k}.{n}": v for k, net in t.nets.items() for n, v in net.state_dict().items()}
        )
    assert runs[0].keys() == runs[1].keys()
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    recs = read_jsonl(tmp_path / "True" / "log.jsonl")
    assert (
        "diag/grad/G" in recs[-1]
        and "diag/grad/G" not in read_jsonl(tmp_path / "False" / "log.jsonl")[-1]
    )


def test_events_past_the_checkpoint_are_dropped_on_resume(tmp_path):
    cfg = preset_config("ring8", {**TINY, "train.steps": 40})
    make_trainer(cfg, tmp_path, quiet=True).fit()
    with open(tmp_path / "events.jsonl", "a") as f:  # as if a killed run had warned at step 35
        f.write(json.dumps({"step": 20, "event": "warning", "condition": "x-kept"}) + "\n")
        f.write(json.dumps({"step": 35, "event": "warning", "condition": "x-dropped"}) + "\n")
    (tmp_path / "checkpoints" / "latest").write_text("step-00000020.safetensors\n")
    t = resume_trainer(tmp_path, quiet=True)
    t.fit(resumed=True)
    kept = read_jsonl(tmp_path / "events.jsonl")
    assert [e["condition"] for e in kept if e["condition"].startswith("x-")] == ["x-kept"]


def test_oscillation_detector():
    swing = [1.0, 2.0, 1.0, 2.1, 0.9, 2.0, 1.0, 2.0]
    assert oscillates(swing)
    assert not oscillates([2.0 - 0.1 * i for i in range(8)])  # a steady decrease
    assert not oscillates([1.0, 1.02, 0.99, 1.01, 0.98, 1.02, 1.0, 1.01])  # small noise
    assert not oscillates(swing[:3])  # too short to tell


def test_diagnose_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "log.jsonl" in capsys.readouterr().err


def test_mode_hopping_needs_a_changing_dominant_mode(tmp_path):
    from ganforge.diagnostics.live import Diagnostics

    t = make_trainer(preset_config("ring8", {**TINY, "train.steps": 100}), tmp_path, quiet=True)
    diag = Diagnostics(t)
    v = {"diag/grad/G": 1.0, "diag/modes_live": 8, "diag/dominant_share": 0.2, "diag/mode_kl": 0.0}
    v |= {"diag/diversity": 1.0, "diag/duplicates": 0.0}
    diag.dominant.extend([(3, 0.9), (4, 0.8), (3, 0.9), (5, 0.7)])
    assert "mode_hopping" in diag._conditions(100, 100, v, {}, True)
    diag.dominant.extend([(5, 0.9), (5, 0.8), (5, 0.9), (5, 0.7)])  # collapsed, not hopping
    assert "mode_hopping" not in diag._conditions(100, 100, v, {}, True)
    diag.dominant.extend([(1, 0.2), (2, 0.2), (3, 0.2), (4, 0.2)])  # spread: the healthy case
    assert "mode_hopping" not in diag._conditions(100, 100, v, {}, True)

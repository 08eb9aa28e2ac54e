"""The benchmarks' own helpers: a stopped run is never scored, and budgets carry over in steps."""

import importlib.util
from pathlib import Path

import pytest


def _load(name: str):
    """A module of benchmarks/ by its path (benchmarks/ is not a package, nor on sys.path)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fit_to_end = _load("fit_guard").fit_to_end
budget_table = _load("step_cost").budget_table


class _Trainer:
    run_dir, step = "/tmp/run", 7

    def __init__(self, signal):
        self.signal = signal

    def fit(self):
        return {"step": self.step, "signal": self.signal}


def test_a_run_stopped_by_a_signal_stops_the_benchmark_with_the_clis_exit_code(capsys):
    with pytest.raises(SystemExit) as e:
        fit_to_end(_Trainer(15))
    assert e.value.code == 143
    assert "stopped by signal 15 at step 7" in capsys.readouterr().err
    assert fit_to_end(_Trainer(None))["step"] == 7


def test_the_budget_table_gives_each_config_the_references_cpu():
    # reference: 2 s set-up + 0.1 s x 100 steps = 12 s; the other: (12 - 4) / 0.2 = 40 steps
    md = budget_table({"ref": (2.0, 0.1), "other": (4.0, 0.2)}, ref="ref", ref_steps=100)
    rows = {r.split("|")[1].strip(): r.split("|")[5].strip() for r in md.splitlines()[2:]}
    assert rows == {"ref": "100", "other": "40"}


def test_the_2d_cost_table_times_a_change_against_the_preset_as_shipped():
    """`modes.py --cost` on grid25: the shipped preset is the reference (ratio 1, its own
    train.steps), the `--set` variant is timed beside it and given steps in that CPU."""
    import subprocess
    import sys

    from ganforge.presets import preset_config

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "modes.py"
    out = subprocess.run(
        [sys.executable, str(script), "--dataset", "grid25", "--configs", "best",
         "--set", "loss.objective=gan", "--tag", ", GAN loss", "--cost", "1"],
        capture_output=True, text=True, timeout=300, check=True).stdout
    steps = preset_config("grid25-best").train.steps
    rows = [ln.split("|")[1:-1] for ln in out.splitlines() if ln.startswith("| grid25-best")]
    assert [r[0].strip() for r in rows] == ["grid25-best", "grid25-best (best, GAN loss)"]
    assert rows[0][3].strip() == "1.000" and rows[0][4].strip() == f"{steps:,}"
    ratio, variant_steps = float(rows[1][3]), int(rows[1][4].replace(",", ""))
    # equal CPU: the variant's steps times its cost per step is the reference's budget
    assert ratio > 0 and abs(variant_steps * ratio - steps) < 0.03 * steps  # set-ups differ a little

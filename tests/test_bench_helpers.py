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


def test_the_2d_cost_table_times_a_change_against_the_preset_as_shipped(monkeypatch, capsys):
    """`modes.py --cost` on grid25: the preset without `--set` is the reference, with its own
    train.steps; the `--set` variant is timed beside it (the configs handed to the timer are
    the two trainings) and gets the steps its measured cost buys in the reference's CPU."""
    import sys

    from ganforge.presets import preset_config

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    modes = _load("modes")
    import step_cost

    seen = {}

    def fake_costs(configs, rounds, *, chunk=32, warmup=0):
        seen.update(configs)
        # per-step costs as if timed: the variant at 0.8 of the reference
        return {n: (0.0, 0.005 if i == 0 else 0.004) for i, n in enumerate(configs)}

    monkeypatch.setattr(step_cost, "interleaved_costs", fake_costs)
    monkeypatch.setattr(sys, "argv", ["modes.py"])
    assert modes.main(["--dataset", "grid25", "--configs", "best", "--set",
                       "loss.objective=gan", "--tag", ", GAN loss", "--cost", "1"]) == 0
    ref, var = seen["grid25-best"], seen["grid25-best (best, GAN loss)"]
    assert ref.loss.objective == preset_config("grid25-best").loss.objective == "rpgan"
    assert var.loss.objective == "gan" and ref.train.threads == var.train.threads == 1
    steps = ref.train.steps
    rows = {ln.split("|")[1].strip(): ln.split("|")[2:-1]
            for ln in capsys.readouterr().out.splitlines() if ln.startswith("| grid25-best")}
    assert rows["grid25-best"][2].strip() == "1.000" and rows["grid25-best"][3].strip() == f"{steps:,}"
    assert rows["grid25-best (best, GAN loss)"][2].strip() == "0.800"
    assert rows["grid25-best (best, GAN loss)"][3].strip() == f"{round(steps / 0.8):,}"


def test_held_out_runs_are_keyed_by_the_config_they_train(monkeypatch):
    """held_out_2d.py's cache: `--set` spelling the preset's own value finds the preset's runs;
    a changed training value does not; a changed rejection setting keeps G (refits R only)."""
    import types

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    ho = _load("held_out_2d")

    def keys(**overrides):
        args = types.SimpleNamespace(layouts=["grid25"], seeds=1, first_seed=0, samples=2500,
                                     tag="", workdir="/tmp", overrides=overrides)
        (job,) = ho.jobs_for(args)
        return job["train_key"], job["key"]

    shipped = keys()
    assert keys(**{"loss.r1_gamma": "0.1"}) == shipped  # grid25-best's own gamma
    assert keys(**{"loss.r1_gamma": "0.03"})[0] != shipped[0]
    refit = keys(**{"train.drs_freq": "10"})
    assert refit[0] == shipped[0] and refit[1] != shipped[1]

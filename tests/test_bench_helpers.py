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

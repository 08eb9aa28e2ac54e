"""The command line: the main paths work, and bad input gives one line and exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ganforge.cli import main

from .conftest import TINY

SETS = [f"--set={k}={v}" for k, v in TINY.items()]


def _err_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_presets_lists_every_required_preset_and_digits_is_the_default(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = [line.split()[0] for line in lines]
    for name in ("digits", "seed-mlp-mnist", "dcgan-mnist", "ring8", "grid25"):
        assert name in listed
    marked = [line.split()[0] for line in lines if line.rstrip().endswith("(default)")]
    assert marked == ["digits"], marked
    # and `train` with no --preset trains it: its resolved config is the digits preset's
    assert main(["train", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["preset"] == "digits" and cfg["data"]["dataset"] == "digits"


def test_dry_run_prints_resolved_config(capsys):
    assert main(["train", "--dry-run", "--preset", "ring8", "--steps", "7", "--set", "g_opt.lr=0.01"]) == 0
    out = capsys.readouterr().out
    assert '"steps": 7' in out and '"lr": 0.01' in out and '"dataset": "ring8"' in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "--set", "train.nope=1"], "train.nope"),
        (["train", "--set", "train.steps=abc"], "train.steps"),
        (["train", "--preset", "nope"], "nope"),
        (["train", "--set", "model.arch=resnet"], "model.arch"),
        (["train", "--data", "/no/such/points.npy", "--steps", "1"], "points.npy"),
        (["train", "--preset", "seed-mlp-mnist", "--data-dir", "/no/such/dir", "--set",
          "data.download=false"], "/no/such/dir"),
        (["sample", "/no/such/run", "--out", "x.npy"], "/no/such/run"),
        (["train", "--resume", "/no/such/run"], "/no/such/run"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in _err_line(capsys)


def test_bad_point_file_shape(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((4, 3, 2), dtype=np.float32))
    assert main(["train", "--data", str(bad), "--steps", "1"]) == 2
    assert "bad.npy" in _err_line(capsys)


def test_train_points_file_then_sample_npy_and_png(tmp_path, capsys):
    pts = tmp_path / "pts.csv"
    rng = np.random.default_rng(0)
    np.savetxt(pts, rng.normal(size=(500, 2)), delimiter=",")
    run = tmp_path / "run"
    assert main(["train", "--data", str(pts), "--steps", "20", "--out", str(run), "--quiet",
                 "--set", "loss.r1_gamma=0.1", *SETS]) == 0
    out = capsys.readouterr().out
    assert f"run folder:  {run}" in out and "samples:" in out
    assert main(["train", "--data", str(pts), "--steps", "20", "--out", str(run)]) == 2
    assert "--resume" in _err_line(capsys)
    assert main(["sample", str(run), "--n", "300", "--out", str(tmp_path / "s.npy")]) == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (300, 2) and s.dtype == np.float32
    assert main(["sample", str(run), "--n", "300", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 1000
    assert main(["sample", str(run), "--out", str(tmp_path / "s.txt")]) == 2
    assert main(["sample", str(run), "--out", str(tmp_path / "s.npy"), "--class", "3"]) == 2


def test_python_m_entry_point_has_no_traceback_on_bad_data(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("1,2\n3,oops\n")
    res = subprocess.run([sys.executable, "-m", "ganforge", "train", "--data", str(bad)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "broken.csv" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1

"""Bad input of any kind, everywhere: one line on stderr, exit code 2, no traceback, nothing written.

Drives `ganforge` with malformed files, keys, values and paths, generated from a few families
and combined, and checks the same four properties for each. A new command or option joins by
adding its malformed forms to a list.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from ganforge.cli import main

BAD_SETS = [
    "nokey=1", "train.stepz=3", "train", "=3", "model.arch=resnet", "data.dataset=imagenet",
    "loss.objective=nogan", "train.steps=-1", "train.steps=0", "train.steps=many",
    "train.batch_size=0", "train.ema=2", "g_opt.lr=nan", "g_opt.lr=-1", "d_opt.beta2=1",
    "train.device=tpu", "train.device=cuda:x", "train.threads=-4", "data.split=val",
    "train.amp=maybe", "loss.r1_gamma=-1", "model.pack=0", "train.lr_schedule=step",
    "train.on_divergence=never", "train.rollback_lr_factor=2", "train.max_loss=0",
]
BAD_COMBOS = [  # each value fine alone, refused together
    ["loss.objective=wgan", "loss.label_smoothing=0.1"],
    ["loss.objective=ebgan", "loss.r1_gamma=0.1"],
    ["loss.objective=ebgan", "model.minibatch_disc=true"],
    ["loss.objective=lsgan", "loss.margin=2"],
    ["model.self_cond=10", "model.arch=mlp"],
]


def _files(tmp_path):
    """Malformed inputs on disk, made before the snapshot of the folder."""
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "strings.npy", np.array(["a", "b"]))
    np.save(tmp_path / "in" / "nan.npy", np.array([[0.0, np.nan], [1.0, 2.0]]))
    np.save(tmp_path / "in" / "flat.npy", np.zeros(5))
    (tmp_path / "in" / "bad.csv").write_text("x,y\n1,2\n3,oops\n")
    (tmp_path / "in" / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "in" / "empty.csv").write_text("")
    (tmp_path / "in" / "notes.txt").write_text("hello")
    (tmp_path / "in" / "fake.safetensors").write_bytes(b"\x00" * 64)
    (tmp_path / "in" / "emptydir").mkdir()
    return tmp_path / "in"


def _cases(d):
    cases = [["train", "--dry-run", "--set", s] for s in BAD_SETS]
    cases += [["train", "--dry-run", *itertools.chain.from_iterable(("--set", s) for s in c)]
              for c in BAD_COMBOS]
    cases += [
        ["train", "--preset", "nope", "--dry-run"],
        ["train", "--steps", "-5", "--dry-run"],
        ["train", "--batch-size", "0", "--dry-run"],
        ["train", "--data", str(d / "missing.npy"), "--out", str(d / "r")],
        ["train", "--data", str(d / "strings.npy"), "--out", str(d / "r")],
        ["train", "--data", str(d / "nan.npy"), "--out", str(d / "r")],
        ["train", "--data", str(d / "flat.npy"), "--out", str(d / "r")],
        ["train", "--data", str(d / "bad.csv"), "--out", str(d / "r")],
        ["train", "--data", str(d / "ragged.csv"), "--out", str(d / "r")],
        ["train", "--data", str(d / "empty.csv"), "--out", str(d / "r")],
        ["train", "--data", str(d / "notes.txt"), "--out", str(d / "r")],
        ["train", "--dataset", "folder", "--data-dir", str(d / "emptydir"), "--out", str(d / "r")],
        ["train", "--dataset", "mnist", "--data-dir", str(d / "nowhere"), "--set",
         "data.download=false", "--out", str(d / "r")],
        ["train", "--resume", str(d / "nowhere")],
        ["train", "--resume", str(d / "emptydir")],
        ["train", "--resume", str(d / "fake.safetensors")],
        ["train", "--resume", str(d / "notes.txt")],
        ["train", "--out", str(d / "notes.txt"), "--steps", "1"],
        ["train", "--out", "/proc/ganforge-run", "--steps", "1"],
        ["sample", str(d / "nowhere"), "--out", str(d / "x.npy")],
        ["sample", str(d / "fake.safetensors"), "--out", str(d / "x.npy")],
        ["eval", "--real", str(d / "missing.npy"), "--fake", str(d / "missing.npy")],
        ["eval", "--real", str(d / "notes.txt"), "--fake", str(d / "notes.txt")],
        ["diagnose", str(d / "nowhere")],
        ["traverse", str(d / "nowhere"), "--out", str(d / "t.png")],
    ]
    return cases


def _listing(root):
    return sorted(
        (os.path.relpath(os.path.join(dp, f), root), os.path.getsize(os.path.join(dp, f)))
        for dp, _, fs in os.walk(root) for f in fs
    )


def test_every_malformed_input_is_one_line_exit_2_no_traceback_nothing_written(tmp_path, capsys,
                                                                            monkeypatch):
    d = _files(tmp_path)
    monkeypatch.chdir(tmp_path)  # a default run folder (runs/...) would land here
    failures = []
    for argv in _cases(d):
        before = _listing(tmp_path)
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own usage errors exit 2 with a usage line
            code = e.code
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        written = sorted(set(_listing(tmp_path)) - set(before))
        usage = bool(lines) and lines[0].startswith("usage:")  # argparse: usage + error line
        one = len(lines) == 1 and lines[0].startswith("ganforge: error: ")
        ok = code == 2 and (one or usage) and "Traceback" not in err and not written
        if not ok:
            failures.append((argv, code, lines[-3:], written))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("bad", ["--steps", "--n"])
def test_argparse_type_errors_are_usage_errors_with_exit_2(capsys, bad):
    cmd = ["train", bad, "x"] if bad == "--steps" else ["sample", "run", "--n", "x", "--out", "a.npy"]
    with pytest.raises(SystemExit) as e:
        main(cmd)
    assert e.value.code == 2 and "Traceback" not in capsys.readouterr().err

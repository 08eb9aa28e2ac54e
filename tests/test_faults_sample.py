"""`ganforge sample` faults: every bad request is refused up front with one line and exit code 2,
and nothing is written; .npy outputs are streamed (the same samples as one `sample(n)` call)."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ganforge import load_generator
from ganforge.cli import main
from ganforge.errors import CheckpointError
from ganforge.presets import preset_config
from ganforge.runner import make_trainer
from ganforge.sampling.generator import SampleGenerator
from ganforge.training.checkpoint import load_state, save_state

TINY = {"train.steps": 20, "train.tick": 10, "train.checkpoint_every": 10, "train.diagnose": False,
        "train.threads": 1, "model.g_hidden": 32, "model.d_hidden": 32}


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A tiny ring8 run with checkpoints at steps 10 and 20 (read only: copy it to change it)."""
    run = tmp_path_factory.mktemp("sample") / "run"
    make_trainer(preset_config("ring8", TINY), run, quiet=True).fit()
    return run


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """A private copy of the trained run, for tests that damage its checkpoint."""
    return Path(shutil.copytree(trained, tmp_path / "run"))


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))  # hidden temp files too


def _refused(capsys, argv: list[str], folder: Path | None) -> str:
    """Run `ganforge` with argv: exit 2, one error line on stderr, `folder` unchanged."""
    before = _listing(folder) if folder is not None else None
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error:"), err
    assert "Traceback" not in err
    if folder is not None:
        assert _listing(folder) == before
    return lines[0]


def test_an_npy_too_big_for_the_disk_is_refused_up_front(trained, tmp_path, capsys, monkeypatch):
    free = shutil.disk_usage(tmp_path)._replace(free=10_000)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: free)
    line = _refused(capsys, ["sample", str(trained), "--n", "2000",
                             "--out", str(tmp_path / "x.npy")], tmp_path)
    assert "x.npy would take 20.1 KB" in line and "10.0 KB free" in line


def test_a_huge_n_is_refused_without_sampling(trained, tmp_path, capsys, monkeypatch):
    def prior(*a, **k):
        raise AssertionError("sampled before refusing")

    monkeypatch.setattr(SampleGenerator, "prior", prior)
    line = _refused(capsys, ["sample", str(trained), "--n", str(10**15),
                             "--out", str(tmp_path / "x.npy")], tmp_path)
    assert f"--n {10**15}" in line and "free" in line


def test_a_png_of_more_points_than_it_can_show_is_refused(trained, tmp_path, capsys):
    line = _refused(capsys, ["sample", str(trained), "--n", "200000",
                             "--out", str(tmp_path / "x.png")], tmp_path)
    assert "a .png shows at most 100,000 points samples" in line


@pytest.mark.parametrize("kind", ["parent is a file", "out is a folder"])
def test_bad_output_paths_are_refused(trained, tmp_path, capsys, kind):
    if kind == "parent is a file":
        (tmp_path / "f.txt").write_text("x")
        out, match = tmp_path / "f.txt" / "x.npy", "f.txt is not a folder"
    else:
        (tmp_path / "d.npy").mkdir()
        out, match = tmp_path / "d.npy", "d.npy: is an existing folder"
    line = _refused(capsys, ["sample", str(trained), "--n", "5", "--out", str(out)], tmp_path)
    assert match in line and str(out) in line


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_unwritable_folder_is_refused(trained, capsys):
    line = _refused(capsys, ["sample", str(trained), "--n", "5", "--out", "/proc/x.npy"], None)
    assert "--out /proc/x.npy: cannot write in /proc" in line
    assert not Path("/proc/x.npy").exists()


def test_streamed_npy_equals_one_sample_call_and_shows_progress(trained, tmp_path, capsys):
    out = tmp_path / "x.npy"
    assert main(["sample", str(trained), "--n", "3500", "--seed", "7", "--out", str(out)]) == 0
    assert "sampling:" in capsys.readouterr().err  # the bar: 4 batches of 1,000
    assert np.array_equal(np.load(out), load_generator(trained).sample(3500, seed=7).numpy())
    assert _listing(tmp_path) == ["x.npy"]


def test_streaming_memory_does_not_grow_with_n(trained, tmp_path, capsys):
    def peak(n: int) -> int:
        out = tmp_path / f"x{n}.npy"
        tracemalloc.start()
        try:
            assert main(["sample", str(trained), "--n", str(n), "--out", str(out)]) == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert np.load(out, mmap_mode="r").shape == (n, 2)

    small = peak(20_000)  # also pays the one-off costs (first imports, caches)
    big = peak(400_000)  # 3.2 MB of points, written one 8-KB batch at a time
    # holding the output would add 3.2 MB; streaming keeps the peak where the small run had it
    assert big < small + 1_000_000, (small, big)


class _Conditional(nn.Module):
    num_classes = 3

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, z, y):
        return self.lin(z) + y[:, None].float()


def test_batches_draw_the_labels_and_latents_of_one_draw():
    g = SampleGenerator(_Conditional(), z_dim=4, prior={"dist": "normal"},
                        data={"kind": "points", "shape": [2]}, step=0)
    n, bs = 2500, 1000
    # what sample() drew before streaming: all n labels first, then one latent draw per batch
    gen = torch.Generator().manual_seed(5)
    y = torch.randint(3, (n,), generator=gen)
    with torch.no_grad():
        want = torch.cat([g.net(torch.randn(min(bs, n - i), 4, generator=gen), y[i : i + bs])
                          for i in range(0, n, bs)])
    assert torch.equal(torch.cat(list(g.batches(n, seed=5, batch_size=bs))), want)
    assert torch.equal(g.sample(n, seed=5, batch_size=bs), want)


def _damage(run: Path, fn, step: int = 20) -> Path:
    ck = run / "checkpoints" / f"step-{step:08d}.safetensors"
    state = load_state(ck)
    for weights in (state["nets"]["G"], *state.get("emas", {}).values()):
        fn(weights)
    save_state(ck, state)
    return ck


def test_a_diverged_checkpoint_is_refused_naming_an_earlier_one(run, tmp_path, capsys):
    def nan(w):
        w["body.0.weight"][0, 0] = float("nan")

    ck = _damage(run, nan)
    for extra in ([], ["--no-ema"]):
        line = _refused(capsys, ["sample", str(run), "--n", "5", *extra,
                                 "--out", str(tmp_path / "x.npy")], tmp_path)
        assert str(ck) in line and "diverged" in line
        assert f"newest intact checkpoint beside it is {ck.parent / 'step-00000010'}" in line
        assert f"`ganforge train --resume {run}` continues from it" in line
    _damage(run, nan, step=10)
    with pytest.raises(CheckpointError, match="diverged; no intact checkpoint beside it"):
        load_generator(ck)


def test_a_nan_only_in_raw_g_is_refused_too(run, tmp_path, capsys):
    ck = run / "checkpoints" / "step-00000020.safetensors"
    state = load_state(ck)
    state["nets"]["G"]["out.bias"][0] = float("inf")  # the EMA (what sampling loads) is intact
    save_state(ck, state)
    with pytest.raises(CheckpointError, match=r"network G has NaN/inf weights \(out.bias\)"):
        load_generator(run)


def test_non_finite_samples_are_not_written(run, tmp_path, capsys):
    def overflow(w):  # finite weights whose products overflow float32
        for v in w.values():
            v.fill_(1e30)

    _damage(run, overflow)
    for name in ("x.npy", "x.png"):
        line = _refused(capsys, ["sample", str(run), "--n", "5",
                                 "--out", str(tmp_path / name)], tmp_path)
        assert "NaN/inf samples" in line

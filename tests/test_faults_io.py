"""User-visible input/output faults: each file error names the file, warnings and errors stay one
line, `traverse --out` writes what its name says, `eval` refuses malformed samples, shows
progress only when asked, and never overwrites a report silently."""

from __future__ import annotations

import gzip
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.cli import main
from ganforge.data import load_dataset
from ganforge.errors import DataError
from ganforge.metrics.evaluate import evaluate
from ganforge.metrics.report import Report
from ganforge.presets import preset_config
from ganforge.runner import make_trainer

from .conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), err
    return lines[0]


# ---------------------------------------------------------------- 1. image folders


def _png_bytes(size=(40, 40)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _broken_chunk_png() -> bytes:
    """A PNG whose second IDAT chunk has a garbled type: Pillow opens it, then raises
    SyntaxError ("broken PNG file") while decoding."""
    raw = bytearray(_png_bytes((300, 300)))  # random pixels: several 64 KiB IDAT chunks
    first = raw.find(b"IDAT")
    second = raw.find(b"IDAT", first + 4)
    assert second > 0
    raw[second : second + 4] = b"\x00\x01\x02\x03"
    return bytes(raw)


@pytest.mark.parametrize(
    "content",
    [b"this is not a picture", _png_bytes()[:200], _broken_chunk_png()],
    ids=["garbage", "truncated", "broken-chunk"],
)
def test_folder_corrupt_image_error_names_the_file(tmp_path, content):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "good.png").write_bytes(_png_bytes())
    bad = folder / "corrupt.png"
    bad.write_bytes(content)
    with pytest.raises(DataError) as e:
        load_dataset("folder", data_dir=str(folder))
    msg = str(e.value)
    assert msg.startswith(f"{bad}: ") and "BytesIO" not in msg and "\n" not in msg, msg


def test_cli_train_on_folder_with_corrupt_image_names_it(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "good.png").write_bytes(_png_bytes())
    (folder / "bad.png").write_bytes(b"\x89PNG not really")
    argv = ["train", "--dataset", "folder", "--data-dir", str(folder), "--steps", "1"]
    assert main([*argv, "--out", str(tmp_path / "run"), "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert str(folder / "bad.png") in line and "BytesIO" not in line, line


# ---------------------------------------------------------------- 2. the MNIST split fallback


def test_idx_split_fallback_warning_is_one_line_naming_folder_and_split(tmp_path):
    folder = tmp_path / "mnist\nfolder"  # a newline in the name must not split the warning
    folder.mkdir()
    rng = np.random.default_rng(0)
    for kind, arr in (
        ("images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)),
        ("labels-idx1-ubyte", np.arange(4, dtype=np.uint8)),
    ):
        head = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
        (folder / f"t10k-{kind}.gz").write_bytes(gzip.compress(head + arr.tobytes()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset("mnist", data_dir=str(folder), download=False)
    assert len(data) == 4
    (w,) = [w for w in caught if "using the test split" in str(w.message)]
    msg = str(w.message)
    assert "\n" not in msg, msg
    assert "no train split in" in msg and "using the test split instead" in msg
    assert "mnist\\nfolder" in msg  # the folder, its newline escaped
    assert "t10k-images-idx3-ubyte.gz" in msg  # the file it reads instead


# ---------------------------------------------------------------- 3. traverse --out


@pytest.fixture(scope="module")
def infogan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("infogan") / "run"
    cfg = preset_config(
        "infogan-digits",
        {
            "train.steps": 20,
            "model.base_channels": 8,
            "train.diagnose": False,
            "train.threads": 1,
        },
    )
    make_trainer(cfg, run, quiet=True).fit()
    return run


def test_traverse_png_out_writes_one_picture(infogan_run, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "codes.png"
    argv = ["traverse", str(infogan_run), "--rows", "3", "--steps", "4"]
    assert main([*argv, "--out", str(out)]) == 0
    assert out.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["codes.png"]
    assert "categorical" in capsys.readouterr().out
    # blocks top to bottom: categorical (10 values), continuous-0 and -1 (4 values each),
    # 3 rows each and a blank row between two: 11 rows of 10 tiles of 8x8 with 1-pixel gaps,
    # the whole upscaled 8x
    assert Image.open(out).size == ((10 * 9 + 1) * 8, (11 * 9 + 1) * 8)


def test_traverse_folder_out_and_bad_outs(infogan_run, tmp_path, capsys):
    folder = tmp_path / "tr"
    assert main(["traverse", str(infogan_run), "--out", str(folder), "--rows", "2"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "traverse-categorical.png",
        "traverse-continuous-0.png",
        "traverse-continuous-1.png",
    ]
    capsys.readouterr()
    for out, why in (
        (tmp_path / "codes.jpg", "must end in .png"),
        (tmp_path / "missing" / "codes.png", "does not exist"),
        (tmp_path / "missing" / "folder", "does not exist"),
    ):
        assert main(["traverse", str(infogan_run), "--out", str(out)]) == 2
        assert why in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tr"]  # nothing else was written


# ---------------------------------------------------------------- 4. eval input checks


def _points(n=300, d=2, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


MALFORMED = {
    "strings": lambda p: np.save(p, np.array(["a", "b", "c"])),
    "objects": lambda p: np.save(p, np.array([{"a": 1}, None], dtype=object)),
    "flat": lambda p: np.save(p, np.zeros(10, dtype=np.float32)),
    "five_dims": lambda p: np.save(p, np.zeros((4, 1, 2, 2, 2), dtype=np.float32)),
    "empty": lambda p: np.save(p, np.zeros((0, 2), dtype=np.float32)),
    "no_values": lambda p: np.save(p, np.zeros((5, 0), dtype=np.float32)),
    "scalar": lambda p: np.save(p, np.float32(3.0)),
    "complex": lambda p: np.save(p, np.ones((5, 2), dtype=np.complex64)),
    "nan": lambda p: np.save(p, np.where(np.eye(300, 2) > 0, np.nan, _points())),
    "inf": lambda p: np.save(p, np.where(np.eye(300, 2) > 0, np.inf, _points())),
    "npz": lambda p: np.savez(p.with_suffix(""), a=_points()) or p.with_suffix(".npz").rename(p),
    "not_npy": lambda p: p.write_bytes(b"hello"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_eval_refuses_malformed_sample_files_naming_them(tmp_path, capsys, case):
    real, fake = tmp_path / "real.npy", tmp_path / f"{case}.npy"
    np.save(real, _points())
    MALFORMED[case](fake)
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert f"error: {fake}: " in line, line
    if case in ("nan", "inf"):
        assert "NaN or infinite" in line
    assert not (tmp_path / f"{case}.eval.json").exists()


def test_eval_mismatched_files_name_both_and_big_endian_is_fine(tmp_path, capsys):
    real, fake, big = tmp_path / "real.npy", tmp_path / "fake.npy", tmp_path / "big.npy"
    np.save(real, _points())
    np.save(fake, _points(d=3))
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert str(fake) in line and str(real) in line and "do not match" in line
    np.save(big, _points(seed=1).astype(">f4"))
    argv = ["eval", "--real", str(real), "--fake", str(big), "--metrics", "fd", "--quiet"]
    assert main(argv) == 0


def _ring_run(path: Path) -> Path:
    cfg = preset_config(
        "ring8", {**TINY, "train.steps": 20, "train.eval_every": 0, "train.diagnose": False}
    )
    make_trainer(cfg, path, quiet=True).fit()
    return path


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    return _ring_run(tmp_path_factory.mktemp("ring") / "run")


class _NanGenerator:
    step = 7

    def sample(self, n, *, seed=0):
        x = torch.zeros(n, 2)
        x[3, 1] = float("nan")
        return x


def test_eval_refuses_a_generator_with_non_finite_samples(ring_run, tmp_path, capsys, monkeypatch):
    with pytest.raises(DataError, match="1 of 50 samples hold NaN or infinite values"):
        evaluate(_NanGenerator(), real=_points(), n=50, metrics="fd")
    from ganforge.sampling.generator import SampleGenerator

    monkeypatch.setattr(SampleGenerator, "sample", lambda self, n, **kw: _NanGenerator().sample(n))
    argv = ["eval", str(ring_run), "--n", "100", "--metrics", "fd", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "r.json")]) == 2
    line = _one_error_line(capsys)
    assert "checkpoints" in line and "NaN or infinite" in line and "generator" in line, line
    assert not (tmp_path / "r.json").exists()


# ---------------------------------------------------------------- 5. progress bars


def test_progress_bars_only_when_asked_and_scores_unchanged(capsys):
    from ganforge.metrics.cache import clear_memory_cache
    from ganforge.metrics.classifier import (
        ClassifierExtractor,
        ClassifierSettings,
        train_classifier,
    )

    digits = load_dataset("digits", split="all")
    quick = ClassifierSettings(epochs=1, min_steps=10)
    clf = train_classifier(digits, quick)
    assert capsys.readouterr().err == ""  # the library is quiet by default
    train_classifier(digits, quick, progress=True)
    assert "classifier" in capsys.readouterr().err
    fake = (digits.x[:400] + 0.2).clamp(-1, 1)
    kw = {"real": digits.x[400:800], "extractor": ClassifierExtractor(clf), "batch_size": 64}
    kw["settings"] = {"kid_subsets": 5}
    quiet = evaluate(fake, **kw)
    assert capsys.readouterr().err == ""
    clear_memory_cache()  # else the real features come from memory, without a bar
    shown = evaluate(fake, progress=True, **kw)
    err = capsys.readouterr().err
    assert "real features" in err and "fake features" in err and "scores" in err
    assert quiet.scores == shown.scores  # one extract call per batch: the same batches


def test_cli_eval_shows_progress_unless_quiet(ring_run, tmp_path, capsys):
    argv = ["eval", str(ring_run), "--n", "300", "--metrics", "fd"]
    assert main([*argv, "--out", str(tmp_path / "a.json")]) == 0
    err = capsys.readouterr().err
    assert "generate" in err and "fake features" in err
    assert main([*argv, "--out", str(tmp_path / "b.json"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- 6. report files


def test_eval_never_overwrites_a_report_silently(tmp_path, capsys):
    run = _ring_run(tmp_path / "run")
    argv = ["eval", str(run), "--n", "200", "--metrics", "fd", "--quiet"]
    first = run / "eval-step-00000020.json"
    assert main(argv) == 0
    assert f"report: {first}\n" in capsys.readouterr().out
    first.write_text(json.dumps({"marker": 1}))  # an earlier report that must survive
    assert main([*argv, "--n", "300"]) == 0
    out = capsys.readouterr().out
    second = run / "eval-step-00000020-2.json"
    assert f"report: {second} (eval-step-00000020.json already exists and was kept)" in out
    assert json.loads(first.read_text()) == {"marker": 1}
    assert json.loads(second.read_text())["protocol"]["n_fake"] == 300
    # an explicit --out that exists: refused before any work, unless --force
    assert main([*argv, "--out", str(second)]) == 2
    assert "--force" in _one_error_line(capsys)
    assert json.loads(second.read_text())["protocol"]["n_fake"] == 300
    assert main([*argv, "--out", str(second), "--force"]) == 0
    assert "(overwrote the earlier file)" in capsys.readouterr().out
    assert json.loads(second.read_text())["protocol"]["n_fake"] == 200
    # --force with the default name replaces it
    assert main([*argv, "--force"]) == 0
    assert "overwrote" in capsys.readouterr().out
    assert "scores" in json.loads(first.read_text())
    assert main([*argv, "--out", str(tmp_path / "no" / "r.json")]) == 2
    assert "does not exist" in _one_error_line(capsys)


def test_report_save_without_overwrite_refuses_an_existing_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("earlier")
    with pytest.raises(FileExistsError):
        Report({"fd": 1.0}, {}).save(path, overwrite=False)
    assert path.read_text() == "earlier" and sorted(p.name for p in tmp_path.iterdir()) == [
        "r.json"
    ]
    Report({"fd": 1.0}, {}).save(path)
    assert json.loads(path.read_text())["scores"] == {"fd": 1.0}


# ---------------------------------------------------------------- 7. dependencies


def test_torchmetrics_is_a_test_dependency_only():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]]
    assert "torchmetrics" not in names
    assert any(d.startswith("torchmetrics") for d in project["optional-dependencies"]["test"])
    users = [p for p in (ROOT / "src").rglob("*.py") if "torchmetrics" in p.read_text()]
    assert users == []

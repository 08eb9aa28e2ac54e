"""Evaluation glue: scores through `evaluate`, protocols, caches, Inception loading, training hooks, CLI."""

import json
import math
import warnings

import numpy as np
import pytest
import torch

from ganforge.cli import main
from ganforge.data import load_dataset
from ganforge.errors import ConfigError, DataError
from ganforge.metrics import inception as F
from ganforge.metrics.cache import clear_memory_cache
from ganforge.metrics.classifier import ClassifierExtractor, ClassifierSettings, load_or_train
from ganforge.metrics.evaluate import evaluate
from ganforge.metrics.features import RawExtractor
from ganforge.metrics.report import ProtocolWarning, Report, compare_protocols
from ganforge.presets import preset_config
from ganforge.runner import make_trainer
from ganforge.training.stats import read_jsonl

from .conftest import TINY

FAST = {"kid_subsets": 10}


def _gauss(n, d, *, mean=0.0, std=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64).float() * std + mean


def test_fd_of_a_set_with_itself_is_zero_and_precision_recall_one():
    x = _gauss(500, 3)
    r = evaluate(x, real=x, metrics="fd,pr,dc", settings=FAST)
    assert abs(r.scores["fd"]) < 1e-6
    assert r.scores["precision"] == 1.0 and r.scores["recall"] == 1.0
    assert r.scores["coverage"] == 1.0


def test_fd_of_two_gaussians_matches_closed_form():
    # N(0, I) vs N(m 1, s^2 I) in D dims: FD = D m^2 + D (1 - s)^2
    d, m, s = 4, 0.5, 2.0
    r = evaluate(
        _gauss(20000, d, mean=m, std=s, seed=1), real=_gauss(20000, d, seed=2), metrics="fd"
    )
    assert r.scores["fd"] == pytest.approx(d * m**2 + d * (1 - s) ** 2, rel=0.03)


def test_kid_near_zero_for_one_distribution_and_positive_otherwise():
    same = evaluate(
        _gauss(1500, 8, seed=3), real=_gauss(1500, 8, seed=4), metrics="kid", settings=FAST
    )
    diff = evaluate(
        _gauss(1500, 8, mean=1.0, seed=3),
        real=_gauss(1500, 8, seed=4),
        metrics="kid",
        settings=FAST,
    )
    assert abs(same.scores["kid"]) < 0.01
    assert diff.scores["kid"] > 0.5 and diff.scores["kid"] > 20 * diff.scores["kid_std"]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split="all")


@pytest.fixture(scope="module")
def digits_clf(digits, tmp_path_factory):
    # a quickly trained (weak) classifier: enough for invariance checks
    return load_or_train(
        digits,
        ClassifierSettings(epochs=1, min_steps=40),
        cache_dir=tmp_path_factory.mktemp("cache"),
    )


def test_scores_do_not_depend_on_batch_size(digits, digits_clf):
    ext = ClassifierExtractor(digits_clf)
    fake = digits.x[:600] + 0.3 * _gauss(600, 64, seed=5).reshape(600, 1, 8, 8)
    kw = {
        "real_dataset": digits,
        "n_real": 600,
        "extractor": ext,
        "disk_cache": False,
        "settings": FAST,
    }
    clear_memory_cache()
    a = evaluate(fake.clamp(-1, 1), batch_size=37, **kw)
    clear_memory_cache()
    b = evaluate(fake.clamp(-1, 1), batch_size=600, **kw)
    assert a.scores.keys() == b.scores.keys() and "is" in a.scores and "classes" in a.scores
    for k in a.scores:
        assert a.scores[k] == pytest.approx(b.scores[k], rel=1e-5, abs=1e-7), k


def test_protocol_record_and_comparison_warning(digits, digits_clf, tmp_path):
    ext = ClassifierExtractor(digits_clf)
    r1 = evaluate(
        digits.x[:300],
        real_dataset=digits,
        n_real=300,
        extractor=ext,
        metrics="fd",
        cache_dir=tmp_path,
    )
    p = r1.protocol
    for key in (
        "extractor",
        "weights_sha256",
        "preprocessing",
        "real_identity",
        "real_split",
        "n_real",
        "n_fake",
        "seed",
        "ganforge_version",
        "classifier_accuracy",
    ):
        assert key in p, key
    assert p["extractor"] == "classifier" and p["real_split"] == "all" and p["n_fake"] == 300
    r2 = evaluate(
        digits.x[:300],
        real_dataset=digits,
        n_real=300,
        extractor=ext,
        metrics="fd",
        cache_dir=tmp_path,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compare_protocols(r1, r2) == []
    r3 = evaluate(
        digits.x[:200],
        real_dataset=digits,
        n_real=300,
        extractor=ext,
        metrics="fd",
        cache_dir=tmp_path,
    )
    with pytest.warns(ProtocolWarning, match="n_fake"):
        assert compare_protocols(r1, r3) == ["n_fake"]
    r1.save(tmp_path / "r.json")
    back = Report.load(tmp_path / "r.json")
    assert back.scores == r1.scores and back.protocol == r1.protocol


class CountingRaw(RawExtractor):
    calls = 0

    def extract(self, x, *, batch_size=500):
        CountingRaw.calls += 1
        return super().extract(x, batch_size=batch_size)


def test_real_features_are_cached_on_disk_under_a_full_key(tmp_path):
    ring = load_dataset("ring8")
    fake = ring.sample(300, torch.Generator().manual_seed(9)).x
    kw = {"real_dataset": ring, "metrics": "fd", "extractor": CountingRaw(), "cache_dir": tmp_path}
    clear_memory_cache()
    a = evaluate(fake, n_real=300, **kw)
    assert CountingRaw.calls == 2 and len(list((tmp_path / "features").iterdir())) == 1
    clear_memory_cache()  # a new process: only the disk cache is left
    b = evaluate(fake, n_real=300, **kw)
    assert CountingRaw.calls == 3 and a.scores == b.scores  # only the fake side was extracted
    evaluate(fake, n_real=200, **kw)  # another n is another key
    evaluate(fake, n_real=300, seed=1, **kw)  # another seed too
    assert len(list((tmp_path / "features").iterdir())) == 3


def test_mixture_modes_on_constructed_samples():
    ring = load_dataset("ring8")
    centres = ring.spec.modes
    good = ring.sample(800, torch.Generator().manual_seed(0)).x
    collapsed = centres[2].repeat(800, 1) + 0.001 * _gauss(800, 2)
    rg = evaluate(good, real_dataset=ring, metrics="modes,is", disk_cache=False)
    rc = evaluate(collapsed, real_dataset=ring, metrics="modes", disk_cache=False)
    assert rg.scores["modes"] == 8 and rc.scores["modes"] == 1
    assert rc.scores["reverse_kl"] == pytest.approx(math.log(8), rel=1e-6)
    assert "is" in rg.details["skipped"]  # raw points have no class probabilities


def test_bad_inputs_are_one_line_errors():
    x = _gauss(50, 2)
    with pytest.raises(ConfigError, match="choose from"):
        evaluate(x, real=x, metrics="fid")
    with pytest.raises(ConfigError, match="exactly one"):
        evaluate(x, metrics="fd")
    with pytest.raises(DataError, match="do not match"):
        evaluate(x, real=_gauss(50, 3), metrics="fd")


# ---- Inception: loading code tested with a randomly initialised net of the same architecture


def test_inception_layout_matches_the_fid_weights():
    sd = F.build_inception().state_dict()
    assert sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert sd["Mixed_6b.branch7x7_2.conv.weight"].shape == (128, 128, 1, 7)
    assert sd["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    assert sd["fc.weight"].shape == (1008, 2048)
    n = sum(v.numel() for k, v in sd.items() if "running" not in k and "num_batches" not in k)
    # torchvision's inception_v3: 27,161,264 parameters; minus the aux head (3,326,696), plus
    # 8 more fc classes (8 x 2,049) = the 1008-class FID network
    assert n == 27_161_264 - 3_326_696 + 8 * 2049


def test_inception_weights_load_check_and_extract(tmp_path, monkeypatch):
    net = F.build_inception()
    with torch.no_grad():
        net.fc.bias.copy_(torch.linspace(-1, 1, 1008))
    path = tmp_path / "my-inception.pth"
    torch.save(net.state_dict(), path)
    monkeypatch.setenv(F.WEIGHTS_ENV, str(path))
    with pytest.warns(UserWarning, match="not the published"):
        ext = F.InceptionExtractor()
    assert torch.equal(ext.net.fc.bias, net.fc.bias)
    assert ext.weights_hash == F.file_sha256(path)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    out = ext.extract(x, batch_size=2)
    assert out.features.shape == (3, 2048) and out.probs.shape == (3, 1008)
    assert torch.allclose(out.probs.sum(1), torch.ones(3, dtype=torch.float64))
    # the published file name promises a hash: random weights under that name are refused
    fake_official = tmp_path / F.FID_WEIGHTS_NAME
    fake_official.write_bytes(path.read_bytes())
    with pytest.raises(DataError, match="does not match"):
        F.load_inception(fake_official)


def test_inception_missing_or_wrong_weights_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(F.WEIGHTS_ENV, raising=False)
    with pytest.raises(DataError, match="pytorch-fid/releases") as e:
        F.load_inception()
    assert "\n" not in str(e.value)
    with pytest.raises(DataError, match="not found"):
        F.load_inception(tmp_path / "nope.pth")
    bad = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3)}, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="not FID Inception-v3 weights"):
            F.load_inception(bad)


# ---- during training and on the command line


def _eval_cfg(**extra):
    return preset_config(
        "ring8",
        {
            **TINY,
            "train.steps": 40,
            "train.eval_every": 20,
            "train.eval_metrics": "fd,pr",
            "train.diagnose": False,
            **extra,
        },
    )


def test_periodic_eval_logs_keeps_best_and_does_not_perturb_training(tmp_path):
    t = make_trainer(_eval_cfg(**{"train.best_metric": "fd"}), tmp_path / "a", quiet=True)
    t.fit()
    recs = [r for r in read_jsonl(tmp_path / "a" / "log.jsonl") if "eval/fd" in r]
    assert [r["step"] for r in recs] == [20, 40]
    best = json.loads((tmp_path / "a" / "checkpoints" / "best.json").read_text())
    assert best["value"] == min(r["eval/fd"] for r in recs)
    assert (tmp_path / "a" / "checkpoints" / "best.safetensors").is_file()
    plain = make_trainer(_eval_cfg(**{"train.eval_every": 0}), tmp_path / "b", quiet=True)
    plain.fit()
    for k, v in t.nets["G"].state_dict().items():
        assert torch.equal(v, plain.nets["G"].state_dict()[k]), k


def test_early_stop_after_patience_evaluations(tmp_path, monkeypatch):
    import ganforge.metrics.periodic as tr

    values = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    monkeypatch.setattr(tr, "evaluate", lambda *a, **k: Report({"fd": next(values)}, {}))
    cfg = _eval_cfg(
        **{
            "train.steps": 200,
            "train.eval_every": 10,
            "train.best_metric": "fd",
            "train.patience": 2,
        }
    )
    t = make_trainer(cfg, tmp_path, quiet=True)
    t.fit()
    assert t.step == 30  # best at 10, worse at 20 and 30: stop


def test_best_metric_must_be_measured_and_eval_aligned_with_ticks():
    with pytest.raises(ConfigError, match="needs metric 'kid'"):
        make_trainer(_eval_cfg(**{"train.best_metric": "kid"}), "unused", quiet=True)
    with pytest.raises(ConfigError, match="multiple of train.tick"):
        make_trainer(_eval_cfg(**{"train.eval_every": 25}), "unused", quiet=True)


def test_cli_eval_run_and_files(tmp_path, capsys):
    run = tmp_path / "run"
    make_trainer(_eval_cfg(**{"train.eval_every": 0}), run, quiet=True).fit()
    assert main(["eval", str(run), "--metrics", "fd,pr,modes", "--n", "500"]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "modes" in out
    report = json.loads((run / "eval-step-00000040.json").read_text())
    assert report["protocol"]["n_fake"] == 500 and report["protocol"]["extractor"] == "raw"
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, _gauss(400, 2).numpy())
    np.save(b, _gauss(400, 2, mean=3.0, seed=1).numpy())
    assert main(["eval", "--real", str(a), "--fake", str(b), "--metrics", "fd"]) == 0
    saved = json.loads((tmp_path / "b.eval.json").read_text())
    assert saved["scores"]["fd"] == pytest.approx(18.0, rel=0.2)
    assert main(["eval", "--real", str(a), "--fake", str(tmp_path / "missing.npy")]) == 2
    assert "missing.npy" in capsys.readouterr().err

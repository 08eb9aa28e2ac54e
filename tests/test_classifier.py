"""The domain classifier on real MNIST: accuracy, cache, class coverage, Stacked MNIST counting."""

import math
import warnings

import pytest
import torch

from ganforge.cli import main
from ganforge.data import load_dataset
from ganforge.data.stacked import StackedMNIST
from ganforge.metrics.classifier import (
    ClassifierExtractor,
    ClassifierSettings,
    load_or_train,
    train_classifier,
)
from ganforge.metrics.evaluate import evaluate
from ganforge.metrics.modes import stacked_mode_stats

from .conftest import SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_test():
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not found at {SHARED_MNIST}")
    return load_dataset("mnist", data_dir=str(SHARED_MNIST), split="test", download=False)


@pytest.fixture(scope="session")
def clf_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gf-cache")


@pytest.fixture(scope="session")
def mnist_clf(mnist_test, clf_cache):
    # Trained on 8,000 of the 10,000 test digits, accuracy measured on the other 2,000.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared 2-core machines: a second thread mostly waits
    try:
        return load_or_train(mnist_test, ClassifierSettings(), cache_dir=clf_cache)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_classifier_reaches_97_percent_on_held_out_mnist(mnist_clf):
    assert mnist_clf.info["n_holdout"] == 2000
    assert mnist_clf.accuracy >= 0.97, mnist_clf.accuracy


def test_cached_classifier_is_loaded_not_retrained(mnist_test, mnist_clf, clf_cache, capsys):
    again = load_or_train(mnist_test, ClassifierSettings(), cache_dir=clf_cache, log=print)
    assert "training" not in capsys.readouterr().out
    assert again.key == mnist_clf.key and again.weights_sha256 == mnist_clf.weights_sha256
    x = mnist_test.x[:200]
    assert torch.equal(again.predict(x), mnist_clf.predict(x))
    other = ClassifierSettings(seed=1)
    from ganforge.metrics.classifier import classifier_key

    assert classifier_key(mnist_test, other) != mnist_clf.key  # settings are part of the key


def test_cli_classifier_train_reports_accuracy(mnist_clf, clf_cache, capsys):
    argv = [
        "classifier",
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        str(SHARED_MNIST),
        "--split",
        "test",
        "--cache-dir",
        str(clf_cache),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"held-out accuracy {mnist_clf.accuracy:.4f}" in out
    assert main(["classifier", "train", "--dataset", "ring8"]) == 2


def test_training_leaves_global_rng_untouched():
    from ganforge.data.base import DataSpec, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 8, 8, generator=g) * 2 - 1
    spec = DataSpec("toy", "image", (1, 8, 8), num_classes=2, identity="toy")
    data = TensorDataset(x, (x.mean(dim=(1, 2, 3)) > 0).long(), spec)
    before = torch.get_rng_state()
    clf = train_classifier(data, ClassifierSettings(epochs=1, min_steps=2))
    assert torch.equal(before, torch.get_rng_state())
    assert 0.0 <= clf.accuracy <= 1.0


def test_writer_warp_changes_strokes_not_the_frame(mnist_test):
    from ganforge.errors import ConfigError
    from ganforge.metrics.classifier import _warp, classifier_key

    x = mnist_test.x[:64]
    out = _warp(x, 1.0, torch.Generator().manual_seed(0))
    again = _warp(x, 1.0, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(out, again)  # reproducible from the generator
    assert out.min() >= -1.0 and out.max() <= 1.0
    moved = (out - x).abs().flatten(1).mean(1)
    assert (moved > 0.02).float().mean() > 0.9  # nearly every digit is warped
    blank = -torch.ones(4, 1, 28, 28)
    assert torch.equal(_warp(blank, 1.0, torch.Generator().manual_seed(0)), blank)
    ink = ((x + 1) / 2).flatten(1).sum(1)
    assert ((((out + 1) / 2).flatten(1).sum(1) / ink) - 1).abs().median() < 0.6  # still a digit
    assert torch.equal(_warp(x, 0.0, torch.Generator()), x)
    keys = {classifier_key(mnist_test, ClassifierSettings(warp=w)) for w in (0.0, 0.5, 1.0)}
    assert len(keys) == 3
    with pytest.raises(ConfigError, match="warp=3"):
        ClassifierSettings(warp=3.0)


def test_real_mnist_covers_all_ten_classes(mnist_test, mnist_clf):
    report = evaluate(
        mnist_test.x[:2000],
        real_dataset=mnist_test,
        metrics="fd,is,modes",
        n_real=2000,
        extractor=ClassifierExtractor(mnist_clf),
        disk_cache=False,
    )
    assert report.scores["classes"] == 10
    assert report.scores["kl"] < 0.02
    assert report.scores["is"] > 8.0  # a confident classifier on real digits: IS near 10
    # one digit repeated: one class, IS 1, KL about log 10
    one = evaluate(
        mnist_test.x[:1].repeat(500, 1, 1, 1),
        real_dataset=mnist_test,
        metrics="is,modes",
        n_real=2000,
        extractor=ClassifierExtractor(mnist_clf),
        disk_cache=False,
    )
    assert one.scores["classes"] == 1 and one.scores["kl"] > 2.0
    assert one.scores["is"] == pytest.approx(1.0, abs=1e-6)


def test_stacked_mnist_samples_and_labels(mnist_test):
    data = StackedMNIST(mnist_test)
    b = data.sample(500, torch.Generator().manual_seed(3))
    assert b.x.shape == (500, 3, 28, 28) and data.spec.num_classes == 1000
    assert int(b.y.min()) >= 0 and int(b.y.max()) <= 999
    # each channel is an MNIST image whose label is the corresponding digit of y
    lookup = {mnist_test.x[i].numpy().tobytes(): int(mnist_test.y[i]) for i in range(10_000)}
    for i in range(20):
        digits = [lookup[b.x[i, c : c + 1].numpy().tobytes()] for c in range(3)]
        assert digits[0] * 100 + digits[1] * 10 + digits[2] == int(b.y[i])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_dataset("stacked-mnist", data_dir=str(SHARED_MNIST), download=False)
    assert loaded.spec.identity.startswith("stacked-mnist[mnist:")


def test_stacked_mode_counter_on_constructed_samples():
    modes = torch.tensor([7, 7, 123, 999, 0])
    s = stacked_mode_stats(modes)
    assert s["modes"] == 4 and s["n"] == 5
    assert stacked_mode_stats(torch.arange(1000))["kl"] == pytest.approx(0.0, abs=1e-12)
    assert stacked_mode_stats(torch.zeros(10, dtype=torch.long))["kl"] == pytest.approx(
        math.log(1000), rel=1e-9
    )


def test_stacked_counter_sees_real_coverage_and_collapse(mnist_test, mnist_clf):
    data = StackedMNIST(mnist_test)
    ext = ClassifierExtractor(mnist_clf)
    real = evaluate(
        data.sample(5000, torch.Generator().manual_seed(1)).x,
        real_dataset=data,
        metrics="modes",
        n_real=500,
        extractor=ext,
        disk_cache=False,
    )
    # 5,000 uniform draws over 1,000 modes cover about 1000 (1 - e^-5) = 993 of them
    assert real.scores["modes"] >= 950, real.scores
    assert real.scores["kl"] < 0.3
    # a "generator" stuck on digits {0, 1} in every channel covers at most 8 modes (+ mistakes)
    keep = torch.nonzero(mnist_test.y <= 1).squeeze(1)
    idx = keep[torch.randint(len(keep), (2000, 3), generator=torch.Generator().manual_seed(2))]
    collapsed = mnist_test.x[idx].squeeze(2)
    c = evaluate(
        collapsed, real_dataset=data, metrics="modes", n_real=500, extractor=ext, disk_cache=False
    )
    assert 8 <= c.scores["modes"] <= 30, c.scores
    assert c.scores["kl"] > 4.0

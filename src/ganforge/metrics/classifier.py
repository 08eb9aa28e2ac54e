"""ganforge's own domain classifier: a small CNN trained on labelled real data, cached on disk.

Where no standard feature network applies offline (MNIST, Fashion-MNIST, digits, Stacked MNIST),
a classifier trained by ganforge itself gives the features and class probabilities that evaluation
needs: a classifier-feature Frechet distance (as the "FD of a domain network" of Lucic et al. 2018,
"Are GANs Created Equal?"), a classifier Inception Score, and class coverage / KL of the generated
class histogram. Its held-out accuracy is measured on a split it never trained on and reported.

The trained weights are cached as `<cache root>/classifiers/<hash>.safetensors` (see
`ganforge.metrics.cache` for the root), the hash covering the data identity, the settings and the
architecture version; files are written atomically. Training draws randomness only inside
`torch.random.fork_rng`, so it never moves the caller's RNG.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError, DataError
from ganforge.metrics.cache import atomic_save_tensors, cache_root, hash_key, load_tensors
from ganforge.metrics.features import Extractor, Features, file_sha256

ARCH_VERSION = "cnn-2x3x3s2-v1"


@dataclass(frozen=True)
class ClassifierSettings:
    """Training settings; every field is part of the cache key."""

    epochs: int = 3
    min_steps: int = 360  # small data (digits) trains for more epochs, to at least this many steps
    batch_size: int = 64
    lr: float = 5e-3  # peak of the one-cycle schedule
    holdout: float = 0.2  # share of the labelled data held out for the reported accuracy
    seed: int = 0
    shift: int = 1  # random translation (pixels) as augmentation; 0 disables
    # writer augmentation: random rotation (up to 20*warp degrees), scale and aspect (+-25*warp
    # %), shear (+-0.4*warp) and stroke thickness (one 3x3 dilation or erosion, 1 in 3 each),
    # so that a judge trained on few writers (scikit-learn's 8x8 digits) reads other
    # handwriting of its domain; 0 disables (and keeps the cache key of older settings)
    warp: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ConfigError(
                f"classifier settings: epochs, batch_size, lr must be positive: {self}"
            )
        if not 0.0 < self.holdout < 1.0:
            raise ConfigError(f"classifier holdout={self.holdout}: must be in (0, 1)")
        if not 0.0 <= self.warp <= 2.0:
            raise ConfigError(f"classifier warp={self.warp}: must be in [0, 2]")


class SmallCNN(nn.Module):
    """Two stride-2 3x3 convolutions and two linear layers: images [N, C, H, W] in [-1, 1] (H, W >= 4) -> (features [N, 128], logits [N, K])."""

    def __init__(
        self, in_shape: tuple[int, int, int], num_classes: int, *, width: int = 32
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        self.in_shape, self.num_classes = tuple(in_shape), num_classes
        # stride-2 convolutions instead of max pooling: about twice as fast on a CPU
        self.conv1 = nn.Conv2d(c, width, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(2 * width * ((h + 3) // 4) * ((w + 3) // 4), 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        feats = F.relu(self.fc1(x.flatten(1)))
        return feats, self.fc2(feats)


@dataclass
class DomainClassifier:
    """A trained classifier plus what the protocol record needs."""

    net: SmallCNN
    accuracy: float  # held-out accuracy in [0, 1]
    identity: str  # the training data's identity
    key: str  # cache key (sha256 hex)
    path: Path | None = None
    weights_sha256: str = ""
    info: dict = field(default_factory=dict)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
        """Labels [N] int64 for images [N, C, H, W] in [-1, 1]."""
        return torch.cat([self.net(b)[1].argmax(1) for b in x.split(batch_size)])


def labelled_base(dataset):
    """The labelled image data a classifier for `dataset` trains on, or None.

    Stacked MNIST answers its underlying MNIST (`.base`); a labelled in-memory image dataset
    answers itself.
    """
    if dataset is None:
        return None
    base = getattr(dataset, "base", None)
    if base is not None:
        return base
    spec = dataset.spec
    if spec.kind == "image" and spec.num_classes > 0 and getattr(dataset, "y", None) is not None:
        return dataset
    return None


def classifier_key(dataset, settings: ClassifierSettings) -> str:
    fields = asdict(settings)
    if fields["warp"] == 0.0:  # the field came later: unwarped settings keep their old keys
        del fields["warp"]
    return hash_key({"identity": dataset.spec.identity, "settings": fields, "arch": ARCH_VERSION})


def _shift(x: torch.Tensor, s: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to s pixels (zero = -1 padding), one offset pair per batch row."""
    if s == 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (s, s, s, s), value=-1.0)
    dx = torch.randint(0, 2 * s + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * s + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]
    idx_n = torch.arange(n)[:, None, None, None]
    idx_c = torch.arange(x.shape[1])[None, :, None, None]
    return pad[idx_n, idx_c, rows, cols]


def _warp(x: torch.Tensor, w: float, gen: torch.Generator) -> torch.Tensor:
    """Random affine warps and stroke-thickness changes of images in [-1, 1] (see `warp`)."""
    if w == 0.0:
        return x
    n = x.shape[0]
    u = (torch.rand(n, 5, generator=gen) * 2 - 1).to(x.device)
    angle, scale = u[:, 0] * math.radians(20 * w), 1 + 0.25 * w * u[:, 1]
    aspect, shear = 1 + 0.25 * w * u[:, 2], 0.4 * w * u[:, 3]
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3, device=x.device)  # output -> input sampling grid: the inverse map
    theta[:, 0, 0], theta[:, 0, 1] = cos / (scale * aspect), -sin / scale + shear
    theta[:, 1, 0], theta[:, 1, 1] = sin / scale, cos / scale
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x + 1, grid, align_corners=False) - 1  # zero padding = background -1
    pick = (u[:, 4] * 1.5 + 1.5).long().clamp_(0, 2)[:, None, None, None]  # 0 keep, 1, 2
    thicker, thinner = F.max_pool2d(out, 3, 1, 1), -F.max_pool2d(-out, 3, 1, 1)
    return torch.where(pick == 1, thicker, torch.where(pick == 2, thinner, out))


def holdout_split(
    n: int, settings: ClassifierSettings, gen: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, training) indices of a labelled set of n: a fixed permutation drawn with `gen`
    (a fresh one seeded `settings.seed` when None, which reproduces the training run's split)."""
    gen = gen if gen is not None else torch.Generator().manual_seed(settings.seed)
    perm = torch.randperm(n, generator=gen)
    n_hold = max(1, round(n * settings.holdout))
    return perm[:n_hold], perm[n_hold:]


def train_classifier(
    dataset, settings: ClassifierSettings | None = None, *, log=None, progress: bool = False
) -> DomainClassifier:
    """Train a SmallCNN on a labelled image dataset (x [N, C, H, W] in [-1, 1], y [N] int64).

    A fixed permutation (seed `settings.seed`) holds out `settings.holdout` of the data; the
    rest trains with Adam for `settings.epochs` epochs; accuracy on the held-out part is reported.
    progress: a tqdm bar of the training steps on stderr (the CLI's choice; off by default).
    """
    s = settings or ClassifierSettings()
    x, y = getattr(dataset, "x", None), getattr(dataset, "y", None)
    if x is None or y is None or dataset.spec.num_classes < 2:
        raise DataError(f"{dataset.spec.name}: a classifier needs labelled images")
    if x.shape[-1] < 4 or x.shape[-2] < 4:
        raise DataError(f"{dataset.spec.name}: images of {tuple(x.shape[-2:])} are too small")
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        gen = torch.Generator().manual_seed(s.seed)
        hold, train = holdout_split(len(x), s, gen)
        net = SmallCNN(tuple(x.shape[1:]), dataset.spec.num_classes)
        opt = torch.optim.Adam(net.parameters(), lr=s.lr)
        per_epoch = (len(train) + s.batch_size - 1) // s.batch_size
        epochs = max(s.epochs, -(-s.min_steps // per_epoch))
        steps = epochs * per_epoch
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=steps)
        bar = None
        if progress:
            from tqdm.auto import tqdm  # lazy: only the CLI asks for bars

            bar = tqdm(total=steps, desc="classifier", unit="step", dynamic_ncols=True)
        net.train()
        for epoch in range(epochs):
            order = train[torch.randperm(len(train), generator=gen)]
            for i in range(0, len(order), s.batch_size):
                idx = order[i : i + s.batch_size]
                batch = _warp(_shift(x[idx], s.shift, gen), s.warp, gen)
                loss = F.cross_entropy(net(batch)[1], y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if bar is not None:
                    bar.update(1)
            done = f"epoch {epoch + 1}/{epochs}: loss {float(loss.detach()):.4f}"
            if bar is not None:  # the bar shows the epoch lines would say
                bar.set_postfix_str(done)
            elif log:
                log(f"classifier {done}")
        if bar is not None:
            bar.close()
    net.eval().requires_grad_(False)
    clf = DomainClassifier(net, 0.0, dataset.spec.identity, classifier_key(dataset, s))
    clf.accuracy = float((clf.predict(x[hold]) == y[hold]).double().mean())
    clf.info = {
        "settings": asdict(s),
        "arch": ARCH_VERSION,
        "n_train": len(train),
        "n_holdout": len(hold),
        "epochs": epochs,
        "seconds": round(time.perf_counter() - t0, 2),
        "in_shape": list(x.shape[1:]),
        "num_classes": dataset.spec.num_classes,
    }
    return clf


def classifier_path(key: str, cache_dir=None) -> Path:
    return cache_root(cache_dir) / "classifiers" / f"{key[:32]}.safetensors"


def load_or_train(
    dataset,
    settings: ClassifierSettings | None = None,
    *,
    cache_dir=None,
    force: bool = False,
    log=None,
    progress: bool = False,
) -> DomainClassifier:
    """The cached classifier for (dataset identity, settings), training and caching it if absent.

    progress: a bar while training (see `train_classifier`)."""
    s = settings or ClassifierSettings()
    key = classifier_key(dataset, s)
    path = classifier_path(key, cache_dir)
    loaded = None if force else load_tensors(path)
    if loaded is not None and loaded[1].get("key") == key:
        tensors, meta = loaded
        with torch.random.fork_rng(devices=[]):
            net = SmallCNN(tuple(meta["in_shape"]), meta["num_classes"])
        net.load_state_dict(tensors)
        net.eval().requires_grad_(False)
        return DomainClassifier(
            net, meta["accuracy"], meta["identity"], key, path, file_sha256(path), meta
        )
    if log:
        log(f"training the {dataset.spec.name} classifier (cached afterwards at {path})")
    clf = train_classifier(dataset, s, log=log, progress=progress)
    meta = {**clf.info, "key": key, "accuracy": clf.accuracy, "identity": clf.identity}
    atomic_save_tensors(path, clf.net.state_dict(), meta)
    clf.path, clf.weights_sha256, clf.info = path, file_sha256(path), meta
    return clf


def classifier_extractor(
    real_dataset=None,
    classifier_dataset=None,
    *,
    device: str = "cpu",
    cache_dir=None,
    log=None,
    progress: bool = False,
) -> ClassifierExtractor:
    """The ClassifierExtractor of the classifier trained on `classifier_dataset`, by default the
    labelled base of `real_dataset` (loaded from the cache, else trained and cached)."""
    source = classifier_dataset if classifier_dataset is not None else labelled_base(real_dataset)
    if source is None:
        raise ConfigError(
            "extractor 'classifier' needs labelled real data (e.g. mnist, fashion-mnist, digits)"
        )
    clf = load_or_train(source, cache_dir=cache_dir, log=log, progress=progress)
    return ClassifierExtractor(clf, device=device)


class ClassifierExtractor(Extractor):
    """Features [N, 128], probs [N, K], labels [N] from a DomainClassifier.

    Images must have the classifier's size. When they have 3 channels and the classifier 1
    (Stacked MNIST), each channel is classified separately: features are concatenated
    [N, 3 * 128], labels combine as K^2 a_0 + K a_1 + a_2 (K^3 classes) and the joint probabilities
    are the outer product of the channels' (channels treated as independent).
    """

    name = "classifier"

    def __init__(self, clf: DomainClassifier, *, device: str = "cpu") -> None:
        self.clf, self.device = clf, torch.device(device)
        self.net = clf.net.to(self.device)
        self.weights_hash = clf.weights_sha256 or clf.key
        self.preprocessing = "none ([-1, 1] at the training size)"

    def protocol(self) -> dict:
        return {
            **super().protocol(),
            "classifier_accuracy": round(self.clf.accuracy, 5),
            "classifier_data": self.clf.identity,
        }

    def num_classes(self, channels: int) -> int:
        k = self.net.num_classes
        return k**channels if channels != self.net.in_shape[0] else k

    @torch.no_grad()
    def _one(self, x: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        feats, probs = [], []
        for b in x.split(batch_size):
            f, logits = self.net(b.to(self.device, torch.float32))
            feats.append(f.cpu())
            probs.append(torch.softmax(logits.double(), dim=1).cpu())
        return torch.cat(feats), torch.cat(probs)

    def extract(self, x: torch.Tensor, *, batch_size: int = 500) -> Features:
        c, h, w = self.net.in_shape
        if x.ndim != 4 or tuple(x.shape[-2:]) != (h, w):
            raise DataError(f"classifier: expected images [N, C, {h}, {w}], got {tuple(x.shape)}")
        if x.shape[1] == c:
            f, p = self._one(x, batch_size)
            return Features(f, p, p.argmax(1))
        if c != 1:
            raise DataError(f"classifier: trained on {c}-channel images, got {x.shape[1]} channels")
        parts = [self._one(x[:, i : i + 1], batch_size) for i in range(x.shape[1])]
        k = self.net.num_classes
        labels = torch.zeros(len(x), dtype=torch.int64)
        joint = torch.ones(len(x), 1, dtype=torch.float64)
        for _, p in parts:
            labels = labels * k + p.argmax(1)
            joint = (joint[:, :, None] * p[:, None, :]).reshape(len(x), -1)
        return Features(torch.cat([f for f, _ in parts], dim=1), joint, labels)


def describe(clf: DomainClassifier) -> str:
    """One line: data, held-out accuracy, cache file."""
    return (
        f"classifier for {clf.identity}: held-out accuracy {clf.accuracy:.4f} "
        f"({json.dumps(clf.info.get('n_holdout'))} samples); weights {clf.path}"
    )

"""One-call evaluation: `evaluate(fake, real_dataset=...) -> Report`, each score with its protocol.

One feature pass per side feeds every score (FD, KID, IS, precision/recall, density/coverage);
mode counting uses the raw points (mixtures) or the classifier's labels (labelled images, Stacked
MNIST). Real features come from the cache (`ganforge.metrics.cache`). The pure math lives in
`scores` and `modes`; this module is glue.

Every Report carries a protocol record: extractor and weights hash, preprocessing, real data
identity and split, numbers of real and fake samples, seed, the scores' own settings (k, KID
subsets, IS splits) and the ganforge version. Scores measured under different protocols are not
comparable (FID in particular depends on N, Chong & Forsyth 2020): `compare_protocols` warns.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import torch

from ganforge import __version__
from ganforge.errors import ConfigError, DataError
from ganforge.metrics import scores
from ganforge.metrics.cache import cached_real_features, feature_key
from ganforge.metrics.extractors import build_extractor
from ganforge.metrics.features import Extractor, Features
from ganforge.metrics.modes import class_histogram_stats, mixture_mode_stats
from ganforge.metrics.report import (
    DEFAULT_N,
    METRICS,
    SETTINGS,
    Report,
    parse_metrics,
)

_KINDS = {
    "U": "text",
    "S": "bytes",
    "O": "Python objects",
    "V": "records",
    "b": "booleans",
    "c": "complex numbers",
    "M": "dates",
    "m": "time spans",
}


def as_samples(x, name: str) -> torch.Tensor:
    """Samples as float32 [N, D] or [N, C, H, W] (uint8 images mapped to [-1, 1]; [N, H, W] gets
    a channel), or a DataError naming `name` (a file, 'fake', 'real'): not numbers, a wrong shape,
    fewer than 2 samples, no values per sample, NaN or infinite values."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.is_complex() or t.dtype == torch.bool:
            raise DataError(f"{name}: holds {t.dtype} values, expected real numbers")
    else:
        a = np.asarray(x)
        if a.dtype.kind not in "iuf":
            what = _KINDS.get(a.dtype.kind, "values")
            raise DataError(f"{name}: holds {what} ({a.dtype}), expected real numbers")
        # native byte order (a .npy file may be big-endian), which torch requires
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("=")))
    if t.dtype == torch.uint8:  # image files: 0..255 -> [-1, 1]
        t = t.float() / 127.5 - 1.0
    if t.ndim == 3:  # [N, H, W] grayscale
        t = t[:, None]
    if t.ndim not in (2, 4) or len(t) < 2 or t[0].numel() == 0:
        raise DataError(
            f"{name}: expected >= 2 points [N, D] or images [N, C, H, W], "
            f"got shape {tuple(t.shape)}"
        )
    t = t.float()
    bad = int((~torch.isfinite(t)).flatten(1).any(1).sum())
    if bad:
        raise DataError(f"{name}: {bad} of {len(t)} samples hold NaN or infinite values")
    return t


def _tensor_identity(x: torch.Tensor) -> str:
    h = hashlib.sha256(x.contiguous().numpy().tobytes()).hexdigest()[:16]
    return f"array:{'x'.join(map(str, x.shape))}:sha256={h}"


def _split_of(identity: str) -> str | None:
    parts = identity.split(":")
    if len(parts) > 1 and all(s in ("train", "test", "all") for s in parts[1].split("+")):
        return parts[1]
    return None


def evaluate(
    fake,
    *,
    real_dataset=None,
    real=None,
    metrics="fd,kid,pr,dc,is,modes",
    n: int | None = None,
    n_real: int | None = None,
    extractor: str | Extractor = "auto",
    seed: int = 0,
    batch_size: int = 500,
    inception_weights: str | None = None,
    classifier_dataset=None,
    cache_dir: str | None = None,
    disk_cache: bool = True,
    device: str = "cpu",
    settings: dict | None = None,
    log=None,
    progress: bool = False,
    fake_name: str = "fake",
    real_name: str = "real",
) -> Report:
    """Score generated samples against real data under a recorded protocol.

    fake: samples as a tensor/array (images [N, C, H, W] in [-1, 1] or uint8, points [N, D]), or
        an object with `sample(n, seed=...)` (a loaded generator, see `ganforge.load_generator`).
    real_dataset: a ganforge Dataset (its identity names the data; its real features are cached);
        or real: a tensor/array like `fake`. Exactly one of the two.
    metrics: names from METRICS ('fd,kid,pr,dc,is,modes'); a metric that does not apply (IS on
        raw points, modes without labels or centres) is skipped and the reason kept in
        `details["skipped"]`.
    n: fake samples (default all of a tensor, else 10,000; 26,000 for Stacked MNIST modes);
    n_real: real samples (default n, capped by the dataset size). extractor: 'auto', 'inception',
    'classifier', 'raw' or an Extractor. seed: fake sampling, real subset and KID subsets.
    batch_size: feature extraction batch; it never changes a score. settings: overrides of
    SETTINGS (e.g. {"kid_subsets": 10} for cheap periodic checks); recorded in the protocol.
    progress: tqdm bars on stderr for generating, feature extraction and classifier training
    (the CLI's choice; off for library calls). fake_name, real_name: what errors call the two
    sides (the CLI passes file or checkpoint paths).

    Returns a Report whose scores are plain floats: fd, kid, kid_std, precision, recall, density,
    coverage, is, is_std, and per data kind modes/modes_strict/high_quality/reverse_kl (mixtures),
    classes/kl (labelled images), modes/kl (Stacked MNIST, of 1,000).
    """
    t0 = time.perf_counter()
    wanted = parse_metrics(metrics)
    bad = sorted(set(settings or {}) - set(SETTINGS))
    if bad:
        raise ConfigError(f"settings {bad}: unknown; allowed: {', '.join(SETTINGS)}")
    sett = {**SETTINGS, **(settings or {})}
    if (real_dataset is None) == (real is None):
        raise ConfigError("evaluate: pass exactly one of real_dataset= and real=")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size={batch_size!r}: must be a positive integer")
    spec = getattr(real_dataset, "spec", None)
    stacked = spec is not None and spec.name == "stacked-mnist"
    generator = hasattr(fake, "sample") and not isinstance(fake, (torch.Tensor, np.ndarray))
    fake_x = None if generator else as_samples(fake, fake_name)
    if n is None:
        if fake_x is not None:
            n = len(fake_x)
        else:
            n = 26_000 if stacked and "modes" in wanted else DEFAULT_N
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(f"n={n!r}: must be an integer >= 2")
    if generator:
        fake_source = f"generator step {getattr(fake, 'step', '?')}"
        fake_x = _generate(fake, n, seed=seed, progress=progress)
        try:
            fake_x = as_samples(fake_x, fake_name)
        except DataError as e:
            raise DataError(f"{e} (the generator's output, seed {seed})") from None
    else:
        fake_source = "array"
    fake_x = fake_x[:n]
    n_real = n if n_real is None else n_real
    if real_dataset is not None:
        batch = real_dataset.real_sample(n_real, seed=seed)
        real_x, real_y, identity = batch.x.float(), batch.y, spec.identity
    else:
        real_x, real_y = as_samples(real, real_name)[:n_real], None
        identity = _tensor_identity(real_x)
    if real_x.shape[1:] != fake_x.shape[1:]:
        raise DataError(
            f"{fake_name}: samples of shape {tuple(fake_x.shape[1:])} do not match "
            f"{real_name}'s {tuple(real_x.shape[1:])}"
        )
    if isinstance(extractor, str):
        kind_spec = spec
        if kind_spec is None and fake_x.ndim == 2:
            extractor = "raw" if extractor == "auto" else extractor
        elif kind_spec is None and extractor == "auto":
            extractor = "classifier" if classifier_dataset is not None else "inception"
        extractor = build_extractor(
            extractor,
            real_dataset=real_dataset,
            spec=kind_spec,
            inception_weights=inception_weights,
            classifier_dataset=classifier_dataset,
            device=device,
            cache_dir=cache_dir,
            log=log,
            progress=progress,  # a classifier trained here shows its epochs
        )
    proto_x = extractor.protocol()
    key = feature_key(proto_x, identity=identity, n=len(real_x), seed=seed)
    real_f = cached_real_features(
        key,
        lambda: _extract(extractor, real_x, batch_size, "real features", progress),
        cache_dir=cache_dir,
        disk=disk_cache and real_dataset is not None,
    )
    fake_f = _extract(extractor, fake_x, batch_size, "fake features", progress)
    # one metric at a time, so that a bar can count them (KID, P/R and D/C on 10,000 samples
    # take 10-25 s each); in METRICS order, the order of the table
    todo = [m for m in METRICS if m in wanted]
    out, details, skipped = {}, {}, {}
    bar = _bar(progress, len(todo), "scores", "metric")
    for name in todo:
        if bar is not None:
            bar.set_postfix_str(name)
        o, d = _scores(
            (name,),
            real_f,
            fake_f,
            fake_x=fake_x,
            real_y=real_y,
            spec=spec,
            stacked=stacked,
            seed=seed,
            settings=sett,
            why_no_probs=getattr(extractor, "why_no_probs", None),
        )
        out.update(o)
        skipped.update(d.pop("skipped", {}))
        details.update(d)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if skipped:
        details["skipped"] = skipped
    protocol = {
        **proto_x,
        "real_identity": identity,
        "real_split": _split_of(identity),
        "n_real": len(real_x),
        "n_fake": len(fake_x),
        "seed": seed,
        "settings": sett,
        "ganforge_version": __version__,
        "fake_source": fake_source,
        "metrics": list(wanted),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return Report(out, protocol, details)


def _bar(progress: bool, total: int | None, desc: str, unit: str):
    if not progress:
        return None
    from tqdm.auto import tqdm  # lazy: only the CLI asks for bars

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)


def _generate(g, n: int, *, seed: int, progress: bool):
    """g.sample(n, seed=seed), with a bar fed by a hook on g's network (g samples in batches)."""
    total = None if getattr(g, "ratio", None) is not None else n  # rejection: candidates
    bar = _bar(progress, total, "generate", "sample")
    if bar is None:
        return g.sample(n, seed=seed)
    net = getattr(g, "net", None)
    hook = None
    if isinstance(net, torch.nn.Module):

        def count(_module, _inputs, out) -> None:  # a hook returning a value replaces the output
            bar.update(len(out) if isinstance(out, torch.Tensor) else 0)

        hook = net.register_forward_hook(count)
    try:
        x = g.sample(n, seed=seed)
        if bar.total is not None and bar.n < bar.total:  # a net the hook could not count
            bar.update(bar.total - bar.n)
        return x
    finally:
        if hook is not None:
            hook.remove()
        bar.close()


def _extract(extractor: Extractor, x: torch.Tensor, batch_size: int, desc: str, progress: bool):
    """extractor.extract(x), one batch per call when a bar shows progress: the same batches as
    one call makes, so the same features."""
    bar = _bar(progress, len(x), desc, "sample")
    if bar is None:
        return extractor.extract(x, batch_size=batch_size)
    parts = []
    with bar:
        for i in range(0, len(x), batch_size):
            parts.append(extractor.extract(x[i : i + batch_size], batch_size=batch_size))
            bar.update(len(parts[-1].features))

    def cat(ts):
        return None if ts[0] is None else torch.cat(ts)

    return Features(
        cat([p.features for p in parts]),
        cat([p.probs for p in parts]),
        cat([p.labels for p in parts]),
    )


def _scores(
    wanted, real_f: Features, fake_f: Features, *, fake_x, real_y, spec, stacked, seed, settings,
    why_no_probs=None,
):
    s, out, skipped, details = settings, {}, {}, {}
    rf, ff = real_f.features, fake_f.features
    if "fd" in wanted:
        out["fd"] = scores.frechet_distance_from_features(rf, ff)
    if "kid" in wanted:
        out["kid"], out["kid_std"] = scores.kernel_inception_distance(
            rf, ff, subsets=s["kid_subsets"], subset_size=s["kid_subset_size"], seed=seed
        )
    if "pr" in wanted:
        out["precision"], out["recall"] = scores.precision_recall(rf, ff, k=s["pr_k"])
    if "dc" in wanted:
        out["density"], out["coverage"] = scores.density_coverage(rf, ff, k=s["dc_k"])
    if "is" in wanted:
        if fake_f.probs is None:
            skipped["is"] = why_no_probs or "the extractor gives no class probabilities"
        elif len(ff) < s["is_splits"]:
            skipped["is"] = f"needs at least {s['is_splits']} samples"
        else:
            out["is"], out["is_std"] = scores.inception_score(fake_f.probs, splits=s["is_splits"])
    if "modes" in wanted:
        if spec is not None and spec.modes is not None:
            m = mixture_mode_stats(fake_x, spec.modes, spec.mode_std,
                                   weights=getattr(spec, "mode_weights", None))
            out.update(
                {k: float(m[k]) for k in ("modes", "modes_strict", "high_quality", "reverse_kl")}
            )
            details["mode_counts"] = m["counts"]
        elif stacked and fake_f.labels is not None:
            from ganforge.metrics.modes import stacked_mode_stats

            m = stacked_mode_stats(fake_f.labels)
            out["modes"], out["kl"] = float(m["modes"]), m["kl"]
        elif fake_f.labels is not None and spec is not None and spec.num_classes:
            ref = real_y if real_y is not None else real_f.labels
            m = class_histogram_stats(fake_f.labels, spec.num_classes, real_labels=ref)
            out["classes"], out["kl"] = float(m["classes_covered"]), m["kl"]
            details["class_histogram"] = m["histogram"]
        else:
            skipped["modes"] = "needs mixture centres or labelled data with a classifier"
    if skipped:
        details["skipped"] = skipped
    return out, details

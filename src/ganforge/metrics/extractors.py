"""Pick a feature extractor by name: Inception, ganforge's domain classifier, or raw points."""

from __future__ import annotations

from ganforge.errors import ConfigError
from ganforge.metrics.features import Extractor, RawExtractor

EXTRACTORS = ("auto", "inception", "classifier", "raw")


def default_extractor_name(spec) -> str:
    """'raw' for non-image data; 'classifier' for MNIST, Fashion-MNIST, digits, Stacked MNIST;
    'inception' for other images."""
    if spec is None or spec.kind != "image":
        return "raw"
    if spec.name in ("mnist", "fashion-mnist", "digits", "stacked-mnist"):
        return "classifier"
    return "inception"


def build_extractor(
    name: str,
    *,
    real_dataset=None,
    spec=None,
    inception_weights: str | None = None,
    classifier_dataset=None,
    device: str = "cpu",
    cache_dir: str | None = None,
    log=None,
    progress: bool = False,
) -> Extractor:
    """The extractor `name` (one of EXTRACTORS) for data described by `spec`.

    'inception' is `inception_fid.inception_extractor(inception_weights)`: the standard TF-FID
    network of the `ganforge[inception]` extra unless a weights file is given.

    The classifier extractor trains (or loads from the cache) a classifier on the labelled
    `classifier_dataset`, by default the labelled base of `real_dataset` (with a progress bar
    when `progress`).
    """
    spec = spec if spec is not None else getattr(real_dataset, "spec", None)
    if name not in EXTRACTORS:
        raise ConfigError(f"extractor {name!r}: choose from {', '.join(EXTRACTORS)}")
    if name == "auto":
        name = default_extractor_name(spec)
    if name == "raw":
        return RawExtractor()
    if name == "inception":
        # the extra's reference TorchScript, or a pytorch-fid file for the own port
        from ganforge.metrics.inception_fid import inception_extractor

        return inception_extractor(inception_weights, device=device)
    from ganforge.metrics.classifier import classifier_extractor

    return classifier_extractor(real_dataset, classifier_dataset, device=device,
                                cache_dir=cache_dir, log=log, progress=progress)

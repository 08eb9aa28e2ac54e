"""Evaluation metrics: pure scores on features (`scores`) and mode counting (`modes`).

`scores` holds the math of FID, KID, IS, precision/recall and density/coverage on already-extracted
feature arrays; `modes` counts covered mixture modes or classes. Feature extractors, caching and
the CLI build on these and live in their own modules.
"""

from ganforge.metrics.modes import (
    class_histogram_stats,
    code_class_match,
    dominant_mode,
    mixture_mode_stats,
)
from ganforge.metrics.scores import (
    density_coverage,
    feature_stats,
    frechet_distance,
    frechet_distance_from_features,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)

__all__ = [
    "class_histogram_stats",
    "code_class_match",
    "density_coverage",
    "dominant_mode",
    "feature_stats",
    "frechet_distance",
    "frechet_distance_from_features",
    "inception_score",
    "kernel_inception_distance",
    "mixture_mode_stats",
    "precision_recall",
]

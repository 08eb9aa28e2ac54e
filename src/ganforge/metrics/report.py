"""Evaluation reports: scores with their protocol record, saved as JSON, and protocol checks.

A `Report` holds the scores of one evaluation and the protocol they were measured under
(extractor and weights hash, preprocessing, real data identity and split, numbers of samples,
seed, the scores' own settings, the ganforge version). Scores measured under different
protocols are not comparable (FID in particular depends on N, Chong & Forsyth 2020):
`compare_protocols` says which keys differ and warns.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ganforge.errors import ConfigError, DataError

METRICS = ("fd", "kid", "pr", "dc", "is", "modes")
DEFAULT_N = 10_000
# Direction of every score key a Report can hold (best checkpoint, early stopping, plots).
LOWER_IS_BETTER = frozenset({"fd", "kid", "kl", "reverse_kl"})
HIGHER_IS_BETTER = frozenset(
    {
        "is",
        "precision",
        "recall",
        "density",
        "coverage",
        "classes",
        "modes",
        "modes_strict",
        "high_quality",
    }
)
SETTINGS = {"pr_k": 3, "dc_k": 5, "kid_subsets": 100, "kid_subset_size": 1000, "is_splits": 10}
# Keys that describe a run, not the measurement: they never make two protocols incomparable.
_NOT_PROTOCOL = frozenset({"fake_source", "metrics", "seconds"})


class ProtocolWarning(UserWarning):
    """Scores measured under different protocols are being compared or plotted together."""


def parse_metrics(metrics) -> tuple[str, ...]:
    """'fd,kid' or ['fd', 'kid'] -> ('fd', 'kid'); unknown names are a ConfigError."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [m.strip() for m in names if m.strip()]
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise ConfigError(f"metrics {bad or names!r}: choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


@dataclass
class Report:
    """scores: name -> float; protocol: how they were measured; details: histograms, skips."""

    scores: dict[str, float]
    protocol: dict
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"scores": self.scores, "protocol": self.protocol, "details": self.details}

    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Write JSON atomically (temporary file + os.replace).

        overwrite=False raises FileExistsError when `path` exists, checked by a hard link (which
        fails on an existing name) so that a concurrent writer cannot slip in between.
        """
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        try:
            if overwrite:
                os.replace(tmp, path)
                return path
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # a filesystem without hard links: check, then replace
                if path.exists():
                    raise FileExistsError(path) from None
                os.replace(tmp, path)
            return path
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Report:
        try:
            d = json.loads(Path(path).read_text())
            return cls(d["scores"], d["protocol"], d.get("details", {}))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(
                f"{path}: not a ganforge evaluation report ({type(e).__name__})"
            ) from None

    def table(self) -> str:
        """Scores as an aligned two-column text table, with the protocol's main facts below."""
        w = max([len(k) for k in self.scores] + [6])
        lines = [f"{'metric':<{w}}  value", f"{'-' * w}  ---------"]
        lines += [f"{k:<{w}}  {v:.6g}" for k, v in self.scores.items()]
        p = self.protocol
        if p.get("kind") == "translation":  # metrics/translation.py
            lines.append(f"({p['objective']} at step {p['step']}, {p['weights']} weights; "
                         f"{p['split']} split: {p['n_a']} sources, {p['n_b']} targets of "
                         f"{p['data']}; PSNR/SSIM on {p['psnr_ssim']})")
        else:
            lines.append(
                f"({p['extractor']} features; {p['n_fake']} fake vs {p['n_real']} real of "
                f"{p['real_identity']}; seed {p['seed']})"
            )
        for name, why in self.details.get("skipped", {}).items():
            lines.append(f"skipped {name}: {why}")
        return "\n".join(lines)


def compare_protocols(*reports, warn: bool = True) -> list[str]:
    """Protocol keys on which the given Reports (or protocol dicts) differ; warns ProtocolWarning."""
    protos = [r.protocol if isinstance(r, Report) else r for r in reports]
    keys = sorted({k for p in protos for k in p} - _NOT_PROTOCOL)
    diff = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in protos}) > 1]
    if diff and warn:
        warnings.warn(
            f"scores measured under different protocols (differ in: {', '.join(diff)}); "
            "they are not comparable",
            ProtocolWarning,
            stacklevel=2,
        )
    return diff

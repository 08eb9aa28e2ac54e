"""Caches for evaluation: where they live, and real-data features keyed by everything that matters.

Real-data features are the expensive, unchanging half of every score, so they are computed once
per protocol and kept twice: in memory (periodic evaluation during training pays for them once)
and on disk under `<cache root>/features/<key>.safetensors`. The key is a sha256 of every setting
that changes the numbers: the extractor, its weights hash and preprocessing, the real data's
identity, the number of real samples, the sampling seed and the feature-code version. Files are
written to a temporary name and moved into place with `os.replace`, so a crash never leaves a
file that looks complete (the rule of stylegan2-ada's metric cache).

The cache root is `cache_dir` when given, else `$GANFORGE_CACHE`, else `~/.cache/ganforge`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from ganforge.metrics.features import Features

FEATURE_CODE_VERSION = 1  # bump when extraction changes numbers for the same settings
CACHE_ENV = "GANFORGE_CACHE"
_MEMORY: dict[str, Features] = {}
_MEMORY_MAX = 8


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """`cache_dir`, else `$GANFORGE_CACHE`, else `~/.cache/ganforge` (never inside the package)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganforge"


def hash_key(obj: dict) -> str:
    """sha256 hex of `obj` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def feature_key(protocol: dict, *, identity: str, n: int, seed: int) -> str:
    """The cache key of real features: extractor protocol + data identity + n + seed + version."""
    return hash_key(
        {
            "protocol": protocol,
            "identity": identity,
            "n": int(n),
            "seed": int(seed),
            "version": FEATURE_CODE_VERSION,
        }
    )


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict) -> Path:
    """safetensors file at `path` via a temporary file and `os.replace`; metadata stored as JSON."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in tensors.items()},
        str(tmp),
        metadata={"ganforge": json.dumps(metadata)},
    )
    os.replace(tmp, path)
    return path


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict] | None:
    """(tensors, metadata) from `atomic_save_tensors`, or None when missing or unreadable."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("ganforge", "{}"))
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError):
        return None  # a damaged cache entry is recomputed, never trusted


def cached_real_features(key: str, compute, *, cache_dir=None, disk: bool = True) -> Features:
    """Features for `key` from memory, else disk, else `compute()` (then stored in both).

    compute: a zero-argument callable returning `Features`.
    """
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_root(cache_dir) / "features" / f"{key[:32]}.safetensors"
    loaded = load_tensors(path) if disk else None
    if loaded is not None and loaded[1].get("key") == key:
        t = loaded[0]
        feats = Features(t["features"], t.get("probs"), t.get("labels"))
    else:
        feats = compute()
        if disk:
            tensors = {"features": feats.features}
            if feats.probs is not None:
                tensors["probs"] = feats.probs
            if feats.labels is not None:
                tensors["labels"] = feats.labels
            atomic_save_tensors(path, tensors, {"key": key})
    if len(_MEMORY) >= _MEMORY_MAX:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = feats
    return feats


def clear_memory_cache() -> None:
    _MEMORY.clear()

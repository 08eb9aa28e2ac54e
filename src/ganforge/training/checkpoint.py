"""Full-state checkpoints as one safetensors file, written atomically; no pickle.

A checkpoint holds every tensor of the training state (networks, EMA, optimizer moments, RNG
states) as safetensors entries, and everything else (step, config, optimizer hyper-parameters,
generator arch) as JSON in the safetensors header metadata. Nested state is flattened: each
tensor is replaced in the JSON tree by {"__tensor__": key}.

Files are written to `<name>.tmp` and moved into place with `os.replace`, then `latest` (a text
file naming the newest checkpoint) is replaced the same way: a crash at any moment leaves the
previous checkpoint intact and `latest` pointing at a complete file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganforge.errors import CheckpointError, ConfigError

CKPT_DIR = "checkpoints"
LATEST = "latest"
META_KEY = "ganforge"


def _flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = prefix.rstrip(".")
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        # JSON keys must be strings; optimizer state uses int keys, so remember the key type.
        return {
            "__dict__": [[k, _flatten(v, f"{prefix}{k}.", tensors)] for k, v in obj.items()]
        }
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{prefix}{i}.", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    raise TypeError(f"cannot checkpoint value of type {type(obj).__name__} at {prefix!r}")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {k: _unflatten(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_state(path: str | Path, state: dict[str, Any]) -> Path:
    """Write `state` (nested dicts/lists of tensors and JSON values) to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, "", tensors)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(tree)})
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a file written by `save_state`; a missing or corrupt file is a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        tree = json.loads(meta[META_KEY])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable ganforge checkpoint ({e})") from None
    return _unflatten(tree, tensors)


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def save_checkpoint(run_dir: str | Path, step: int, state: dict[str, Any], *, keep: int = 2) -> Path:
    """Save the state of `step` under run_dir/checkpoints, point `latest` at it, prune old ones."""
    ckdir = Path(run_dir) / CKPT_DIR
    path = save_state(ckdir / checkpoint_name(step), state)
    _atomic_write_text(ckdir / LATEST, path.name + "\n")
    olds = sorted(p for p in ckdir.glob("step-*.safetensors") if p != path)
    for p in olds[: max(0, len(olds) - (keep - 1))]:
        p.unlink(missing_ok=True)
    return path


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint file from a run folder (its `latest`) or a checkpoint file path."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(f"{path}: no such run folder or checkpoint file")
    latest = path / CKPT_DIR / LATEST
    if not latest.is_file():
        raise CheckpointError(f"{path}: no checkpoint found (expected {latest})")
    ck = latest.parent / latest.read_text().strip()
    if not ck.is_file():
        raise CheckpointError(f"{latest}: names {ck.name}, which is missing")
    return ck


def upgrade_state(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint state in the current layout (format 2). Format 1 (one G and one D) kept
    G's arch under "arch", its EMA under "ema" and rejection sampling's R under "ratio"."""
    if state.get("format", 1) >= 2:
        return state
    out = dict(state)
    out["format"] = 2
    out["archs"] = {"G": {"kind": "generator", "args": state["arch"]}}
    out["sample_net"] = "G"
    out["emas"] = {"G": state["ema"]} if state.get("ema") is not None else {}
    out["callbacks"] = {"rejection": state["ratio"]} if state.get("ratio") is not None else {}
    for k in ("arch", "ema", "ratio"):
        out.pop(k, None)
    return out


# keys that may differ between a run's checkpoint and its resumption (edited config.json or
# --set / --steps on resume): how long, how often to log and save, the lr schedule, where the
# data lives, and how to react to divergence. Anything else changes the run's meaning.
RESUMABLE_KEYS = frozenset({
    "train.steps", "train.tick", "train.sample_every", "train.checkpoint_every",
    "train.keep_checkpoints", "train.grid_size", "train.lr_schedule", "train.lr_final",
    "train.diagnose", "train.eval_every", "train.eval_metrics", "train.eval_n",
    "train.best_metric", "train.patience", "train.threads", "train.device",
    "train.on_divergence", "train.rollback_tries", "train.rollback_lr_factor",
    "train.max_loss", "train.saturation_ticks", "data.data_dir", "data.download",
})


def checkpoints_newest_first(run_dir: str | Path) -> list[Path]:
    return sorted((Path(run_dir) / CKPT_DIR).glob("step-*.safetensors"), reverse=True)


def non_finite_key(weights: dict) -> str | None:
    """The name of the first floating-point tensor of a state dict holding NaN/inf, or None."""
    return next((k for k, t in weights.items() if isinstance(t, torch.Tensor)
                 and t.is_floating_point() and not torch.isfinite(t).all()), None)


def finite_state(state: dict) -> bool:
    """Whether every network and EMA weight of a (format 2) state is finite."""
    sds = [*state.get("nets", {}).values(), *state.get("emas", {}).values()]
    return all(non_finite_key(sd) is None for sd in sds)


def newest_good_in(folder: str | Path) -> tuple[Path, dict] | None:
    """(path, state) of the newest step-*.safetensors in `folder` that reads and holds finite
    weights."""
    for p in sorted(Path(folder).glob("step-*.safetensors"), reverse=True):
        try:
            state = upgrade_state(load_state(p))
        except CheckpointError:
            continue
        if finite_state(state):
            return p, state
    return None


def newest_good_state(run_dir: str | Path) -> tuple[Path, dict] | None:
    """(path, state) of the newest checkpoint of a run that reads and holds finite weights."""
    return newest_good_in(Path(run_dir) / CKPT_DIR)


def _flat_config(d: dict) -> dict:
    from ganforge.config import upgrade_flat

    return upgrade_flat({f"{k}.{kk}" if isinstance(v, dict) else k: vv for k, v in d.items()
                         for kk, vv in (v.items() if isinstance(v, dict) else [(k, v)])})


def check_resume_changes(saved: dict, new: dict, source: str) -> list[str]:
    """The keys whose values differ between two config dicts; a one-line ConfigError when one of
    them may not change on resume. `source` names where the change came from."""
    a, b = _flat_config(saved), _flat_config(new)
    changed = sorted(k for k in b if a.get(k) != b[k])
    fixed = [k for k in changed if k not in RESUMABLE_KEYS and k != "preset"]
    if fixed:
        k = fixed[0]
        raise ConfigError(
            f"{source}: {k} changed ({a.get(k)!r} -> {b[k]!r}), which a resumed run cannot "
            f"change; only {', '.join(sorted(k.split('.', 1)[1] for k in RESUMABLE_KEYS))} "
            "may (train.* and data.*); start a new run instead"
        )
    return changed


def read_resumable(run_dir: str | Path, overrides: dict | None = None, *, log=print):
    """(config, state, run folder) of a run's latest checkpoint, ready to continue.

    A latest checkpoint that cannot be read (truncated, corrupt) or holds non-finite weights
    gives way to the newest intact one beside it, and `log` says so. Edits to the run's
    config.json and `overrides` (--steps, --set) are honoured for RESUMABLE_KEYS and refused for
    any other key.
    """
    import json

    from ganforge.config import apply_overrides, from_dict

    run_dir = Path(run_dir)
    try:
        ck = find_checkpoint(run_dir)
        state = upgrade_state(load_state(ck))
        if not finite_state(state):
            raise CheckpointError(f"{ck}: holds non-finite weights")
    except CheckpointError as e:
        good = newest_good_state(run_dir) if run_dir.is_dir() else None
        if good is None:
            raise CheckpointError(f"{e}; no intact checkpoint beside it") from None
        ck, state = good
        log(f"{e}; resuming from {ck.name}, the newest intact checkpoint")
    run = run_dir if run_dir.is_dir() else ck.parent.parent
    saved = state["config"]
    edited = run / "config.json"
    if edited.is_file():
        try:
            on_disk = json.loads(edited.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"{edited}: not readable JSON ({e})") from None
        changed = check_resume_changes(saved, on_disk, str(edited))
        if changed:
            log(f"{edited}: honouring the edited {', '.join(changed)}")
        saved = on_disk
    cfg = from_dict(saved)
    if overrides:
        check_resume_changes(cfg.to_dict(), apply_overrides(cfg, overrides).to_dict(),
                             "--resume with --set/--steps")
        cfg = apply_overrides(cfg, overrides)
    return cfg, state, run

"""Every random state of a run, saved and restored, so a resumed run continues bit for bit.

The trainer's own streams (data, noise) are per rank and gathered from all ranks; the global
torch, CUDA, numpy and Python states are saved too, since libraries (scikit-learn fits, numpy
draws in callbacks) read them. numpy's MT19937 state is saved whole (keys, position, the cached
Gaussian), with its uint32 keys as int64 so they survive the tensor file.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from ganforge.errors import CheckpointError


def seed_globals(seed: int) -> None:
    """Seed the global torch, numpy and Python streams from the run's seed: what a run saves of
    them then depends on the run alone, not on the process that started it."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def capture(streams: dict[str, torch.Tensor], dist, device: torch.device) -> dict:
    """The states of `streams` (this rank's generator states) from every rank, plus the globals."""
    if dist.enabled:
        per_rank = {}
        for k, s in streams.items():
            s = s.to(device) if device.type == "cuda" else s
            out = [torch.empty_like(s) for _ in range(dist.world)]
            torch.distributed.all_gather(out, s)
            per_rank[k] = [o.cpu() for o in out]
    else:
        per_rank = {k: [v] for k, v in streams.items()}
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        **per_rank,
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "python": _py_state_to_json(random.getstate()),
    }


def restore(rng: dict, gens: dict[str, torch.Generator], dist) -> None:
    """Set `gens` (by stream name) to this rank's saved states, and the global states."""
    first = next(iter(gens))
    if len(rng[first]) != dist.world:
        raise CheckpointError(
            f"checkpoint was written by {len(rng[first])} processes, resuming with "
            f"{dist.world}: resume with the same --nproc_per_node"
        )
    for k, g in gens.items():
        g.set_state(rng[k][dist.rank])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    name, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), int(pos), int(has_gauss),
                         float(cached)))
    random.setstate(_py_state_from_json(rng["python"]))


def _py_state_to_json(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _py_state_from_json(obj):
    version, internal, gauss = obj
    return (version, tuple(internal), gauss)


class isolated:
    """Context: whatever runs inside (tick callbacks, pictures) leaves the global torch, numpy
    and Python random states as it found them, so a probe that draws from them (a scikit-learn
    fit, a resumed callback setting up late) cannot make a resumed run differ."""

    def __enter__(self):
        self._states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
        return self

    def __exit__(self, *exc):
        t, n, p = self._states
        torch.set_rng_state(t)
        np.random.set_state(n)
        random.setstate(p)
        return False

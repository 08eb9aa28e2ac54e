"""A trainer's full state for checkpoints, and its restoration on resume.

Networks (with every network's arch record), EMAs, optimizers, the objective's and callbacks'
state, divergence rollbacks, and every random state (training/rng.py): what an uninterrupted run
would hold at that step, so a resumed run continues bit for bit.
"""

from __future__ import annotations

from ganforge import __version__
from ganforge.errors import CheckpointError
from ganforge.training import rng
from ganforge.training.callbacks import callback_states, load_callback_states
from ganforge.training.checkpoint import upgrade_state


def capture_state(self) -> dict:
    """Everything the trainer `self` must save to resume, as nested dicts of tensors and JSON."""
    streams = {"data": self.data_gen.get_state(), "z": self.z_gen.get_state()}
    return {
        "format": 2,
        "ganforge_version": __version__,
        "step": self.step,
        "config": self.cfg.to_dict(),
        "archs": {k: getattr(v, "arch", None) for k, v in self.nets.items()},
        "sample_net": self.objective.sample_net,
        "data": self.spec.summary(),
        "nets": {k: v.state_dict() for k, v in self.nets.items()},
        "emas": {k: v.state_dict() for k, v in self.ema.items()},
        "opts": {k: v.state_dict() for k, v in self.opts.items()},
        "objective": self.objective.state_dict(),
        "callbacks": callback_states(self.callbacks),
        "health": {"rollbacks": self.rollbacks},
        "scaler": self.scaler.state_dict() if self.scaler is not None else None,
        "rng": rng.capture(streams, self.dist, self.device),
    }


def restore_state(self, state: dict) -> None:
    """Load `capture_state` output (any checkpoint format) into the trainer `self`."""
    state = upgrade_state(state)
    try:
        for k, net in self.nets.items():
            net.load_state_dict(state["nets"][k])
        for k, ema in self.ema.items():
            ema.load_state_dict(state["emas"][k])
        for k, opt in self.opts.items():
            opt.load_state_dict(state["opts"][k])
    except (KeyError, RuntimeError, ValueError) as e:
        msg = str(e).splitlines()[0]
        raise CheckpointError(f"checkpoint does not fit this config: {msg}") from None
    if self.scaler is not None and state.get("scaler"):
        self.scaler.load_state_dict(state["scaler"])
    self.objective.load_state_dict(state.get("objective", {}))
    load_callback_states(self.callbacks, state.get("callbacks", {}))
    rng.restore(state["rng"], {"data": self.data_gen, "z": self.z_gen}, self.dist)
    self.step = int(state["step"])
    self.rollbacks = int(state.get("health", {}).get("rollbacks", 0))

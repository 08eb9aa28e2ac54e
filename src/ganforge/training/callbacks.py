"""What a training callback is: code that reads the trainer at ticks and at the last step.

The trainer names no callback. Whoever starts a run (`ganforge.runner`, the CLI, a script)
passes factories `f(trainer) -> callback`; the trainer builds them once its networks exist.
Live diagnostics, periodic evaluation and rejection sampling are callbacks. A callback:
- is called at every tick as `cb(trainer, record) -> dict | None` (values joined to the record);
- may define `on_fit_start(trainer)` (before the first step of `fit`) and `on_last_step(trainer)`
  (after the last tick, before the last picture and checkpoint);
- may hold state that must survive a resume: `name`, `state_dict()` (JSON and tensors, or None)
  and `load_state_dict(state)`, saved in the checkpoint under `callbacks/<name>`;
- draws randomness only from its own generators. The trainer also runs it inside
  `rng.isolated()`, so the global random states are untouched either way.
"""

from __future__ import annotations

from typing import Protocol


class Callback(Protocol):
    def __call__(self, trainer, record: dict) -> dict | None: ...


def call_hook(cb, hook: str, *args) -> None:
    """Call `cb.<hook>(*args)` if the callback defines it."""
    fn = getattr(cb, hook, None)
    if fn is not None:
        fn(*args)


def callback_states(callbacks) -> dict:
    """{name: state} of the callbacks that keep state."""
    out = {}
    for cb in callbacks:
        name = getattr(cb, "name", None)
        if name and hasattr(cb, "state_dict"):
            out[name] = cb.state_dict()
    return out


def load_callback_states(callbacks, states: dict) -> None:
    for cb in callbacks:
        name = getattr(cb, "name", None)
        if name and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(states.get(name))

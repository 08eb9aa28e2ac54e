"""Game-aware optimizers: Optimistic Adam and Extra Adam, as torch.optim.Optimizer subclasses.

Plain gradient steps (and plain Adam) circle or spiral away from the equilibrium of a bilinear game;
both optimizers here converge on it (see ganforge.games and docs/games.md).

- OptimisticAdam (Daskalakis et al. 2018, "Training GANs with optimism", Alg. 1):
      u_t = m_hat_t / (sqrt(v_hat_t) + eps),   theta_{t+1} = theta_t - lr * (2 u_t - u_{t-1}),
  with u_{-1} = u_0, so the first step is a plain Adam step.
- ExtraAdam (Gidel et al. 2019, "A variational inequality perspective on GANs", Alg. 4):
  `extrapolate()` saves theta and takes an Adam step to the look-ahead point theta_half; the caller
  then recomputes gradients at theta_half and calls `step()`, which restores theta and applies an
  Adam step with the look-ahead gradient. Both calls advance the Adam moments, as in the authors'
  code. Without a preceding `extrapolate()`, `step()` is a plain Adam step.

`make_optimizer` builds any optimizer the config names (Adam, SGD, RMSprop or the two above);
`lr_factor` is the learning-rate schedule the trainer applies each step, and `ramp` the curve
every other ramped hyper-parameter follows (Adam's beta2, the EMA half-life: `ema_decay`).

All state (moments, step counts, previous direction, saved parameters) is kept in tensors in
`self.state`, so `state_dict()` / `load_state_dict()` resume exactly, even between the two halves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer

from ganforge.errors import ConfigError, GanforgeError
from ganforge.schedules import progress, ramp


def _check(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    if not lr > 0:
        raise ConfigError(f"optimizer lr must be > 0, got {lr}")
    if not all(0.0 <= b < 1.0 for b in betas):
        raise ConfigError(f"optimizer betas must lie in [0, 1), got {betas}")
    if not eps >= 0:
        raise ConfigError(f"optimizer eps must be >= 0, got {eps}")
    if not weight_decay >= 0:
        raise ConfigError(f"optimizer weight_decay must be >= 0, got {weight_decay}")


@torch.no_grad()
def _adam_direction(p: torch.Tensor, state: dict, group: dict) -> torch.Tensor:
    """Advance p's Adam moments with p.grad (+ L2 weight decay); return m_hat / (sqrt(v_hat) + eps)."""
    b1, b2 = group["betas"]
    g = p.grad
    if group["weight_decay"]:
        g = g.add(p, alpha=group["weight_decay"])
    if "step" not in state:
        state["step"] = torch.zeros((), dtype=torch.float64)
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    state["step"] += 1
    t = float(state["step"])
    state["exp_avg"].mul_(b1).add_(g, alpha=1 - b1)
    state["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (state["exp_avg_sq"] / (1 - b2**t)).sqrt_().add_(group["eps"])
    return state["exp_avg"] / (1 - b1**t) / denom


class _AdamFamily(Optimizer):
    """Shared constructor: Adam's hyper-parameters, checked, as the default param group."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        _check(lr, betas, eps, weight_decay)
        super().__init__(
            params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        )


class OptimisticAdam(_AdamFamily):
    """Optimistic Adam: theta <- theta - lr * (2 u_t - u_{t-1}) with u the Adam direction.

    params: tensors or param groups. lr > 0; betas in [0, 1); eps >= 0; weight_decay: L2 >= 0.
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                u = _adam_direction(p, state, group)
                u_prev = state.get("prev_direction", u)
                p.add_(2 * u - u_prev, alpha=-group["lr"])
                state["prev_direction"] = u
        return loss


class ExtraAdam(_AdamFamily):
    """Extragradient with Adam steps: call `extrapolate()`, recompute gradients, then `step()`.

    params: tensors or param groups. lr > 0; betas in [0, 1); eps >= 0; weight_decay: L2 >= 0.
    """

    @torch.no_grad()
    def extrapolate(self) -> None:
        """Save the parameters and move them to the look-ahead point theta - lr * u(grad)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["backup"] = p.detach().clone()
                p.add_(_adam_direction(p, state, group), alpha=-group["lr"])

    @property
    def extrapolated(self) -> bool:
        """True between `extrapolate()` and `step()`."""
        return any("backup" in s for s in self.state.values())

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """Restore the saved parameters and step them with the gradient now in .grad."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                backup = state.pop("backup", None)
                if p.grad is None:
                    if backup is not None:
                        p.copy_(backup)
                    continue
                u = _adam_direction(p, state, group)
                if backup is not None:
                    p.copy_(backup)
                p.add_(u, alpha=-group["lr"])
        return loss


def _undecorated(fn):
    """The method under torch's lazy `_disable_dynamo` wrapper, whose first call imports
    torch._dynamo (2.3 s of start-up here, the largest single cost of a short run); ganforge
    never compiles optimizer code, so the wrapper has nothing to disable."""
    return getattr(fn, "__wrapped__", fn)


class LeanAdam(torch.optim.Adam):
    """torch.optim.Adam with the fused kernel, minus the per-step bookkeeping.

    `torch.optim.Adam.step` regroups the tensors by device and dtype, walks its hooks and imports
    torch._dynamo on every call: 250 us for a 2-layer MLP on one CPU thread, of which the fused
    kernel is 115 us. This step keeps the tensor lists, creates the state as torch does (zero
    moments, a float32 step count on the parameter's device) and calls the same two kernels
    (`_foreach_add_` on the step counts, `_fused_adam_`) in the same order, so the update is
    bit-identical and the state dict is torch's (tests/test_speed_parts.py). Anything unusual (a
    closure, AMSGrad, maximize, a tensor lr, a missing gradient, parameters on several devices,
    a loss scaler's unscaling) takes torch's own step. Step hooks (`register_step_pre_hook`)
    are not run.
    """

    _lists: list | None = None

    def _patch_step_function(self) -> None:
        # torch wraps `step` in a profiler record and its step hooks (about 0.1 ms a call);
        # ganforge registers no step hooks, so LeanAdam.step stays unwrapped
        self._zero_grad_profile_name = f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"

    def add_param_group(self, param_group: dict) -> None:
        _undecorated(Optimizer.add_param_group)(self, param_group)
        self._lists = None

    def state_dict(self):
        return _undecorated(Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict) -> None:
        _undecorated(Optimizer.load_state_dict)(self, state_dict)
        # a checkpoint stores tensors contiguous; the fused kernel walks a parameter and its
        # moments as flat arrays, so moments must share the parameter's layout (channels-last
        # convolutions, training/placement.py) or each element meets another's moment
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p, {})
                for k, v in st.items():
                    if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                        st[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)
        self._lists = None  # the state tensors were replaced

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            return super().zero_grad(set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self, closure=None):
        if closure is None and self._lists is None:
            self._lists = self._group_lists()
        scaled = getattr(self, "grad_scale", None) is not None or \
            getattr(self, "found_inf", None) is not None  # set by torch.amp.GradScaler
        if closure is not None or scaled or not self._lists or any(
            p.grad is None for lists in self._lists for p in lists[0]
        ):
            return super().step(closure)
        for (params, exp_avgs, exp_avg_sqs, steps), group in zip(self._lists, self.param_groups):
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            torch._fused_adam_(
                params, [p.grad for p in params], exp_avgs, exp_avg_sqs, [], steps,
                amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2,
                weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
                grad_scale=None, found_inf=None,
            )
        return None

    def _group_lists(self):
        """Per group (params, exp_avgs, exp_avg_sqs, steps) when the lean step applies, else None;
        creates missing state the way torch's fused Adam does."""
        out = []
        for group in self.param_groups:
            params = list(group["params"])
            if (not group["fused"] or group["amsgrad"] or group["maximize"]
                    or group["capturable"] or group["differentiable"]
                    or group.get("decoupled_weight_decay") or isinstance(group["lr"], torch.Tensor)
                    or len({(p.device, p.dtype) for p in params}) > 1):
                return None
            for p in params:
                st = self.state[p]
                if not st:
                    st["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                    st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            st = [self.state[p] for p in params]
            out.append((params, [s["exp_avg"] for s in st], [s["exp_avg_sq"] for s in st],
                        [s["step"] for s in st]))
        return out


def lr_factor(schedule: str, step: int, total: int, final: float) -> float:
    """Multiplier of the initial lr at `step` of `total`: `ramp` from 1 to `final`."""
    return ramp(schedule, progress(step, total), 1.0, final)


def half_life(decay: float) -> float:
    """ln 0.5 / ln beta: the steps after which an EMA of decay beta in (0, 1) weighs a value by
    one half."""
    return math.log(0.5) / math.log(decay)


def ema_decay(train, step: int) -> float:
    """The EMA decay at `step` for a TrainConfig: `train.ema`, or with `train.ema_final` the decay
    0.5^(1/h) whose half-life h ramps from train.ema's to train.ema_final's along
    train.lr_schedule's curve (Huang et al. 2024 ramp the EMA half-life up over training)."""
    if train.ema_final is None:
        return train.ema
    h = ramp(train.lr_schedule, progress(step, train.steps), half_life(train.ema),
             half_life(train.ema_final))
    return 0.5 ** (1.0 / h)


def make_optimizer(params, ocfg) -> torch.optim.Optimizer:
    """Adam (betas), SGD (momentum), RMSprop, or the game-aware optimistic Adam and extra-Adam
    (see `ganforge.training.optim`) for one network, from an OptimConfig."""
    if ocfg.name in ("optimistic-adam", "extra-adam"):
        cls = OptimisticAdam if ocfg.name == "optimistic-adam" else ExtraAdam
        return cls(params, lr=ocfg.lr, betas=(ocfg.beta1, ocfg.beta2), weight_decay=ocfg.weight_decay)
    if ocfg.name == "adam":
        params = list(params)
        # the fused kernel updates all tensors in one pass: 3.6x faster than the per-tensor loop
        # on CPU for GAN-sized MLPs (15% of a ring8 step); same update rule
        fused = all(p.device.type in ("cpu", "cuda") for p in params)
        return LeanAdam(
            params, lr=ocfg.lr, betas=(ocfg.beta1, ocfg.beta2), weight_decay=ocfg.weight_decay,
            fused=fused or None,
        )
    if ocfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=ocfg.lr, momentum=ocfg.momentum, weight_decay=ocfg.weight_decay
        )
    if ocfg.name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=ocfg.lr, momentum=ocfg.momentum, weight_decay=ocfg.weight_decay
        )
    raise GanforgeError(f"unknown optimizer {ocfg.name!r}")

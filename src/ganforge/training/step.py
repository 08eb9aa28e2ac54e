"""One training step: the phase loop, back-propagation, optimizer steps and EMA updates.

For each phase the objective declares that runs at this step (the classic pair, by default):
  # phase D, G frozen:   maximise log D(x) + log(1 - D(G(z)))   (`repeat` = k D-steps)
  # phase G, D frozen:   minimise the G loss through D           (`trains` = ("G",))
the objective draws the inputs and returns named terms; the step sums them, back-propagates,
averages gradients across ranks and steps the optimizers of the networks the phase trains.

Reuse across phases (`Phase.reuses`). A phase that declares `reuses="D"` takes the input of the
D phase of the same step instead of drawing a fresh one, and with it what the objective computed
once through `PhaseInput.once` (G(z), with its autograd graph). For that, the networks the
reusing phase trains keep `requires_grad` during the producing phase's last update, so G(z) is
recorded once; the producing phase reads it detached. G's weights do not change between the two
phases (only D's optimizer stepped), so the G phase's G(z) is the one a fresh forward pass of
the same z would give, to the bit on CPU (tests/test_reuse.py). Two forward passes of G become
one, as in PyTorch's DCGAN example (`netD(fake.detach())`, then `netD(fake)`). What changes:
the G phase sees the D phase's z (and real batch) instead of fresh draws, and G's batch-norm
running statistics update once per step instead of twice.
"""

from __future__ import annotations

import contextlib

import torch

from ganforge.schedules import progress, ramp
from ganforge.training import distributed
from ganforge.training.optim import ema_decay, lr_factor

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(trainer):
    """Autocast to `train.amp`'s dtype on the training device; nothing when it is "off".

    bf16 keeps float32's exponent range, so it needs no loss scaler; fp16 does (`make_scaler`).
    """
    amp = trainer.cfg.train.amp
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(trainer.device.type, dtype=AMP_DTYPES[amp])


def make_scaler(cfg, device: torch.device):
    """fp16's dynamic loss scaler (saved in checkpoints), or None for the other modes.

    The loss is multiplied by the scale before backward so small fp16 gradients do not flush to
    zero; each optimizer step unscales them first and is skipped when any is inf/NaN, and the
    scale halves after such a step and doubles after 2,000 clean ones (torch.amp.GradScaler)."""
    return torch.amp.GradScaler(device.type) if cfg.train.amp == "fp16" else None


def set_lr(trainer) -> None:
    """Apply the lr schedule, a pure function of the step (so resumes need no extra state),
    times rollback_lr_factor^rollbacks after divergence rollbacks, and Adam's beta2 ramp where
    the network's optimizer config sets `beta2_final` (along the same curve)."""
    t = trainer.cfg.train
    f = lr_factor(t.lr_schedule, trainer.step, t.steps, t.lr_final)
    f *= t.rollback_lr_factor ** trainer.rollbacks
    for k, opt in trainer.opts.items():
        o = getattr(trainer.cfg, trainer.objective.optimizers[k])
        beta2 = None if o.beta2_final is None else \
            ramp(t.lr_schedule, progress(trainer.step, t.steps), o.beta2, o.beta2_final)
        for group, base in zip(opt.param_groups, trainer.base_lr[k]):
            group["lr"] = base * f
            if beta2 is not None:
                group["betas"] = (group["betas"][0], beta2)


def _grad_on(trainer, names, known: dict) -> None:
    """requires_grad on for the trained networks in `names`, off for the others. `known` holds
    the flags this step has set, so a network already right is not walked again."""
    for name, params in trainer.trained_params.items():
        on = name in names
        if known.get(name) is not on:
            for p in params:
                p.requires_grad_(on)
            known[name] = on


def train_step(trainer) -> None:
    """Every phase due at `trainer.step`, in the order the objective declares them."""
    if trainer.cfg.train.lr_schedule != "constant" or trainer.rollbacks:
        set_lr(trainer)
    src = trainer.sources
    src.step = trainer.step
    due = [ph for ph in trainer.objective.phases if ph.runs_at(trainer.step)]
    reuse = trainer.cfg.train.reuse
    kept = {}  # phase name -> its last input, for a later phase that reuses it
    known: dict[str, bool] = {}  # requires_grad flags set during this step
    for ph in due:
        # networks trained by later phases that take this phase's input keep their gradients
        # on during its last update, so what it computes through them can be reused
        later = {n for p in due if p.reuses == ph.name for n in p.trains} if reuse else set()
        for r in range(ph.repeat):
            last = r == ph.repeat - 1
            _grad_on(trainer, set(ph.trains) | later if last else ph.trains, known)
            inp = kept.pop(ph.reuses, None) if reuse and ph.reuses and r == 0 else None
            if inp is None:
                inp = trainer.objective.draw(ph, trainer.nets, src)
            _update(trainer, ph, inp)
            kept[ph.name] = inp
        for n in trainer.ema:
            if n in ph.trains:
                update_ema(trainer, n)
    _grad_on(trainer, trainer.trained, known)


def _update(trainer, ph, inp) -> None:
    """One update of phase `ph` on `inp`: terms, backward, (extragradient), optimizer steps."""
    out = backward(trainer, ph, inp)
    if out is None:  # a phase with no terms at this step: nothing to update
        return
    extra = [n for n in ph.trains if n in trainer.extragradient]
    if extra:
        # extragradient: step to the look-ahead point, take the gradient there, then update
        # from the original point (Korpelevich 1976; Gidel et al. 2019); what was computed
        # once at the old weights is recomputed at the look-ahead point
        for n in extra:
            trainer.opts[n].extrapolate()
        inp.memo.clear()
        backward(trainer, ph, inp)
    scaler = trainer.scaler
    for n in ph.trains:
        if scaler is None:
            trainer.opts[n].step()
        else:
            scaler.step(trainer.opts[n])
    if scaler is not None:
        scaler.update()
    with torch.no_grad():
        trainer.objective.after_step(ph.name, trainer.nets)
    for k, v in {**out.terms, **out.stats}.items():
        trainer.stats.add(k, v)


def backward(trainer, ph, inp):
    """Objective terms for phase `ph`, back-propagated into the grads of `ph.trains`."""
    with autocast(trainer):
        out = trainer.objective.compute(ph.name, trainer.nets, inp)
    if not out.terms:
        return None
    loss = sum(out.terms.values())
    for n in ph.trains:
        trainer.opts[n].zero_grad(set_to_none=True)
    (loss if trainer.scaler is None else trainer.scaler.scale(loss)).backward()
    for n in ph.trains:
        distributed.average_gradients(trainer.nets[n], trainer.dist)
    return out


@torch.no_grad()
def update_ema(trainer, name: str) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta; buffers copied. The decay is
    `train.ema`, or its ramp towards `train.ema_final` at this step (optim.ema_decay)."""
    net, ema = trainer.nets[name], trainer.ema[name]
    decay = ema_decay(trainer.cfg.train, trainer.step)
    torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1.0 - decay)
    for be, b in zip(ema.buffers(), net.buffers()):
        be.copy_(b)

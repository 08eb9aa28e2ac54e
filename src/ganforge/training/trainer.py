"""The trainer: the only place that runs phases, optimizers, EMA, AMP, ticks and checkpoints.

One step, for each phase the objective declares (the classic pair, by default):
  # phase D, G frozen:   maximise log D(x) + log(1 - D(G(z)))   (`repeat` = k D-steps)
  # phase G, D frozen:   minimise the G loss through D           (`trains` = ("G",))
The objective builds the networks, draws each update's inputs from the trainer's random streams
and returns named terms; the trainer sums them, back-propagates, averages gradients across
ranks, and steps the optimizers of the networks the phase trains (the phase loop itself, with
its reuse of G(z) across phases, is training/step.py). It knows no GAN variant:
anything variant-specific is the objective's (objectives/base.py) or a callback's
(training/callbacks.py).

The hot loop never reads a value on the host: terms accumulate on the device and are read once
per tick. Every source of randomness is an explicit `torch.Generator` stored in the checkpoint,
so a run stopped at any checkpoint and resumed ends bit-identical to one that never stopped (CPU).
"""

from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path

import torch

from ganforge.config import Config
from ganforge.data import load_data
from ganforge.data.device import on_device
from ganforge.errors import ConfigError
from ganforge.nets.latent import sample_prior
from ganforge.objectives import BuildContext, Sources, build_objective
from ganforge.training import distributed, placement, rng, step
from ganforge.training.callbacks import call_hook
from ganforge.training.checkpoint import read_resumable, save_checkpoint
from ganforge.training.guard import RunLock, SignalGuard
from ganforge.training.health import HealthCheck, TrainingDiverged, check_weights, rollback_or_raise
from ganforge.training.optim import make_optimizer
from ganforge.training.state import capture_state, restore_state
from ganforge.training.stats import JsonlLog, StatsAccumulator, TensorBoardSink
from ganforge.visuals.preview import POINTS_PER_PREVIEW, REAL_FOR, finish_previews, save_preview


class Trainer:
    """Build everything from a Config and train; `Trainer.resume(run_dir)` continues a run.

    callbacks: factories `f(trainer) -> callback` (training/callbacks.py), built once the
    networks exist; `ganforge.runner` chooses them from the config.
    """

    def __init__(
        self, cfg: Config, run_dir: str | Path, *, quiet: bool = False, log=print,
        callbacks=(), resuming: bool = False,
    ) -> None:
        """`resuming=True` (`resume`) lets the objective skip fitting what the checkpoint restores."""
        self.cfg, self.run_dir, self.quiet, self.log = cfg, Path(run_dir), quiet, log
        t = cfg.train
        if t.threads:  # before anything computes (cluster fits at build time), as always
            torch.set_num_threads(t.threads)
        self.dist, self.device = distributed.setup(t.device)
        self.is_main = self.dist.is_main
        self.objective = build_objective(cfg)
        rng.seed_globals(t.seed)
        self.data = load_data(cfg.data)
        self.spec = self.data.spec
        # on a GPU the whole shard lives on the device, 8-bit images as uint8 (data/device.py)
        self.shard = on_device(self.data.shard(self.dist.rank, self.dist.world), self.device)
        nets = self.objective.build_nets(BuildContext(cfg, self.data, self.spec, resuming))
        self.nets = {k: placement.place(v, self.device) for k, v in nets.items()}
        for net in self.nets.values():
            distributed.broadcast_module(net, self.dist)
        n_params = sum(p.numel() for n in self.nets.values() for p in n.parameters())
        self.threads, why = (t.threads, "train.threads") if t.threads else \
            distributed.auto_threads(n_params, self.device)
        self.threads_note = f"{self.threads} thread{'s' * (self.threads > 1)} ({why})"
        torch.set_num_threads(self.threads)
        self.objective.check_phases()
        if not t.reuse and not any(ph.reuses for ph in self.objective.phases):
            raise ConfigError(f"train.reuse=false: no phase of loss.objective={cfg.loss.objective} "
                              "reuses another's input here (train.d_steps > 1 draws fresh ones); "
                              "drop it")
        self.trained = self.objective.trained()
        missing = [n for n in self.trained if n not in self.objective.optimizers]
        if missing:
            raise ConfigError(
                f"loss.objective={cfg.loss.objective}: network {missing[0]!r} is trained but has "
                f"no optimizer config (objective.optimizers names {sorted(self.objective.optimizers)})"
            )
        for name, net in self.nets.items():  # frozen networks never receive gradients
            if name not in self.trained:
                net.eval().requires_grad_(False)
        self.trained_params = {k: list(self.nets[k].parameters()) for k in self.trained}
        self.opts = {
            k: make_optimizer(self.nets[k].parameters(), getattr(cfg, self.objective.optimizers[k]))
            for k in self.trained
        }
        self.scaler = step.make_scaler(cfg, self.device)  # fp16 only
        self.extragradient = {k for k, o in self.opts.items() if hasattr(o, "extrapolate")}
        self.base_lr = {k: [g["lr"] for g in o.param_groups] for k, o in self.opts.items()}
        self.ema = {}
        if t.ema > 0:
            self.ema = {n: copy.deepcopy(self.nets[n]).eval().requires_grad_(False)
                        for n in self.objective.ema_nets if n in self.nets}
        # Separate streams for data and noise, distinct per rank.
        self.data_gen = torch.Generator().manual_seed(t.seed * 1_000_003 + 2 * self.dist.rank + 1)
        self.z_gen = torch.Generator(device=self.device).manual_seed(
            t.seed * 1_000_003 + 2 * self.dist.rank + 2
        )
        self.sources = Sources(self.shard, self.data_gen, self.z_gen, self.prior, t.batch_size,
                               self.device, total_steps=t.steps)
        points = self.spec.kind == "points"
        fixed = torch.Generator().manual_seed(t.seed + (54_321 if points else 12_345))
        self.fixed = self.objective.fixed_inputs(
            self.nets, POINTS_PER_PREVIEW if points else t.grid_size,
            lambda n: self.prior(n, fixed, device="cpu"), self.device,
        )
        self.step = 0
        self.stats = StatsAccumulator()
        self.health = HealthCheck(t.max_loss, t.saturation_ticks)
        self.rollbacks = 0  # divergence rollbacks so far; the lrs are scaled by factor^rollbacks
        self.signals = SignalGuard()
        self._stop_requested = False
        self._tick_time = time.perf_counter()
        self._tick_step = 0
        self.callbacks = []
        for make in callbacks:
            cb = make(self)
            if cb is not None:
                self.callbacks.append(cb)

    # ---- randomness -------------------------------------------------------------------------
    def prior(self, n: int, gen: torch.Generator, *, device=None) -> torch.Tensor:
        """z ~ p(z), [n, z_dim] (nets/latent.py)."""
        m = self.cfg.model
        return sample_prior(
            n, m.z_dim, gen, dist=m.z_dist, components=m.z_components,
            component_std=m.z_component_std, device=device or self.device,
        )

    # ---- one step (training/step.py) --------------------------------------------------------
    def train_step(self) -> None:
        step.train_step(self)

    def _set_lr(self) -> None:
        step.set_lr(self)

    # ---- ticks, pictures, checkpoints -------------------------------------------------------
    def _tick(self, bar) -> dict:
        for net in self.nets.values():
            distributed.average_buffers(net, self.dist)
        values = self.stats.collect(reduce=lambda v: distributed.all_mean(v, self.dist))
        now = time.perf_counter()
        sps = (self.step - self._tick_step) / max(now - self._tick_time, 1e-9)
        self._tick_time, self._tick_step = now, self.step
        self.health.check(values, self.step)
        check_weights(self.all_nets(), self.step, self.cfg.train.max_loss)
        record = {"step": self.step, "steps_per_s": round(sps, 3), **values}
        with rng.isolated():
            for cb in self.callbacks:
                record.update(cb(self, record) or {})
        if self.is_main:
            self.jsonl.write(record)
            self.tb.write(self.step, {k: v for k, v in record.items()
                                      if k != "step" and isinstance(v, (int, float))})
            if bar is not None:
                shown = {k: f"{v:.3f}" for k, v in values.items() if "/" in k and not k.startswith("D/p_")}
                bar.set_postfix(shown, refresh=False)
        return record

    def callback(self, name: str):
        """The callback called `name`, or None."""
        return next((c for c in self.callbacks if getattr(c, "name", None) == name), None)

    def all_nets(self) -> dict:
        """Every network and every EMA ("G (EMA)"), for the divergence checks."""
        return {**self.nets, **{f"{k} (EMA)": v for k, v in self.ema.items()}}

    def sampling_nets(self) -> dict:
        """The networks samples come from: each EMA in place of its network where one is kept."""
        return {**self.nets, **self.ema}

    def sample_net(self):
        return self.sampling_nets()[self.objective.sample_net]

    @contextlib.contextmanager
    def sampling(self):
        """The sampling networks in eval mode, their train/eval modes restored afterwards."""
        nets = self.sampling_nets()
        modes = {k: n.training for k, n in nets.items()}
        for n in nets.values():
            n.eval()
        try:
            yield nets
        finally:
            for k, n in nets.items():
                n.train(modes[k])

    @torch.no_grad()
    def snapshot(self) -> Path | None:
        """The objective's preview of the fixed inputs, written as a picture for the data kind."""
        if not self.is_main:
            return None
        with self.sampling() as nets:
            x = self.objective.preview(nets, self.fixed)
        n_real = REAL_FOR.get(self.spec.kind)
        real = self.data.real_sample(n_real, seed=0).x if n_real else None
        out = self.run_dir / "samples" / f"step-{self.step:08d}.png"
        return save_preview(x, self.spec, out, real=real, title=f"{self.spec.name} step {self.step}")

    def state_dict(self) -> dict:
        return capture_state(self)

    def load_state_dict(self, state: dict) -> None:
        restore_state(self, state)
        self._set_lr()

    def checkpoint(self) -> Path | None:
        """Save the full state; never one holding a diverged network (TrainingDiverged)."""
        check_weights(self.all_nets(), self.step, self.cfg.train.max_loss)
        distributed.assert_in_sync(self.nets, self.dist)
        state = self.state_dict()  # collective under torchrun: every rank takes part
        if not self.is_main:
            return None
        return save_checkpoint(self.run_dir, self.step, state, keep=self.cfg.train.keep_checkpoints)

    # ---- the loop ---------------------------------------------------------------------------
    def _open_sinks(self, resumed: bool) -> None:
        if not self.is_main:
            return
        self.lock = RunLock(self.run_dir)
        self.lock.acquire()  # before anything is written: one writer per run folder
        (self.run_dir / "config.json").write_text(self.cfg.to_json() + "\n")
        self.jsonl = JsonlLog(self.run_dir / "log.jsonl")
        if resumed:
            self.jsonl.truncate_after(self.step)
        self.tb = TensorBoardSink(self.run_dir / "tb", purge_step=self.step + 1 if resumed else None)

    def fit(self, *, resumed: bool = False) -> dict:
        """Train to `train.steps`; returns a summary (run folder, grid, last record, seconds,
        and `signal`: the number of the signal that stopped it early, else None)."""
        t = self.cfg.train
        self._open_sinks(resumed)
        bar = None
        if self.is_main and not self.quiet:
            from tqdm.auto import tqdm

            self.log(f"{self.cfg.preset}: {t.steps} steps, batch {t.batch_size}, {self.device}, "
                     f"{self.threads_note}; run folder {self.run_dir}")
            bar = tqdm(total=t.steps, initial=self.step, desc=self.cfg.preset, unit="step",
                       dynamic_ncols=True)
        for cb in self.callbacks:
            call_hook(cb, "on_fit_start", self)
        start, start_step = time.perf_counter(), self.step
        self._tick_time, self._tick_step = start, self.step
        record: dict = {}
        grid = saved = None
        try:
            with self.signals:
                if self.step == 0 and self.is_main:
                    grid = self.snapshot()
                if self.step == 0 and t.on_divergence == "rollback":
                    self.checkpoint()  # somewhere to roll back to before the first checkpoint
                    saved = 0
                while self.step < t.steps:
                    try:
                        record, grid, saved = self._advance(bar, record, grid, saved)
                    except TrainingDiverged as e:
                        rollback_or_raise(self, e, bar)
                        continue
                    if self._stop_now(self.step % t.tick == 0):
                        break
                if self.step < t.steps and saved != self.step:
                    self.checkpoint()
                if self.signals.requested is not None:
                    self.log(f"interrupted at step {self.step}: checkpoint saved; continue with: "
                             f"ganforge train --resume {self.run_dir}")
        finally:
            if bar is not None:
                bar.close()
            if self.is_main:
                self.tb.close()
                self.lock.release()
        for net in self.nets.values():
            distributed.average_buffers(net, self.dist)
        anim = None
        if self.is_main:
            grid, anim = finish_previews(self.run_dir, grid)
        return {
            "run_dir": str(self.run_dir), "grid": str(grid) if grid else None,
            "animation": str(anim) if anim else None, "step": self.step,
            "seconds": time.perf_counter() - start, "steps_run": self.step - start_step,
            "last": record, "signal": self.signals.requested,
        }

    def _advance(self, bar, record, grid, saved):
        """One step and what falls due after it: tick, last-step callbacks, picture, checkpoint."""
        t = self.cfg.train
        self.train_step()
        self.step += 1
        if bar is not None:
            bar.update(1)
        last = self.step == t.steps
        if self.step % t.tick == 0 or last:
            record = self._tick(bar)
        if last:
            with rng.isolated():
                for cb in self.callbacks:
                    call_hook(cb, "on_last_step", self)
        if self.step % t.sample_every == 0 or last:
            grid = self.snapshot() or grid
        if self.step % t.checkpoint_every == 0 or last:
            self.checkpoint()
            saved = self.step
        return record, grid, saved

    def _stop_now(self, at_tick: bool) -> bool:
        """Whether a signal or `request_stop` ends the run here. Under torchrun the ranks agree
        at ticks (a collective), so they all stop at the same step and save together."""
        flag = self._stop_requested or self.signals.requested is not None
        if not self.dist.enabled:
            return flag
        if not at_tick:
            return False
        return bool(distributed.all_mean(torch.tensor(float(flag), device=self.device),
                                         self.dist) > 0)

    def request_stop(self, reason: str) -> None:
        """Stop after the current step (early stopping); the reason is logged."""
        self.log(f"stopping at step {self.step}: {reason}")
        self._stop_requested = True

    @classmethod
    def resume(cls, run_dir: str | Path, *, overrides: dict | None = None, callbacks=None,
               **kw) -> Trainer:
        """Rebuild a trainer from a run folder's latest checkpoint (config from the checkpoint).

        callbacks: a function of the resumed config returning the callback factories.
        """
        cfg, state, run = read_resumable(run_dir, overrides, log=kw.get("log", print))
        trainer = cls(cfg, run, resuming=True, callbacks=callbacks(cfg) if callbacks else (), **kw)
        trainer.load_state_dict(state)
        return trainer


__all__ = ["Trainer", "TrainingDiverged"]

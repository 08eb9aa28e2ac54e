"""The trainer: the only place that runs phases, optimizers, EMA, AMP, ticks and checkpoints.

One step, for each phase the objective declares (by default):
  # phase D, G frozen:   maximise log D(x) + log(1 - D(G(z)))   (`repeat` = k D-steps)
  # phase G, D frozen:   minimise the G loss through D           (`trains` = ("G",))
The objective returns named terms; the trainer sums them, back-propagates, averages gradients
across ranks, and steps the optimizers of the networks the phase trains.

The hot loop never reads a value on the host: terms accumulate on the device and are read once
per tick. Every source of randomness is an explicit `torch.Generator` stored in the checkpoint,
so a run stopped at any checkpoint and resumed ends bit-identical to one that never stopped (CPU).
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__, distributed
from .checkpoint import find_checkpoint, load_state, save_checkpoint
from .config import Config, from_dict
from .data import load_dataset
from .data.base import Batch
from .errors import CheckpointError, ConfigError, GanforgeError
from .latent import sample_prior
from .nets import build_nets
from .nets.selfcond import fit_clusters
from .objectives import PhaseInput, build_objective
from .optim import lr_factor, make_optimizer
from .rejection import fit_ratio, ratio_from_state, rejection_sample
from .stats import JsonlLog, StatsAccumulator, TensorBoardSink
from .visuals import save_animation, save_image_grid, save_scatter


class TrainingDiverged(GanforgeError):
    """A loss became NaN or infinite."""


def load_data(cfg: Config):
    d = cfg.data
    return load_dataset(
        d.dataset, data_dir=d.data_dir, data_file=d.data_file, split=d.split,
        image_size=d.image_size, channels=d.channels, n_modes=d.n_modes, radius=d.radius,
        spacing=d.spacing, std=d.std, download=d.download,
    )


def data_summary(spec) -> dict:
    """The part of a DataSpec a sampler or plot needs, for checkpoints."""
    return {
        "name": spec.name, "kind": spec.kind, "shape": list(spec.shape),
        "num_classes": spec.num_classes, "modes": spec.modes, "mode_std": spec.mode_std,
        "identity": spec.identity,
    }


class Trainer:
    """Build everything from a Config and train; `Trainer.resume(run_dir)` continues a run."""

    def __init__(
        self, cfg: Config, run_dir: str | Path, *, quiet: bool = False, log=print,
        fresh: bool = True,
    ) -> None:
        """`fresh=False` (`resume`) skips fitting what the checkpoint restores (the clusters)."""
        self.cfg, self.run_dir, self.quiet, self.log = cfg, Path(run_dir), quiet, log
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.dist, self.device = distributed.setup(t.device)
        self.is_main = self.dist.is_main
        torch.manual_seed(t.seed)
        self.data = load_data(cfg)
        self.spec = self.data.spec
        self.shard = self.data.shard(self.dist.rank, self.dist.world)
        g, d, self.arch = build_nets(cfg.model, self.spec)
        # self-conditioning: cluster the real data once, before anything copies G (EMA, DDP)
        self.clusters = fit_clusters(g, self.data, t.seed, fit=fresh)
        self.objective = build_objective(cfg)
        nets = {"G": g, "D": d}
        nets.update(self.objective.build_nets(nets, self.spec))
        self.nets = {k: v.to(self.device) for k, v in nets.items()}
        for net in self.nets.values():
            distributed.broadcast_module(net, self.dist)
        opt_cfg = {"G": "g_opt", "D": "d_opt", **self.objective.opt_for}
        self.opts = {
            k: make_optimizer(net.parameters(), getattr(cfg, opt_cfg.get(k, "d_opt")))
            for k, net in self.nets.items()
        }
        self.extragradient = {k for k, o in self.opts.items() if hasattr(o, "extrapolate")}
        self.base_lr = {k: [g["lr"] for g in o.param_groups] for k, o in self.opts.items()}
        # callbacks run at ticks: callable(trainer, record) -> dict of extra values (diagnostics,
        # metrics); they must draw randomness only from their own generators
        self.tick_callbacks: list = []
        if t.diagnose:
            from .diagnostics import Diagnostics

            self.tick_callbacks.append(Diagnostics(self))
        if t.eval_every:
            from .metrics.training import EvalCallback

            self.tick_callbacks.append(EvalCallback(self))
        self.ratio = None  # rejection.FourierRatio once fitted after the last step (drs_steps)
        if t.drs_steps and (self.spec.kind != "points" or cfg.model.conditional):
            raise ConfigError(
                f"train.drs_steps={t.drs_steps}: rejection sampling is for unconditional point "
                f"data, not {'conditional ' if cfg.model.conditional else ''}{self.spec.name}"
            )
        self.ema = None
        if t.ema > 0:
            self.ema = copy.deepcopy(self.nets["G"]).eval().requires_grad_(False)
        # Separate streams for data and noise, distinct per rank.
        self.data_gen = torch.Generator().manual_seed(t.seed * 1_000_003 + 2 * self.dist.rank + 1)
        self.z_gen = torch.Generator(device=self.device).manual_seed(
            t.seed * 1_000_003 + 2 * self.dist.rank + 2
        )
        self.conditional = bool(getattr(self.nets["G"], "num_classes", 0))
        fixed = torch.Generator().manual_seed(t.seed + 12_345)
        self.fixed_z = self._prior(t.grid_size, fixed, device="cpu").to(self.device)
        self.fixed_y = (
            (torch.arange(t.grid_size) % self.spec.num_classes).to(self.device)
            if self.conditional else None
        )
        self.step = 0
        self.stats = StatsAccumulator()
        self._stop_requested = False
        self._tick_time = time.perf_counter()
        self._tick_step = 0

    # ---- randomness -------------------------------------------------------------------------
    def _prior(self, n: int, gen: torch.Generator, *, device=None) -> torch.Tensor:
        """z ~ p(z), [n, z_dim] (latent.py)."""
        m = self.cfg.model
        return sample_prior(
            n, m.z_dim, gen, dist=m.z_dist, components=m.z_components,
            component_std=m.z_component_std, device=device or self.device,
        )

    def _rng_state(self) -> dict:
        states = {"data": self.data_gen.get_state(), "z": self.z_gen.get_state()}
        if self.dist.enabled:
            gathered = {}
            for k, s in states.items():
                s = s.to(self.device) if self.device.type == "cuda" else s
                out = [torch.empty_like(s) for _ in range(self.dist.world)]
                torch.distributed.all_gather(out, s)
                gathered[k] = [o.cpu() for o in out]
            per_rank = gathered
        else:
            per_rank = {k: [v] for k, v in states.items()}
        np_state = np.random.get_state()
        return {
            **per_rank,
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
            "python": _py_state_to_json(random.getstate()),
        }

    def _set_rng_state(self, rng: dict) -> None:
        r = self.dist.rank
        if len(rng["data"]) != self.dist.world:
            raise CheckpointError(
                f"checkpoint was written by {len(rng['data'])} processes, resuming with "
                f"{self.dist.world}: resume with the same --nproc_per_node"
            )
        self.data_gen.set_state(rng["data"][r])
        self.z_gen.set_state(rng["z"][r])
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        n = rng["numpy"]
        np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
        random.setstate(_py_state_from_json(rng["python"]))

    # ---- one step ---------------------------------------------------------------------------
    def _autocast(self):
        if self.cfg.train.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _set_lr(self) -> None:
        """Apply the lr schedule; a pure function of the step, so resumes need no extra state."""
        t = self.cfg.train
        f = lr_factor(t.lr_schedule, self.step, t.steps, t.lr_final)
        for k, opt in self.opts.items():
            for group, base in zip(opt.param_groups, self.base_lr[k]):
                group["lr"] = base * f

    def train_step(self) -> None:
        B = self.cfg.train.batch_size
        if self.cfg.train.lr_schedule != "constant":
            self._set_lr()
        for ph in self.objective.phases:
            if self.step % ph.every:
                continue
            for name, net in self.nets.items():
                net.requires_grad_(name in ph.trains)
            for _ in range(ph.repeat):
                real = self.shard.sample(B, self.data_gen).to(self.device) if ph.needs_real else None
                z = self._prior(B, self.z_gen)
                y_fake = (
                    torch.randint(self.spec.num_classes, (B,), generator=self.z_gen, device=self.device)
                    if self.conditional else None
                )
                if self.clusters is not None:  # D judges (image, cluster); G's clusters are in z
                    if real is not None:
                        real = Batch(real.x, self.clusters.assign(real.x))
                    y_fake = self.nets["G"].labels(z)
                inp = PhaseInput(real, z, y_fake, self.step, self.cfg.train.steps)
                out = self._backward(ph, inp)
                extra = [n for n in ph.trains if n in self.extragradient]
                if extra:
                    # extragradient: step to the look-ahead point, take the gradient there, then
                    # update from the original point (Korpelevich 1976; Gidel et al. 2019)
                    for n in extra:
                        self.opts[n].extrapolate()
                    self._backward(ph, inp)
                for n in ph.trains:
                    self.opts[n].step()
                with torch.no_grad():
                    self.objective.after_step(ph.name, self.nets)
                for k, v in out.terms.items():
                    self.stats.add(k, v)
                for k, v in out.stats.items():
                    self.stats.add(k, v)
            if self.ema is not None and "G" in ph.trains:
                self._update_ema()
        for net in self.nets.values():
            net.requires_grad_(True)

    def _backward(self, ph, inp):
        """Objective terms for phase `ph`, back-propagated into the grads of `ph.trains`."""
        with self._autocast():
            out = self.objective.compute(ph.name, self.nets, inp)
        loss = sum(out.terms.values())
        for n in ph.trains:
            self.opts[n].zero_grad(set_to_none=True)
        loss.backward()
        for n in ph.trains:
            distributed.average_gradients(self.nets[n], self.dist)
        return out

    @torch.no_grad()
    def _update_ema(self) -> None:
        """theta_ema <- decay * theta_ema + (1 - decay) * theta; buffers copied."""
        decay = self.cfg.train.ema
        g = self.nets["G"]
        ema_p = list(self.ema.parameters())
        torch._foreach_lerp_(ema_p, list(g.parameters()), 1.0 - decay)
        for be, b in zip(self.ema.buffers(), g.buffers()):
            be.copy_(b)

    # ---- ticks, pictures, checkpoints -------------------------------------------------------
    def _tick(self, bar) -> dict:
        for net in self.nets.values():
            distributed.average_buffers(net, self.dist)
        values = self.stats.collect(reduce=lambda v: distributed.all_mean(v, self.dist))
        now = time.perf_counter()
        sps = (self.step - self._tick_step) / max(now - self._tick_time, 1e-9)
        self._tick_time, self._tick_step = now, self.step
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(
                f"training diverged at step {self.step}: {', '.join(bad)} not finite; "
                f"lower the learning rates or add a regulariser (loss.r1_gamma)"
            )
        record = {"step": self.step, "steps_per_s": round(sps, 3), **values}
        for cb in self.tick_callbacks:
            record.update(cb(self, record) or {})
        if self.is_main:
            self.jsonl.write(record)
            self.tb.write(self.step, {k: v for k, v in record.items()
                                      if k != "step" and isinstance(v, (int, float))})
            if bar is not None:
                shown = {k: f"{v:.3f}" for k, v in values.items() if "/" in k and not k.startswith("D/p_")}
                bar.set_postfix(shown, refresh=False)
        return record

    def sample_net(self):
        return self.ema if self.ema is not None else self.nets["G"]

    @contextlib.contextmanager
    def _sampling_g(self):
        """The sampling G (EMA if kept) in eval mode, its train/eval mode restored afterwards."""
        g = self.sample_net()
        was = g.training
        g.eval()
        try:
            yield g
        finally:
            g.train(was)

    @torch.no_grad()
    def snapshot(self) -> Path | None:
        """Draw the fixed latents through G (EMA if kept) and write a grid or scatter plot."""
        if not self.is_main:
            return None
        with self._sampling_g() as g:
            x = g(self.fixed_z, self.fixed_y) if self.conditional else g(self.fixed_z)
        out = self.run_dir / "samples" / f"step-{self.step:08d}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        if self.spec.kind == "image":
            save_image_grid(x, out)
        elif self.spec.kind == "sequence":
            from .visuals_sequences import save_sequence_plot

            real = self.data.real_sample(8, seed=0).x
            save_sequence_plot(x.cpu(), out, real=real, title=f"{self.spec.name} step {self.step}")
        else:
            many = self.sample_points(2000, torch.Generator().manual_seed(self.cfg.train.seed + 54_321))
            real = self.data.real_sample(2000, seed=0).x[:, :2]
            save_scatter(many[:, :2], out, real=real, modes=self.spec.modes,
                         title=f"{self.spec.name} step {self.step}")
        return out

    @torch.no_grad()
    def sample_points(self, n: int, gen: torch.Generator, *, rejection: bool = True) -> torch.Tensor:
        """n points [n, D] on the CPU from the sampling G, through rejection once R is fitted."""
        with self._sampling_g() as g:

            def fake(k: int) -> torch.Tensor:
                return g(self._prior(k, gen, device="cpu").to(self.device)).float().cpu()

            if rejection and self.ratio is not None:
                return rejection_sample(fake, self.ratio, n, quantile=self.cfg.train.drs_quantile,
                                        gen=gen)[0]
            return fake(n)

    def fit_ratio(self) -> None:
        """Fit R on real points vs the sampling G's (rejection.fit_ratio), seeded by the run."""
        t = self.cfg.train
        with self._sampling_g() as g:
            self.ratio = fit_ratio(
                lambda z: g(z.to(self.device)).float().cpu(),
                lambda k, gen: self._prior(k, gen, device="cpu"),
                lambda k, gen: self.data.sample(k, gen).x.float(),
                dim=self.spec.shape[0],
                real_std=float(self.data.real_sample(10_000, seed=t.seed).x.float().std()),
                freq=t.drs_freq, steps=t.drs_steps, calib_steps=t.drs_calib_steps,
                seed=t.seed + 77_777,
            )

    def state_dict(self) -> dict:
        return {
            "format": 1,
            "ganforge_version": __version__,
            "step": self.step,
            "config": self.cfg.to_dict(),
            "arch": self.arch,
            "data": data_summary(self.spec),
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "ratio": (
                {"arch": self.ratio.arch, "state": self.ratio.state_dict()}
                if self.ratio is not None else None
            ),
            "opts": {k: v.state_dict() for k, v in self.opts.items()},
            "objective": self.objective.state_dict(),
            "rng": self._rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        try:
            for k, net in self.nets.items():
                net.load_state_dict(state["nets"][k])
            if self.ema is not None:
                self.ema.load_state_dict(state["ema"])
            for k, opt in self.opts.items():
                opt.load_state_dict(state["opts"][k])
            if state.get("ratio") is not None:
                self.ratio = ratio_from_state(state["ratio"])
        except (KeyError, RuntimeError, ValueError) as e:
            msg = str(e).splitlines()[0]
            raise CheckpointError(f"checkpoint does not fit this config: {msg}") from None
        self.objective.load_state_dict(state.get("objective", {}))
        self._set_rng_state(state["rng"])
        self.step = int(state["step"])

    def checkpoint(self) -> Path | None:
        distributed.assert_in_sync(self.nets, self.dist)
        state = self.state_dict()  # collective under torchrun: every rank takes part
        if not self.is_main:
            return None
        return save_checkpoint(self.run_dir, self.step, state, keep=self.cfg.train.keep_checkpoints)

    # ---- the loop ---------------------------------------------------------------------------
    def _open_sinks(self, resumed: bool) -> None:
        if not self.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(self.cfg.to_json() + "\n")
        self.jsonl = JsonlLog(self.run_dir / "log.jsonl")
        if resumed:
            self.jsonl.truncate_after(self.step)
        self.tb = TensorBoardSink(self.run_dir / "tb", purge_step=self.step + 1 if resumed else None)

    def fit(self, *, resumed: bool = False) -> dict:
        """Train to `train.steps`; returns a summary (run folder, grid, last record, seconds)."""
        t = self.cfg.train
        self._open_sinks(resumed)
        bar = None
        if self.is_main and not self.quiet:
            from tqdm.auto import tqdm

            bar = tqdm(total=t.steps, initial=self.step, desc=self.cfg.preset, unit="step",
                       dynamic_ncols=True)
        old_handler = None
        if self.is_main:
            with contextlib.suppress(ValueError):  # not in the main thread
                old_handler = signal.signal(signal.SIGINT, self._request_stop)
        if self.step < t.steps:
            self.ratio = None  # a resumed run trains G further: the R fitted to the old G goes
        start, start_step = time.perf_counter(), self.step
        self._tick_time, self._tick_step = start, self.step
        record: dict = {}
        grid = None
        try:
            if self.step == 0 and self.is_main:
                grid = self.snapshot()
            while self.step < t.steps and not self._stop_requested:
                self.train_step()
                self.step += 1
                if bar is not None:
                    bar.update(1)
                last = self.step == t.steps
                if self.step % t.tick == 0 or last:
                    record = self._tick(bar)
                # G is final: R (rejection sampling) joins the last picture and checkpoint; only
                # the main process samples and saves, so only it fits R
                if last and t.drs_steps and self.ratio is None and self.is_main \
                        and not self._stop_requested:
                    if not self.quiet:
                        calib = f" + {t.drs_calib_steps}" if t.drs_calib_steps else ""
                        self.log(f"fitting the density-ratio net for rejection sampling "
                                 f"({t.drs_steps}{calib} steps)")
                    self.fit_ratio()
                if self.step % t.sample_every == 0 or last:
                    grid = self.snapshot() or grid
                if self.step % t.checkpoint_every == 0 or last:
                    self.checkpoint()
            if self._stop_requested:
                self.checkpoint()
                self.log(f"interrupted: checkpoint saved at step {self.step}; "
                         f"continue with: ganforge train --resume {self.run_dir}")
        finally:
            if bar is not None:
                bar.close()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
            if self.is_main:
                self.tb.close()
        for net in self.nets.values():
            distributed.average_buffers(net, self.dist)
        anim = None
        if self.is_main:
            frames = sorted((self.run_dir / "samples").glob("step-*.png"))
            anim = save_animation(frames, self.run_dir / "training.gif")
            if grid is not None:
                final = self.run_dir / "samples.png"
                final.write_bytes(Path(grid).read_bytes())
                grid = final
        return {
            "run_dir": str(self.run_dir), "grid": str(grid) if grid else None,
            "animation": str(anim) if anim else None, "step": self.step,
            "seconds": time.perf_counter() - start, "steps_run": self.step - start_step,
            "last": record,
        }

    def _request_stop(self, *_):
        self._stop_requested = True

    def request_stop(self, reason: str) -> None:
        """Stop after the current step (early stopping); the reason is logged."""
        self.log(f"stopping at step {self.step}: {reason}")
        self._stop_requested = True

    @classmethod
    def resume(cls, run_dir: str | Path, *, overrides: dict | None = None, **kw) -> Trainer:
        """Rebuild a trainer from a run folder's latest checkpoint (config from the checkpoint)."""
        from .config import apply_overrides

        ck = find_checkpoint(run_dir)
        state = load_state(ck)
        cfg = from_dict(state["config"])
        if overrides:
            cfg = apply_overrides(cfg, overrides)
        run = Path(run_dir) if Path(run_dir).is_dir() else ck.parent.parent
        trainer = cls(cfg, run, fresh=False, **kw)
        trainer.load_state_dict(state)
        return trainer


def _py_state_to_json(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _py_state_from_json(obj):
    version, internal, gauss = obj
    return (version, tuple(internal), gauss)

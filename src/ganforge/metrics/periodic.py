"""Evaluation during training: metrics every N steps, the best checkpoint, early stopping.

The trainer builds `EvalCallback(trainer)` when `train.eval_every > 0` and calls it at every tick.
At every tick whose step is a multiple of `eval_every` it samples a fixed set of latents from
its own generator (so the training RNG streams never move and resumes stay bit-exact), scores
them with `ganforge.metrics.evaluate` against real features cached in memory, and returns
`eval/<score>` values that the trainer writes to the JSONL log and TensorBoard. With
`train.best_metric` set, `checkpoints/best.safetensors` holds the full training state at the best
value so far; with `train.patience` > 0, training stops after that many evaluations without
improvement. Best value and patience count are rebuilt from the log on resume.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ganforge.errors import ConfigError
from ganforge.metrics.evaluate import evaluate
from ganforge.metrics.extractors import build_extractor
from ganforge.metrics.report import HIGHER_IS_BETTER, LOWER_IS_BETTER, parse_metrics

FAST_SETTINGS = {"kid_subsets": 10}  # periodic KID on 10 subsets: ~10x cheaper, same estimator
_SOURCE = {
    "fd": "fd",
    "kid": "kid",
    "precision": "pr",
    "recall": "pr",
    "density": "dc",
    "coverage": "dc",
    "is": "is",
}


def default_metrics(spec) -> str:
    return "fd,pr,dc,modes" if spec.kind == "points" else "fd,kid,pr,is,modes"


def improved(metric: str, value: float, best: float | None) -> bool:
    """Whether `value` beats `best` for `metric` (lower is better for fd/kid/kl, else higher)."""
    if best is None:
        return True
    return value < best if metric in LOWER_IS_BETTER else value > best


class EvalCallback:
    """Tick callback `(trainer, record) -> {"eval/<score>": float}` (empty between evaluations)."""

    def __init__(self, trainer) -> None:
        t = trainer.cfg.train
        self.every, self.patience = t.eval_every, t.patience
        if self.every < 0 or self.patience < 0:
            raise ConfigError(
                f"train.eval_every={self.every}, train.patience={self.patience}: must be >= 0"
            )
        if self.every and self.every % t.tick:
            raise ConfigError(
                f"train.eval_every={self.every}: must be a multiple of "
                f"train.tick={t.tick} (evaluations run at ticks)"
            )
        self.metrics = parse_metrics(t.eval_metrics or default_metrics(trainer.spec))
        self.best_metric = t.best_metric or None
        if self.best_metric is not None:
            known = sorted(LOWER_IS_BETTER | HIGHER_IS_BETTER)
            if self.best_metric not in known:
                raise ConfigError(
                    f"train.best_metric={self.best_metric!r}: choose from {', '.join(known)}"
                )
            src = _SOURCE.get(self.best_metric, "modes")
            if src not in self.metrics:
                raise ConfigError(
                    f"train.best_metric={self.best_metric!r} needs metric {src!r} "
                    f"in train.eval_metrics ({','.join(self.metrics)})"
                )
        if self.patience and self.best_metric is None:
            raise ConfigError("train.patience needs train.best_metric (the score to watch)")
        self.extractor = None
        self.best: float | None = None
        self.best_step: int | None = None
        self.bad = 0
        self._last: int | None = None
        self._protocol_written = False

    # ---- state rebuilt from the log, so a resumed run keeps its best value and patience
    def _restore(self, trainer) -> None:
        self._last = -1
        log = Path(trainer.run_dir) / "log.jsonl"
        if self.best_metric is None or not log.is_file():
            return
        from ganforge.training.stats import read_jsonl

        for rec in read_jsonl(log):
            v = rec.get(f"eval/{self.best_metric}")
            if v is None or rec.get("step", 0) > trainer.step:
                continue
            self._account(float(v), int(rec["step"]))

    def _account(self, value: float, step: int) -> bool:
        if improved(self.best_metric, value, self.best):
            self.best, self.best_step, self.bad = value, step, 0
            return True
        self.bad += 1
        return False

    def _due(self, step: int) -> bool:
        return step % self.every == 0 and step != self._last

    @torch.no_grad()
    def sample(self, trainer, n: int) -> torch.Tensor:
        """n samples [n, ...] on the CPU from fixed latents (seed train.seed + 777), G in eval mode."""
        g = trainer.sample_net()
        was = g.training
        g.eval()
        gen = torch.Generator().manual_seed(trainer.cfg.train.seed + 777)
        out = []
        for i in range(0, n, 500):
            b = min(500, n - i)
            z = trainer.prior(b, gen, device="cpu").to(trainer.device)
            if getattr(g, "num_classes", 0):
                y = torch.randint(trainer.spec.num_classes, (b,), generator=gen)
                out.append(g(z, y.to(trainer.device)).float().cpu())
            else:
                out.append(g(z).float().cpu())
        g.train(was)
        return torch.cat(out)

    def __call__(self, trainer, record: dict) -> dict:
        if self._last is None:
            self._restore(trainer)
        if not self._due(trainer.step):
            return {}
        self._last = trainer.step
        if self.extractor is None:  # built once: the classifier or Inception net stays loaded
            self.extractor = build_extractor(
                "auto", real_dataset=trainer.data, device=str(trainer.device), log=trainer.log
            )
        n = trainer.cfg.train.eval_n
        fake = self.sample(trainer, n)
        report = evaluate(
            fake,
            real_dataset=trainer.data,
            metrics=self.metrics,
            n=n,
            n_real=n,
            extractor=self.extractor,
            seed=trainer.cfg.train.seed,
            settings=FAST_SETTINGS,
            device=str(trainer.device),
            log=trainer.log,
        )
        if trainer.is_main and not self._protocol_written:
            self._write_protocol(trainer, report.protocol)
            self._protocol_written = True
        out = {f"eval/{k}": v for k, v in report.scores.items()}
        if self.best_metric is not None:
            value = report.scores.get(self.best_metric)
            if value is None:
                raise ConfigError(
                    f"train.best_metric={self.best_metric!r}: not produced for "
                    f"{trainer.spec.name} (got {', '.join(report.scores)})"
                )
            if self._account(value, trainer.step):
                state = trainer.state_dict()  # collective under torchrun: every rank takes part
                if trainer.is_main:
                    self._save_best(trainer, state, value)
            elif self.patience and self.bad >= self.patience:
                trainer.request_stop(
                    f"{self.best_metric} has not improved for {self.bad} evaluations "
                    f"(best {self.best:.6g} at step {self.best_step})"
                )
        return out

    def _write_protocol(self, trainer, protocol: dict) -> None:
        path = Path(trainer.run_dir) / "eval_protocol.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        keep = {k: v for k, v in protocol.items() if k not in ("seconds", "fake_source")}
        path.write_text(json.dumps(keep, indent=2) + "\n")

    def _save_best(self, trainer, state: dict, value: float) -> None:
        from ganforge.training.checkpoint import save_state

        ck = Path(trainer.run_dir) / "checkpoints"
        save_state(ck / "best.safetensors", state)
        tmp = ck / "best.json.tmp"
        tmp.write_text(
            json.dumps({"step": trainer.step, "metric": self.best_metric, "value": value}) + "\n"
        )
        tmp.replace(ck / "best.json")

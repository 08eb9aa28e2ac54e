"""Live training diagnostics: mode collapse, vanishing gradients and imbalance, at ticks.

`Diagnostics(trainer)` is a tick callback `(trainer, record) -> dict`. It never touches the hot
loop: at each tick it runs small probes on fixed inputs drawn once from its own torch.Generator,
saves and restores every buffer it could disturb (batch-norm statistics, spectral-norm vectors),
and takes gradients with `torch.autograd.grad`, so parameters' `.grad`, the optimizers and every
training RNG are untouched and resumes stay bit-exact.

Probes (names as logged, under `diag/`):
- every tick: gradient norms of the G and D losses per network (`grad/G`, `grad/D`) and per layer
  (`grad/G/<param>`), mean D(x) and D(G(z)) (`p_real`, `p_fake`), the share of saturated D
  outputs (|logit| > log 99, i.e. D(.) outside [0.01, 0.99]; `saturated`), and the factor
  |dL_G / d logit| averaged over fakes (`g_signal`): D(G(z)) for the saturating loss,
  1 - D(G(z)) for the non-saturating one (Goodfellow et al. 2014, Sec. 3; Arjovsky & Bottou 2017),
  and the share of fakes where that factor is below 0.01 (`g_dead`: G learns nothing from them).
- every `heavy_every` ticks, on `sample_n` samples of the sampling G from fixed latents: the mode
  histogram (point mixtures: nearest mode; labelled images: a linear domain classifier fitted on
  real data), live modes (share >= 1/(4K)), the dominant mode and its share, the reverse KL of the
  histogram to uniform, diversity (mean pairwise distance of fakes / of real data) and the
  near-duplicate rate (fakes whose nearest other fake is closer than the 5th percentile of real
  nearest-neighbour distances; real data score 0.05 by construction).

Conditions (each must hold for `patience` consecutive checks; collapse checks start after
`warmup` of the run): `collapse` (complete or partial), `mode_hopping`, `vanishing_gradients`,
`d_overpowers_g`, `g_overpowers_d`, `oscillation`. When one appears, a warning with its evidence
and suggested remedies goes to `trainer.log` and to `events.jsonl` in the run folder; when it
clears, a `cleared` event is written. Active conditions are listed in `diag/warnings`.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import deque
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.data.base import Batch
from ganforge.training.optim import LeanAdam

SATURATED_LOGIT = math.log(99.0)

REMEDIES = {
    # ordered by the ring8 benchmark (docs/modes.md): the remedies that restored every mode first
    "collapse": "loss.r1_gamma=0.1, loss.feature_matching=true, model.pack=4 (PacGAN), "
    "loss.unrolled_steps=5 with d_opt.lr = g_opt.lr / 10, train.ema=0.99",
    "mode_hopping": "loss.unrolled_steps=5 with d_opt.lr = g_opt.lr / 10, loss.r1_gamma=0.1, "
    "model.pack=4, a lower g_opt.lr",
    "vanishing_gradients": "loss.g_loss=nonsaturating, loss.instance_noise=0.1, "
    "loss.label_smoothing=0.1, model.spectral_norm=true, a lower d_opt.lr",
    "d_overpowers_g": "a lower d_opt.lr or higher g_opt.lr (TTUR), loss.label_smoothing=0.1, "
    "loss.instance_noise=0.1, loss.r1_gamma=0.1",
    "g_overpowers_d": "train.d_steps=2, a higher d_opt.lr (TTUR)",
    "oscillation": "lower g_opt.lr and d_opt.lr, loss.r1_gamma=0.1, g_opt.name=optimistic-adam, "
    "train.ema=0.99",
}


def pairwise_diversity(x: torch.Tensor) -> float:
    """Mean Euclidean distance over distinct pairs of x [N, ...] (flattened); >= 0."""
    return float(torch.pdist(x.flatten(1).double()).mean())


def nn_distances(x: torch.Tensor) -> torch.Tensor:
    """Distance of each row of x [N, ...] to its nearest other row, [N] float64."""
    d = torch.cdist(x.flatten(1).double(), x.flatten(1).double())
    d.fill_diagonal_(float("inf"))
    return d.min(1).values


def oscillates(series, *, min_flips: float = 0.7, min_range: float = 0.5) -> bool:
    """True when a loss series swings: the share of sign changes of its successive differences is
    >= min_flips and its range exceeds max(min_range, 0.5 |mean|)."""
    s = list(series)
    if len(s) < 5:
        return False
    diffs = [b - a for a, b in itertools.pairwise(s)]
    flips = sum(1 for a, b in itertools.pairwise(diffs) if a * b < 0) / (len(diffs) - 1)
    mean = sum(s) / len(s)
    return flips >= min_flips and (max(s) - min(s)) > max(min_range, 0.5 * abs(mean))


class _LinearClassifier:
    """Multinomial logistic regression on flattened images, fitted on real data (the domain
    classifier for the class histogram of labelled image data)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int, *, steps: int = 150):
        x = x.flatten(1).float()
        self.lin = torch.nn.Linear(x.shape[1], num_classes)
        torch.nn.init.zeros_(self.lin.weight)
        torch.nn.init.zeros_(self.lin.bias)
        opt = LeanAdam(self.lin.parameters(), lr=0.05, fused=True)  # no torch._dynamo import
        with torch.enable_grad():
            for _ in range(steps):
                opt.zero_grad()
                F.cross_entropy(self.lin(x), y).backward()
                opt.step()
        self.accuracy = float((self.predict(x) == y).float().mean())

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.flatten(1).float()).argmax(1)


class Diagnostics:
    """Tick callback; see the module docstring. Returns `diag/...` values for the run log."""

    def __init__(
        self,
        trainer,
        *,
        probe_n: int = 256,
        sample_n: int | None = None,
        heavy_every: int | None = None,
        warmup: float = 0.2,
        patience: int = 2,
        window: int = 8,
    ) -> None:
        cfg, spec = trainer.cfg, trainer.spec
        self.spec, self.patience, self.warmup = spec, patience, warmup
        self.image = spec.kind == "image"
        m = cfg.model.pack
        self.probe_n = -(-probe_n // m) * m  # packing needs a multiple of m
        self.sample_n = sample_n or (500 if self.image else 1000)
        self.heavy_every = heavy_every or (5 if self.image else 1)
        self.gen = torch.Generator().manual_seed(cfg.train.seed + 99_991)
        self.is_gan = cfg.loss.objective == "gan"
        self.saturating = self.is_gan and cfg.loss.g_loss == "saturating"
        self.window = window
        self.losses: dict[str, deque] = {"D": deque(maxlen=window), "G": deque(maxlen=window)}
        self.dominant: deque = deque(maxlen=4)
        self.max_grad = {"G": 0.0, "D": 0.0}
        self.streak: dict[str, int] = {}
        self.active: set[str] = set()
        self.ticks = 0
        self._ready = False
        self.classifier: _LinearClassifier | None = None

    # ---- setup ------------------------------------------------------------------------------
    def _setup(self, trainer) -> None:
        """Fixed probe inputs, real-data references, and the events file (cut back on resume)."""
        dev = trainer.device
        real = trainer.data.real_sample(max(self.probe_n, self.sample_n), seed=4_242)
        self.real_x = real.x[: self.probe_n].to(dev)
        self.real_y = None if real.y is None else real.y[: self.probe_n].to(dev)
        self.z = trainer.prior(self.probe_n, self.gen, device="cpu").to(dev)
        self.zs = trainer.prior(self.sample_n, self.gen, device="cpu").to(dev)
        k = self.spec.num_classes
        self.y = torch.randint(k, (self.probe_n,), generator=self.gen).to(dev) if k else None
        self.ys = torch.randint(k, (self.sample_n,), generator=self.gen).to(dev) if k else None
        # the labels D reads and G's, as the objective draws them (self-conditioning: clusters)
        real_b, self.y = trainer.objective.relabel(
            trainer.nets, Batch(self.real_x, self.real_y), self.z, self.y
        )
        self.real_y = real_b.y
        ref = real.x[: self.sample_n].cpu()
        self.real_div = pairwise_diversity(ref[:500])
        self.dup_tau = float(torch.quantile(nn_distances(ref), 0.05))
        if self.image and 2 <= k <= 100 and real.y is not None:
            self.classifier = _LinearClassifier(real.x.cpu(), real.y.cpu(), k)
        self.events_path = Path(trainer.run_dir) / "events.jsonl"
        if trainer.is_main:
            self._replay(Path(trainer.run_dir) / "log.jsonl")
        self._ready = True

    def _replay(self, log_path: Path) -> None:
        """On resume: rebuild the history from the run log and drop events past its last tick."""
        from ganforge.training.stats import read_jsonl

        records = read_jsonl(log_path) if log_path.is_file() else []
        last = records[-1]["step"] if records else 0
        for rec in records:
            self._remember(rec)
            for name in rec.get("diag/warnings", []):
                self.active.add(name)
                self.streak[name] = self.patience
        if self.events_path.is_file():
            keep = [
                ln
                for ln in self.events_path.read_text().splitlines()
                if ln.strip() and json.loads(ln).get("step", 0) <= last
            ]
            self.events_path.write_text("".join(k + "\n" for k in keep))

    def _remember(self, rec: dict) -> None:
        d = sum(v for k, v in rec.items() if k in ("D/real", "D/fake"))
        g = sum(v for k, v in rec.items() if k.startswith("G/") and isinstance(v, (int, float)))
        self.losses["D"].append(d)
        self.losses["G"].append(g)
        for net in ("G", "D"):
            self.max_grad[net] = max(self.max_grad[net], rec.get(f"diag/grad/{net}", 0.0))
        if "diag/dominant" in rec:
            self.dominant.append((rec["diag/dominant"], rec.get("diag/dominant_share", 0.0)))

    # ---- probes -----------------------------------------------------------------------------
    def _grad_probe(self, trainer) -> dict:
        g, d = trainer.nets["G"], trainer.nets["D"]
        buffers = [b.clone() for net in (g, d) for b in net.buffers()]
        cond = bool(getattr(g, "num_classes", 0))
        try:
            fake = g(self.z, self.y) if cond else g(self.z)
            dc = bool(getattr(d, "num_classes", 0))
            lf = d(fake, self.y) if dc else d(fake)
            lr = d(self.real_x, self.real_y) if dc else d(self.real_x)
            if self.is_gan:
                g_loss = -F.softplus(lf).mean() if self.saturating else F.softplus(-lf).mean()
                d_loss = F.softplus(-lr).mean() + F.softplus(lf.detach()).mean()
            else:  # a critic's scores: the Wasserstein-style losses stand in
                g_loss, d_loss = -lf.mean(), lf.detach().mean() - lr.mean()
            out = {}
            for name, net, loss in (("G", g, g_loss), ("D", d, d_loss)):
                params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
                grads = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
                norms = {n: float(gr.norm()) for (n, _), gr in zip(params, grads) if gr is not None}
                out[f"diag/grad/{name}"] = math.sqrt(sum(v * v for v in norms.values()))
                out.update({f"diag/grad/{name}/{n}": v for n, v in norms.items()})
        finally:
            with torch.no_grad():
                for b, saved in zip((b for net in (g, d) for b in net.buffers()), buffers):
                    b.copy_(saved)
        lf, lr = lf.detach(), lr.detach()
        out["diag/saturated"] = float((torch.cat([lf, lr]).abs() > SATURATED_LOGIT).float().mean())
        if self.is_gan:
            p_fake = torch.sigmoid(lf)
            out["diag/p_real"] = float(torch.sigmoid(lr).mean())
            out["diag/p_fake"] = float(p_fake.mean())
            factor = p_fake if self.saturating else 1 - p_fake
            out["diag/g_signal"] = float(factor.mean())
            out["diag/g_dead"] = float((factor < 0.01).float().mean())
        return out

    @torch.no_grad()
    def _sample_probe(self, trainer) -> dict:
        g = trainer.sample_net()
        was = g.training
        g.eval()
        x = (g(self.zs, self.ys) if getattr(g, "num_classes", 0) else g(self.zs)).float().cpu()
        g.train(was)
        out = {
            "diag/diversity": pairwise_diversity(x[:500]) / max(self.real_div, 1e-12),
            "diag/duplicates": float((nn_distances(x) < self.dup_tau).double().mean()),
        }
        hist = None
        if self.spec.modes is not None and not self.image:
            c = self.spec.modes.to(x.dtype)
            hist = torch.bincount(torch.cdist(x[:, : c.shape[1]], c).argmin(1), minlength=len(c))
        elif self.classifier is not None:
            hist = torch.bincount(self.classifier.predict(x), minlength=self.spec.num_classes)
        if hist is not None:
            k = len(hist)
            p = hist.double() / hist.sum()
            w = self._weights(k)
            nz = p > 0
            # a mode is live at a quarter of its true weight (1/(4K) for equal weights)
            out["diag/modes_live"] = int((p >= w / 4).sum())
            out["diag/dominant"] = int(p.argmax())
            out["diag/dominant_share"] = float(p.max())
            out["diag/dominant_weight"] = float(w[p.argmax()])
            out["diag/mode_kl"] = float((p[nz] * (p[nz] / w[nz]).log()).sum())
            out["diag/mode_hist"] = [int(v) for v in hist]
        return out

    def _weights(self, k: int) -> torch.Tensor:
        """The true mode weights [k] (a weighted mixture's), uniform otherwise."""
        w = getattr(self.spec, "mode_weights", None)
        if w is not None and len(w) == k:
            return torch.tensor(w, dtype=torch.float64)
        return torch.full((k,), 1.0 / k, dtype=torch.float64)

    # ---- conditions -------------------------------------------------------------------------
    def _conditions(self, step: int, total: int, v: dict, rec: dict, heavy: bool) -> dict:
        """{condition: evidence} for every condition holding at this check."""
        found: dict[str, dict] = {}
        ev = {
            k: round(v[k], 4)
            for k in (
                "diag/grad/G",
                "diag/grad/D",
                "diag/p_real",
                "diag/p_fake",
                "diag/saturated",
                "diag/g_signal",
                "diag/g_dead",
            )
            if k in v
        }
        # the G loss's slope at most fakes' logits is < 0.01, or on average < 0.05 while D
        # rejects them (the saturating loss's failure), or G's gradient fell 1000-fold
        weak_g = v.get("diag/g_dead", 0.0) >= 0.5 or (
            v.get("diag/g_signal", 1.0) < 0.05 and v.get("diag/p_fake", 0.0) < 0.05
        )
        g_gone = self.ticks > 2 and v["diag/grad/G"] < 1e-3 * self.max_grad["G"]
        if weak_g or g_gone:
            found["vanishing_gradients"] = ev
        p_real = rec.get("D/p_real", v.get("diag/p_real"))
        p_fake = rec.get("D/p_fake", v.get("diag/p_fake"))
        if p_real is not None and p_fake is not None:
            if p_real > 0.9 and p_fake < 0.1:
                found["d_overpowers_g"] = {"D(x)": round(p_real, 4), "D(G(z))": round(p_fake, 4)}
            elif p_fake > p_real + 0.15:
                found["g_overpowers_d"] = {"D(x)": round(p_real, 4), "D(G(z))": round(p_fake, 4)}
        swings = {k: [round(s, 3) for s in q] for k, q in self.losses.items() if oscillates(q)}
        if swings:
            found["oscillation"] = {f"{k} loss, last ticks": s for k, s in swings.items()}
        if heavy and step >= self.warmup * total:
            k = self.spec.num_classes if "diag/modes_live" in v else 0
            ev = {
                n: round(v[n], 4) if isinstance(v[n], float) else v[n]
                for n in (
                    "diag/modes_live",
                    "diag/dominant_share",
                    "diag/mode_kl",
                    "diag/diversity",
                    "diag/duplicates",
                )
                if n in v
            }
            if k:
                live, share = v["diag/modes_live"], v["diag/dominant_share"]
                # one mode with half the samples, twice its true weight (equal weights: 2/K)
                complete = live <= 1 or (k >= 4 and share >= 0.5
                                         and share >= 2 * v.get("diag/dominant_weight", 1 / k))
                partial = live < k and v["diag/mode_kl"] > 0.1
                if complete or partial:
                    found["collapse"] = {
                        "kind": "complete" if complete else "partial",
                        "of_modes": k,
                        **ev,
                    }
            elif v["diag/diversity"] < 0.3 and v["diag/duplicates"] > 0.5:
                found["collapse"] = {"kind": "complete", **ev}
            # hopping: over the last 4 checks one mode dominates each time (>= 30%) but the
            # dominant mode changed at least twice
            hops = [m for m, s in self.dominant]
            concentrated = len(self.dominant) == 4 and all(s >= 0.3 for _, s in self.dominant)
            if concentrated and sum(a != b for a, b in itertools.pairwise(hops)) >= 2:
                found["mode_hopping"] = {"dominant modes, last checks": hops}
        return found

    def _emit(self, trainer, step: int, found: dict, checked: set) -> None:
        for name in checked:
            self.streak[name] = self.streak.get(name, 0) + 1 if name in found else 0
            on = self.streak[name] >= self.patience
            if on and name not in self.active:
                self.active.add(name)
                ev = found[name]
                text = ", ".join(f"{k.removeprefix('diag/')}={v}" for k, v in ev.items())
                trainer.log(
                    f"warning: step {step}: {name.replace('_', ' ')} ({text}); try {REMEDIES[name]}"
                )
                self._write(
                    trainer,
                    {
                        "step": step,
                        "event": "warning",
                        "condition": name,
                        "evidence": ev,
                        "remedies": REMEDIES[name],
                    },
                )
            elif not on and name in self.active and self.streak[name] == 0:
                self.active.discard(name)
                self._write(trainer, {"step": step, "event": "cleared", "condition": name})

    def _write(self, trainer, event: dict) -> None:
        if trainer.is_main:
            with open(self.events_path, "a") as f:
                f.write(json.dumps(event) + "\n")

    def __call__(self, trainer, record: dict) -> dict:
        if not self._ready:
            self._setup(trainer)
        step, total = trainer.step, trainer.cfg.train.steps
        values = self._grad_probe(trainer)
        heavy = self.ticks % self.heavy_every == 0 or step == total
        if heavy:
            values.update(self._sample_probe(trainer))
        self._remember({**record, **values})
        self.ticks += 1
        found = self._conditions(step, total, values, record, heavy)
        checked = {"vanishing_gradients", "d_overpowers_g", "g_overpowers_d", "oscillation"}
        if heavy and step >= self.warmup * total:
            checked |= {"collapse", "mode_hopping"}
        self._emit(trainer, step, found, checked)
        values["diag/warnings"] = sorted(self.active)
        return values

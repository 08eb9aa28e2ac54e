"""Discriminator rejection sampling for point data (Azadi et al. 2019), with a post-hoc ratio net.

A generator that maps a connected latent space onto separate modes must pass through the gaps
between them, so a share of its samples lands on "bridges" where the data has no mass. If
r(x) = p_data(x) / p_g(x) were known, accepting each sample x ~ p_g with probability r(x) / M
(M >= max r) would turn p_g into p_data exactly. The logit of the Bayes-optimal real-vs-fake
classifier is log r(x) (Goodfellow et al. 2014, Prop. 1), so after training:

1. `fit_density_ratio` freezes G and fits a fresh classifier R on real vs generated points by
   logistic regression (D itself is packed or penalised during training, and DRS found that
   training D further on the final G is what makes its logit a usable ratio);
2. `calibrate_density_ratio` optionally fine-tunes R on the Donsker-Varadhan bound, whose optimum
   makes the exp(R)-reweighted G match the data's mass region by region (see there);
3. `rejection_sample` accepts x with probability min(1, exp(R(x) - M)), M the `quantile` of R on a
   pool of candidates: DRS's shift gamma, trading exactness (the few x with R(x) > M are kept at
   rate 1) for an acceptance rate that does not hinge on the single largest logit.

R reads random Fourier features [sin(Bx), cos(Bx)], B ~ N(0, freq^2) fixed (Tancik et al. 2020):
a plain MLP on x fits only smooth ratios and cannot resolve modes of std 0.05 two units apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError


class FourierRatio(nn.Module):
    """x [N, D] -> logit [N], an estimate of log p_data(x) / p_g(x) (up to a constant)."""

    def __init__(self, dim: int, *, freq: float, features: int = 128, hidden: int = 128) -> None:
        super().__init__()
        if freq <= 0 or features < 2 or features % 2:
            raise ConfigError(f"rejection: freq={freq} must be > 0, features={features} even >= 2")
        self.arch = {"dim": dim, "freq": freq, "features": features, "hidden": hidden}
        # fixed, not trained; a buffer so that a saved R samples with the same features
        self.register_buffer("B", torch.randn(dim, features // 2) * freq)
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x @ self.B
        return self.net(torch.cat([h.sin(), h.cos()], 1)).squeeze(1)


def ratio_from_state(state: dict) -> FourierRatio:
    """Rebuild a saved R ({"arch": FourierRatio.arch, "state": its state_dict}), in eval mode."""
    a = state["arch"]
    with torch.random.fork_rng(devices=[]):  # building draws B and weights: spare the caller's RNG
        ratio = FourierRatio(a["dim"], freq=a["freq"], features=a["features"], hidden=a["hidden"])
    ratio.load_state_dict(state["state"])
    return ratio.eval().requires_grad_(False)


def _descend(ratio: FourierRatio, loss_fn: Callable[[], torch.Tensor], *, steps: int,
             lr: float) -> list[float]:
    """`steps` Adam steps on loss_fn(), the lr decayed linearly to 0; returns the losses."""
    if steps <= 0:
        return []
    opt = torch.optim.Adam(ratio.parameters(), lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
    losses = []
    ratio.train()
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())  # read back once at the end: no host sync per step
    ratio.eval()
    return torch.stack(losses).tolist()


def fit_density_ratio(
    ratio: FourierRatio,
    real: Callable[[int], torch.Tensor],
    fake: Callable[[int], torch.Tensor],
    *,
    steps: int,
    batch_size: int = 512,
    lr: float = 2e-3,
) -> list[float]:
    """Logistic regression of real (label 1) against fake (label 0) batches; returns the losses.

    `real(n)` / `fake(n)` draw n fresh points. At the optimum the logit is log p_data / p_g.
    The lr decays linearly to 0: the noise of the last batches is left in R's logit, where it
    reweights whole modes (on grid25, reverse KL 0.025 with the decay against 0.063 without,
    2,000 steps).
    """

    def loss() -> torch.Tensor:
        n = batch_size
        return F.softplus(-ratio(real(n))).mean() + F.softplus(ratio(fake(n))).mean()

    return _descend(ratio, loss, steps=steps, lr=lr)


def calibrate_density_ratio(
    ratio: FourierRatio,
    real: Callable[[int], torch.Tensor],
    fake: Callable[[int], torch.Tensor],
    *,
    steps: int,
    batch_size: int = 2048,
    lr: float = 5e-4,
) -> list[float]:
    """Fine-tune R to maximise the Donsker-Varadhan bound E_data[R] - log E_g[exp R].

    KL(p_data || p_g) = sup_T E_data[T] - log E_g[e^T] (Donsker & Varadhan 1983), attained at
    T = log r + c for any constant c (log-linear KLIEP, Tsuboi et al. 2009, solves the same
    problem). Its gradient vanishes where E_g[e^R h] / E_g[e^R] = E_data[h] for every direction
    h = dR/dtheta that R's weights can move in: G reweighted by exp(R) then has the data's mass
    wherever R can tell regions apart, and the share of a mode after rejection is G's share
    reweighted by exp(R) (below the cap M). Logistic regression balances
    E_data[(1 - sigma(R)) h] = E_g[sigma(R) h] instead, which is not the same condition once R
    cannot follow the ratio inside each mode, and its errors shift whole modes' shares (grid25,
    10 seeds: docs/modes.md). Starts from the logistic fit: fitted alone, R kept fewer points on
    the modes (grid25 seed 0: 95.8-97.1% high quality against 98.0%). The batch is large
    because log E_g[e^R] is estimated within it, a biased estimate in small batches when a few
    points carry most of the weight (grid25: 500 steps of 2,048 did as well as or better than
    2,000 of 512, at the same cost). Returns the negated bounds (losses); the lr decays
    linearly to 0.
    """
    log_n = math.log(batch_size)

    def loss() -> torch.Tensor:
        # log E_g[e^R] over the batch as logsumexp - log n: stable for large R
        lse = torch.logsumexp(ratio(fake(batch_size)), 0) - log_n
        return lse - ratio(real(batch_size)).mean()

    return _descend(ratio, loss, steps=steps, lr=lr)


def fit_ratio(
    generate: Callable[[torch.Tensor], torch.Tensor],
    prior: Callable[[int, torch.Generator], torch.Tensor],
    real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    dim: int,
    real_std: float,
    freq: float,
    steps: int,
    seed: int,
    calib_steps: int = 0,
    pool: int = 100_000,
) -> FourierRatio:
    """Build R for a frozen G and fit it; returns R in eval mode.

    `generate(z)` maps latents to CPU points [n, dim], `prior(n, gen)` draws latents, `real(n,
    gen)` real points, all from one generator seeded by `seed`: `steps` of logistic regression,
    then `calib_steps` of `calibrate_density_ratio`. The Fourier frequencies are `freq` per
    standard deviation of the real data. G's points come from one pool of `pool` drawn up
    front: G's forward pass for fresh batches would cost more than R's own step (3 of 8.6 CPU-s
    on grid25).
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # R's Fourier matrix and initial weights
        torch.manual_seed(seed)
        ratio = FourierRatio(dim, freq=freq / max(real_std, 1e-12))
    with torch.no_grad():
        fakes = torch.cat([generate(z) for z in prior(pool, gen).split(10_000)])

    def fake(k: int) -> torch.Tensor:
        return fakes[torch.randint(len(fakes), (k,), generator=gen)]

    fit_density_ratio(ratio, lambda k: real(k, gen), fake, steps=steps)
    calibrate_density_ratio(ratio, lambda k: real(k, gen), fake, steps=calib_steps)
    return ratio


@torch.no_grad()
def rejection_sample(
    fake: Callable[[int], torch.Tensor],
    ratio: FourierRatio,
    n: int,
    *,
    quantile: float,
    gen: torch.Generator,
    pool: int = 20_000,
    max_draws: int = 200,
) -> tuple[torch.Tensor, float]:
    """n points of p_g reweighted by exp(R(x) - M); returns them and the acceptance rate.

    M is the `quantile` of R over a first pool of candidates; each later pool of the same size is
    accepted point by point with probability min(1, exp(R(x) - M)) until n are kept.
    """
    if not 0.0 < quantile <= 1.0:
        raise ConfigError(f"rejection quantile={quantile}: must be in (0, 1]")
    first = fake(pool)
    logit = ratio(first)
    m = torch.quantile(logit, quantile) if quantile < 1.0 else logit.max()
    kept, drawn, x, total = [], 0, first, 0
    for _ in range(max_draws):
        keep = torch.rand(len(x), generator=gen) < torch.exp((logit - m).clamp(max=0.0))
        kept.append(x[keep])
        drawn += len(x)
        total += int(keep.sum())
        if total >= n:
            break
        x = fake(pool)
        logit = ratio(x)
    if total < n:
        raise ConfigError(
            f"rejection sampling kept {total} of {drawn} points, fewer than {n}: train with a "
            f"lower train.drs_quantile than {quantile}, or sample with --no-rejection"
        )
    return torch.cat(kept)[:n], total / drawn


class RejectionSampling:
    """Training callback (training/callbacks.py): once G is final, fit R on real points against
    the sampling G's (`fit_ratio`, seeded by the run) so that the last checkpoint carries it and
    `load_generator` samples through it. Only the main process fits R (it alone samples and
    saves). A resumed run that trains on drops the R fitted to the old G."""

    name = "rejection"

    def __init__(self, trainer) -> None:
        cfg = trainer.cfg
        if trainer.spec.kind != "points" or cfg.model.conditional:
            raise ConfigError(
                f"train.drs_steps={cfg.train.drs_steps}: rejection sampling is for unconditional "
                f"point data, not {'conditional ' if cfg.model.conditional else ''}"
                f"{trainer.spec.name}"
            )
        self.ratio: FourierRatio | None = None

    def __call__(self, trainer, record: dict) -> None:
        return None

    def on_fit_start(self, trainer) -> None:
        if trainer.step < trainer.cfg.train.steps:
            self.ratio = None

    def on_last_step(self, trainer) -> None:
        t = trainer.cfg.train
        if self.ratio is not None or not trainer.is_main:
            return
        if not trainer.quiet:
            calib = f" + {t.drs_calib_steps}" if t.drs_calib_steps else ""
            trainer.log(f"fitting the density-ratio net for rejection sampling "
                        f"({t.drs_steps}{calib} steps)")
        with trainer.sampling() as nets:
            g = nets[trainer.objective.sample_net]
            self.ratio = fit_ratio(
                lambda z: g(z.to(trainer.device)).float().cpu(),
                lambda k, gen: trainer.prior(k, gen, device="cpu"),
                lambda k, gen: trainer.data.sample(k, gen).x.float(),
                dim=trainer.spec.shape[0],
                real_std=float(trainer.data.real_sample(10_000, seed=t.seed).x.float().std()),
                freq=t.drs_freq, steps=t.drs_steps, calib_steps=t.drs_calib_steps,
                seed=t.seed + 77_777,
            )

    def state_dict(self) -> dict | None:
        if self.ratio is None:
            return None
        return {"arch": self.ratio.arch, "state": self.ratio.state_dict()}

    def load_state_dict(self, state: dict | None) -> None:
        self.ratio = ratio_from_state(state) if state is not None else None


@torch.no_grad()
def sample_points(trainer, n: int, gen: torch.Generator, *, rejection: bool = True) -> torch.Tensor:
    """n points [n, D] on the CPU from a trainer's sampling G, drawn with `gen`; through
    rejection sampling when the run has fitted R (its `RejectionSampling` callback) and
    `rejection`."""
    drs = trainer.callback("rejection")
    ratio = drs.ratio if drs is not None else None
    with trainer.sampling() as nets:
        g = nets[trainer.objective.sample_net]

        def fake(k: int) -> torch.Tensor:
            return g(trainer.prior(k, gen, device="cpu").to(trainer.device)).float().cpu()

        if rejection and ratio is not None:
            return rejection_sample(fake, ratio, n, quantile=trainer.cfg.train.drs_quantile,
                                    gen=gen)[0]
        return fake(n)

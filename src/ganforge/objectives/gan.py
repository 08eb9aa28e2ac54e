"""The classic GAN objective (Goodfellow et al. 2014), its standard regularisers and the
mode-collapse remedies that change the loss rather than the networks.

Phase D (G frozen): maximise log D(x) + log(1 - D(G(z))), i.e. minimise the two BCE terms
`D/real` and `D/fake`, with optional one-sided label smoothing (Salimans et al. 2016) and
- `D/r1`: gamma/2 * E||grad_x D(x)||^2 on clean real data (Mescheder et al. 2018); with
  `r1_every` = k > 1 it moves to a lazy `Dreg` phase run every k steps and scaled by k
  (Karras et al. 2020, Sec. 3.2);
- `D/gp`: lambda * E(||grad D(x_hat)||_2 - 1)^2 on interpolates (Gulrajani et al. 2017), with
  `loss.gan_gp` = lambda > 0.
Phase G (D frozen): minimise `G/adv`, the saturating log(1 - D(G(z))) or non-saturating
-log D(G(z)) loss, or with `feature_matching` the term `G/fm` = ||E f(x) - E f(G(z))||^2 on D's
features (Salimans et al. 2016, Sec. 3.1) in place of `G/adv`.

Unrolled GAN (Metz et al. 2017), `unrolled_steps` = k > 0: G minimises the surrogate
f_K(theta_G, theta_D) = f(theta_G, theta_D^K) (their Eq. 5), `G/adv` = -(D/real + D/fake) at
theta_D^K, the discriminator after k look-ahead steps on the current batch. This is the minimax
value with the real term included, as in the paper (it depends on G through theta_D^K). The
steps are taken functionally (`torch.func.functional_call`), so the trainer's D and its
optimizer are untouched. Each step is Adam-like, as in Metz et al.'s experiments: fresh moments,
d_opt's lr and betas, theta <- theta - lr * m_hat / (sqrt(v_hat) + 1e-8); the look-ahead uses
the BCE terms only (no R1/GP) and is differentiated through (create_graph), so G sees how D
would react. Metz et al. train D ten times slower than G (1e-4 against 1e-3); the benchmark's
`unrolled5` does too.

Top-k training (Sinha et al. 2020), `topk` = nu < 1: `G/adv` averages the G loss over the k fakes
D rates highest only, k / batch = max(nu, gamma^(step / 100)) with gamma = `topk_decay` (the paper
decays k by gamma per epoch; here an "epoch" is 100 steps, as the point data is an endless stream).
Fakes far from every mode are the ones D rejects most; their gradients, which pull G into the
gaps between modes, are dropped. With packing, the k best packs are kept.

Self-conditioning (`model.self_cond`, nets/selfcond.py): D judges (image, cluster labels); with
`self_cond_weight` w > 0 the G phase adds `G/cluster` = w * CE(soft cluster of G(z), its label).

Instance noise (Sonderby et al. 2017; Arjovsky & Bottou 2017): N(0, sigma_t^2) is added to every
input D sees in phases D and G, with sigma_t = sigma_0 * max(0, 1 - step / total_steps),
annealed linearly to zero. Its noise comes from the objective's own generator, saved with the
objective state, so resumes stay exact.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from ganforge import losses
from ganforge.data.base import Batch
from ganforge.nets.selfcond import cluster_loss, fit_clusters
from ganforge.objectives.base import (
    BuildContext,
    Objective,
    Phase,
    PhaseInput,
    PhaseOutput,
    generate,
    reusing_d,
)
from ganforge.objectives.base import cond as _cond


def instance_noise_std(sigma0: float, step: int, total_steps: int) -> float:
    """sigma_t = sigma0 * max(0, 1 - step / total_steps): linear annealing to 0 at the last step."""
    return float(sigma0) * max(0.0, 1.0 - step / max(int(total_steps), 1))


def topk_fraction(nu: float, gamma: float, step: int) -> float:
    """k / batch = max(nu, gamma^(step / 100)): Sinha et al. 2020 anneal k by gamma per epoch."""
    return max(float(nu), float(gamma) ** (step / 100))


def feature_matching(real_feat: torch.Tensor, fake_feat: torch.Tensor) -> torch.Tensor:
    """||E_x f(x) - E_z f(G(z))||_2^2 over features [N, F] (Salimans et al. 2016, Sec. 3.1);
    the real side is a constant target."""
    return (real_feat.detach().mean(0) - fake_feat.mean(0)).pow(2).sum()


class GANObjective(Objective):
    options = frozenset({
        "loss.g_loss", "loss.label_smoothing", "loss.r1_gamma", "loss.r1_every", "loss.gan_gp",
        "loss.feature_matching", "loss.unrolled_steps", "loss.instance_noise", "loss.topk",
        "loss.topk_decay", "loss.self_cond_weight",
    })

    def __init__(self, cfg) -> None:
        loss_cfg, d_steps = cfg.loss, cfg.train.d_steps
        self.cfg = loss_cfg
        self.d_opt = cfg.d_opt
        self.seed = cfg.train.seed
        self.gp = float(loss_cfg.gan_gp)
        phases = [Phase("D", ("D",), repeat=d_steps)]
        if loss_cfg.r1_gamma > 0 and loss_cfg.r1_every > 1:
            phases.append(Phase("Dreg", ("D",), every=loss_cfg.r1_every))
        # G reads real data only to match features or to unroll D
        g_real = loss_cfg.feature_matching or loss_cfg.unrolled_steps > 0
        phases.append(Phase("G", ("G",), needs_real=g_real, reuses=reusing_d(cfg)))
        self.phases = tuple(phases)
        self.g_loss = {"saturating": losses.g_saturating, "nonsaturating": losses.g_nonsaturating}[
            loss_cfg.g_loss
        ]
        self._noise_gen: torch.Generator | None = None
        self._noise_state: torch.Tensor | None = None
        self.coder = None  # self-conditioning's ClusterCoder (model.self_cond), fitted in build_nets

    # ---- self-conditioning (nets/selfcond.py) -----------------------------------------------
    def build_nets(self, ctx: BuildContext):
        nets = super().build_nets(ctx)
        # cluster the real data once, before anything copies G (EMA, DDP); a resumed run's
        # checkpoint restores the clusters, so the fit is skipped
        self.coder = fit_clusters(nets["G"], ctx.data, ctx.cfg.train.seed, fit=not ctx.resuming)
        return nets

    def relabel(self, nets, real, z, y_fake):
        """Self-conditioned: D judges (image, cluster); G's clusters are read from z (no z:
        real labels only, as ADA's probe asks)."""
        if self.coder is None:
            return real, y_fake
        if real is not None:
            real = Batch(real.x, self.coder.assign(real.x))
        return real, y_fake if z is None else nets["G"].labels(z)

    # ---- instance noise ---------------------------------------------------------------------
    def _noisy(self, x: torch.Tensor, inp: PhaseInput) -> torch.Tensor:
        sigma = instance_noise_std(self.cfg.instance_noise, inp.step, inp.total_steps)
        if sigma <= 0:
            return x
        noise = torch.randn(x.shape, generator=self._gen(x), device=x.device, dtype=x.dtype)
        return x + sigma * noise

    def _gen(self, x: torch.Tensor) -> torch.Generator:
        """The objective's own stream (instance noise, GP interpolation weights), on x's device."""
        if self._noise_gen is None or self._noise_gen.device != x.device:
            self._noise_gen = torch.Generator(device=x.device).manual_seed(self.seed + 777)
            if self._noise_state is not None:
                self._noise_gen.set_state(self._noise_state)
        return self._noise_gen

    def state_dict(self) -> dict:
        if self._noise_gen is not None:
            return {"noise_rng": self._noise_gen.get_state()}
        return {"noise_rng": self._noise_state} if self._noise_state is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if state.get("noise_rng") is not None:
            self._noise_state = state["noise_rng"]
            if self._noise_gen is not None:
                self._noise_gen.set_state(self._noise_state)

    # ---- terms ------------------------------------------------------------------------------
    def _r1(self, d, real) -> torch.Tensor:
        x = real.x.detach().requires_grad_(True)
        return losses.r1_penalty(_cond(d, x, real.y), x)

    def _unrolled_value(self, d, real_x, real_y, fake, y_fake) -> torch.Tensor:
        """-(BCE terms) = the GAN value f at D after `unrolled_steps` Adam-like look-ahead steps."""
        o = self.d_opt
        names = [n for n, _ in d.named_parameters()]
        theta = {n: p.detach().requires_grad_(True) for n, p in d.named_parameters()}
        m = {n: torch.zeros_like(p) for n, p in theta.items()}
        v = {n: torch.zeros_like(p) for n, p in theta.items()}

        def logits(params, x, y):
            args = (x, y) if getattr(d, "num_classes", 0) else (x,)
            return functional_call(d, params, args)

        for t in range(1, self.cfg.unrolled_steps + 1):
            l_real, l_fake = losses.d_bce(
                logits(theta, real_x, real_y),
                logits(theta, fake, y_fake),
                real_label=1.0 - self.cfg.label_smoothing,
            )
            grads = torch.autograd.grad(
                l_real + l_fake, [theta[n] for n in names], create_graph=True
            )
            new = {}
            for n, g in zip(names, grads):
                m[n] = o.beta1 * m[n] + (1 - o.beta1) * g
                v[n] = o.beta2 * v[n] + (1 - o.beta2) * g * g
                m_hat, v_hat = m[n] / (1 - o.beta1**t), v[n] / (1 - o.beta2**t)
                new[n] = theta[n] - o.lr * m_hat / ((v_hat + 1e-16).sqrt() + 1e-8)
            theta = new
        l_real, l_fake = losses.d_bce(logits(theta, real_x, real_y), logits(theta, fake, y_fake))
        return -(l_real + l_fake)

    def compute(self, phase, nets, inp: PhaseInput) -> PhaseOutput:
        g, d = nets["G"], nets["D"]
        c = self.cfg
        if phase == "D":
            # D step: maximise log D(x) + log(1 - D(G(z)))
            fake = generate(g, inp).detach()
            real_logits = _cond(d, self._noisy(inp.real.x, inp), inp.real.y)
            fake_logits = _cond(d, self._noisy(fake, inp), inp.y_fake)
            l_real, l_fake = losses.d_bce(
                real_logits, fake_logits, real_label=1.0 - c.label_smoothing
            )
            terms = {"D/real": l_real, "D/fake": l_fake}
            if c.r1_gamma > 0 and c.r1_every == 1:
                terms["D/r1"] = 0.5 * c.r1_gamma * self._r1(d, inp.real)
            if self.gp > 0:
                y = inp.real.y
                terms["D/gp"] = self.gp * losses.gradient_penalty(
                    lambda x: _cond(d, x, y), inp.real.x, fake, generator=self._gen(fake)
                )
            stats = {
                "D/p_real": torch.sigmoid(real_logits.detach()).mean(),
                "D/p_fake": torch.sigmoid(fake_logits.detach()).mean(),
            }
            return PhaseOutput(terms, stats)
        if phase == "Dreg":
            return PhaseOutput({"Dreg/r1": 0.5 * c.r1_gamma * c.r1_every * self._r1(d, inp.real)})
        if phase == "G":
            # G step: minimise the G loss through (a look-ahead of) D
            raw = generate(g, inp)
            fake = self._noisy(raw, inp)
            terms = {}
            if c.self_cond_weight > 0:  # self-conditioning: each fake in the cluster it was given
                terms["G/cluster"] = c.self_cond_weight * cluster_loss(g.coder, raw, inp.y_fake)
            if c.feature_matching:
                real_feat = d.features(self._noisy(inp.real.x, inp))
                terms["G/fm"] = feature_matching(real_feat, d.features(fake))
            if c.unrolled_steps > 0:
                terms["G/adv"] = self._unrolled_value(
                    d, self._noisy(inp.real.x, inp), inp.real.y, fake, inp.y_fake
                )
            elif not c.feature_matching:
                logits = _cond(d, fake, inp.y_fake)
                if c.topk < 1.0:
                    keep = topk_fraction(c.topk, c.topk_decay, inp.step)
                    logits = losses.top_k_logits(logits, keep)
                terms["G/adv"] = self.g_loss(logits)
            return PhaseOutput(terms)
        raise KeyError(phase)

"""Pure GAN loss functions on discriminator logits.

Every function takes logits (pre-sigmoid scores, shape [N]) and returns a scalar tensor to
*minimise*. Nothing here calls `backward()`; objectives combine these into named terms.

Notation: D(x) = sigmoid(l(x)) is the probability the discriminator assigns to "real", and
log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l), which is how every formula
below is evaluated (numerically stable for any logit).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def d_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor, *, real_label: float = 1.0):
    """Discriminator binary cross-entropy, split into its real and fake terms.

    L_D = -E[t log D(x) + (1 - t) log(1 - D(x))] - E[log(1 - D(G(z)))]
    with target t = `real_label` for real data and 0 for fakes (Goodfellow et al. 2014, Eq. 1,
    written as a loss to minimise). `real_label` < 1 is one-sided label smoothing
    (Salimans et al. 2016, Sec. 3.4): only the real target is softened.

    Returns (loss_real, loss_fake), each a scalar mean over its batch.
    """
    t = real_label
    if t == 1.0:  # the common case, without the smoothing term's extra work
        loss_real = F.softplus(-real_logits).mean()
    else:
        loss_real = (t * F.softplus(-real_logits) + (1.0 - t) * F.softplus(real_logits)).mean()
    loss_fake = F.softplus(fake_logits).mean()
    return loss_real, loss_fake


def g_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's original minimax loss: minimise E[log(1 - D(G(z)))] = -E[softplus(l)].

    Goodfellow et al. 2014, Eq. 1. Its gradient w.r.t. the fake logit is -sigmoid(l): when D
    rejects fakes confidently (l << 0) it vanishes, which is why G learns nothing early on.
    """
    return -F.softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: minimise -E[log D(G(z))] = E[softplus(-l)].

    Goodfellow et al. 2014, Sec. 3: same fixed point as the minimax loss, but its gradient
    w.r.t. the fake logit is -(1 - sigmoid(l)), close to -1 exactly when D rejects the fakes.
    """
    return F.softplus(-fake_logits).mean()


def d_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor):
    """WGAN critic loss E[f(G(z))] - E[f(x)] (Arjovsky et al. 2017, Eq. 3); returns (real, fake)."""
    return -real_scores.mean(), fake_scores.mean()


def g_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss -E[f(G(z))] (Arjovsky et al. 2017)."""
    return -fake_scores.mean()


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor):
    """Hinge loss E[max(0, 1 - l(x))] + E[max(0, 1 + l(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real_logits).mean(), F.relu(1.0 + fake_logits).mean()


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss -E[l(G(z))]."""
    return -fake_logits.mean()


def d_least_squares(real_scores: torch.Tensor, fake_scores: torch.Tensor):
    """LSGAN discriminator loss 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] (Mao et al. 2017, Eq. 9, a=0 b=c=1)."""
    return 0.5 * (real_scores - 1.0).pow(2).mean(), 0.5 * fake_scores.pow(2).mean()


def g_least_squares(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss 1/2 E[(D(G(z)) - 1)^2] (Mao et al. 2017)."""
    return 0.5 * (fake_scores - 1.0).pow(2).mean()


def r1_penalty(real_logits: torch.Tensor, real_x: torch.Tensor) -> torch.Tensor:
    """R1 gradient penalty E[||grad_x l(x)||^2] on real data (Mescheder et al. 2018, Eq. 9).

    `real_x` must have requires_grad=True and `real_logits` must be computed from it. The caller
    weights it by gamma / 2. The graph is kept (create_graph) so the penalty trains D.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real_x, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def r2_penalty(fake_logits: torch.Tensor, fake_x: torch.Tensor) -> torch.Tensor:
    """R2 gradient penalty E[||grad_x l(x)||^2] on generated data x = G(z) (Mescheder et al. 2018;
    Huang et al. 2024): R1's formula applied to fakes, so it is `r1_penalty` on G(z).

    `fake_x` (G's output, detached from G) must have requires_grad=True and `fake_logits` must be
    computed from it. The caller weights it by gamma / 2.
    """
    return r1_penalty(fake_logits, fake_x)


def d_relativistic_pair(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The relativistic pairing discriminator loss E[softplus(-(l(x_i) - l(G(z_i))))].

    RpGAN (Jolicoeur-Martineau 2019, "The relativistic discriminator: a key element missing from
    standard GAN"; Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN Baseline"):
    D minimises -log sigmoid(D(x) - D(G(z))) over pairs of a real and a fake sample, i.e. it
    learns to rank each real sample above its paired fake. real_logits, fake_logits: [N] each,
    paired by index. Returns a scalar.
    """
    return F.softplus(fake_logits - real_logits).mean()


def g_relativistic_pair(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The relativistic pairing generator loss E[softplus(-(l(G(z_i)) - l(x_i)))].

    The same loss as `d_relativistic_pair` with the roles swapped (Huang et al. 2024): G
    minimises -log sigmoid(D(G(z)) - D(x)). Only the fake side carries G's gradient; the real
    logits may be detached. Returns a scalar.
    """
    return F.softplus(real_logits - fake_logits).mean()


def gradient_penalty(
    critic, real_x: torch.Tensor, fake_x: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad f(x_hat)||_2 - 1)^2] on per-sample interpolates
    x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] (Gulrajani et al. 2017, Alg. 1).

    `critic` maps [N, ...] -> [N] scores. The caller weights it by lambda (10 in the paper).
    """
    shape = (real_x.shape[0],) + (1,) * (real_x.dim() - 1)
    eps = torch.rand(shape, device=real_x.device, dtype=real_x.dtype, generator=generator)
    x_hat = (eps * real_x.detach() + (1.0 - eps) * fake_x.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


def top_k_logits(fake_logits: torch.Tensor, fraction: float) -> torch.Tensor:
    """The ceil(fraction * n) largest of n fake logits, the fakes D finds most realistic.

    Top-k training (Sinha et al. 2020, "Top-k Training of GANs: Improving GAN Performance by
    Throwing Away Bad Samples"): G's loss uses only these, so the gradients of fakes far from the
    data (which pull G towards the gaps between modes) are dropped.
    """
    flat = fake_logits.reshape(-1)
    k = max(1, math.ceil(fraction * flat.numel()))
    return flat.topk(k).values

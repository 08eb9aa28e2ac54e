"""Game definitions for the game lab: two-player zero-sum games as vector fields.

A game is a function f(x, y) that player x minimises and player y maximises. Everything here works on
the joint parameter vector z = concat(x, y) and the game's *vector field*

    v(z) = (grad_x f(x, y), -grad_y f(x, y)),

so that simultaneous gradient descent-ascent is z <- z - lr * v(z). Fields are pure functions of
torch tensors and accept any leading batch dimensions ([..., D] -> [..., D]); that lets the plots
evaluate them on a grid and lets `Game.jacobian` differentiate them with autograd.

Games:
- xy: f(x, y) = x * y, the example of Goodfellow (2016, "NIPS 2016 Tutorial: GANs", Sec. 8.2):
  gradient descent orbits the equilibrium (0, 0) instead of converging to it.
- bilinear: f(x, y) = x^T A y with x, y in R^n (Gidel et al. 2019, "A variational inequality
  perspective on GANs"; Daskalakis et al. 2018, "Training GANs with optimism").
- dirac: the Dirac-GAN of Mescheder et al. 2018 ("Which training methods for GANs actually
  converge?", Sec. 2.2): data p_D = delta_0, generator p_theta = delta_theta, discriminator
  D_psi(x) = psi * x, so L(theta, psi) = f(psi * theta) + f(0), optionally with the R1 penalty
  (gamma / 2) * E_{p_D} |grad_x D_psi(x)|^2 = (gamma / 2) * psi^2 on the discriminator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError

GAME_NAMES = ("xy", "bilinear", "dirac")
DIRAC_LOSSES = ("gan", "gan-sat", "wgan")

Field = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Game:
    """A two-player zero-sum game given by its vector field.

    name: a short label for tables and plots (e.g. "dirac(gan, r1=1)").
    dim_x: how many leading entries of z belong to the minimising player x; the rest are y.
    field: v(z), [..., D] -> [..., D], with v = (grad_x f, -grad_y f).
    equilibrium: the Nash equilibrium z*, [D] float64.
    """

    name: str
    dim_x: int
    field: Field
    equilibrium: torch.Tensor

    @property
    def dim(self) -> int:
        """D, the length of the joint parameter vector z = concat(x, y)."""
        return int(self.equilibrium.numel())

    def jacobian(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """dv/dz at z (default: the equilibrium), [D, D]; its eigenvalues decide local convergence."""
        at = self.equilibrium if z is None else z
        return torch.autograd.functional.jacobian(self.field, at.to(torch.float64))


# --- vector fields (pure functions) -----------------------------------------------------------


def xy_field(z: torch.Tensor) -> torch.Tensor:
    """Field of f(x, y) = x * y: v(x, y) = (y, -x).

    z: [..., 2] holding (x, y), any real values. Returns [..., 2].
    """
    x, y = z[..., 0], z[..., 1]
    return torch.stack((y, -x), dim=-1)


def bilinear_field(z: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Field of f(x, y) = x^T A y: v(x, y) = (A y, -A^T x).

    z: [..., n + m] holding concat(x [n], y [m]); matrix: A, [n, m]. Returns [..., n + m].
    """
    n = matrix.shape[0]
    x, y = z[..., :n], z[..., n:]
    a = matrix.to(z.dtype)
    return torch.cat((y @ a.T, -(x @ a)), dim=-1)


def dirac_f_prime(t: torch.Tensor, loss: str) -> torch.Tensor:
    """f'(t) for the discriminator's loss function f of Mescheder et al. 2018, Eq. (2).

    "gan", "gan-sat": f(t) = -log(1 + exp(-t)), so f'(t) = sigmoid(-t), f'(0) = 1/2.
    "wgan": f(t) = t, so f'(t) = 1.
    """
    if loss == "wgan":
        return torch.ones_like(t)
    return torch.sigmoid(-t)


def dirac_field(z: torch.Tensor, *, loss: str = "gan", r1: float = 0.0) -> torch.Tensor:
    """Field of the Dirac-GAN, L(theta, psi) = f(psi * theta) + f(0) (Mescheder et al. 2018).

    The discriminator psi maximises L - (r1 / 2) * psi^2 (the R1 penalty on the real point 0):
        v_psi = -theta * f'(psi * theta) + r1 * psi.
    The generator theta minimises
        "gan-sat" (saturating, the minimax game):   f(psi * theta)   -> v_theta = psi * f'(psi theta)
        "gan" (non-saturating):      -f(-psi * theta) = softplus(psi theta) -> v_theta = psi * sigmoid(psi theta)
        "wgan":                       psi * theta                     -> v_theta = psi
    All three agree at first order around the equilibrium (0, 0), where the Jacobian is
    [[0, f'(0)], [-f'(0), r1]]: purely imaginary eigenvalues without R1, so gradient descent does
    not converge (Mescheder et al. 2018, Lemma 2.2), and eigenvalues with real part > 0 for any
    r1 > 0, so it converges for a small enough learning rate (Theorem 4.1).

    z: [..., 2] holding (theta, psi). Returns [..., 2].
    """
    theta, psi = z[..., 0], z[..., 1]
    t = psi * theta
    if loss == "gan":
        v_theta = psi * torch.sigmoid(t)
    else:
        v_theta = psi * dirac_f_prime(t, loss)
    v_psi = -theta * dirac_f_prime(t, loss) + r1 * psi
    return torch.stack((v_theta, v_psi), dim=-1)


def dirac_losses(theta: torch.Tensor, psi: torch.Tensor, *, loss: str = "gan", r1: float = 0.0):
    """The two players' losses of the Dirac-GAN, for reference and for autograd checks.

    Returns (loss_G, loss_D), both to be minimised by their player; d loss_G / d theta and
    d loss_D / d psi equal the two entries of `dirac_field`.
    """
    t = psi * theta
    if loss == "wgan":
        f_t, f_0 = t, torch.zeros_like(t)
    else:
        f_t, f_0 = -F.softplus(-t), -F.softplus(torch.zeros_like(t))
    loss_g = F.softplus(t) if loss == "gan" else f_t
    loss_d = -(f_t + f_0) + 0.5 * r1 * psi**2
    return loss_g, loss_d


# --- game factories ---------------------------------------------------------------------------


def xy_game() -> Game:
    """The game f(x, y) = x * y with equilibrium (0, 0)."""
    return Game("xy", 1, xy_field, torch.zeros(2, dtype=torch.float64))


def random_matrix(dim: int, *, seed: int = 0) -> torch.Tensor:
    """A seeded Gaussian [dim, dim] matrix scaled to largest singular value 1 (float64).

    Scaling keeps lr * sigma_max = lr, so the xy learning-rate conditions apply unchanged.
    """
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    return a / torch.linalg.matrix_norm(a, ord=2)


def bilinear_game(dim: int, *, matrix: str = "random", seed: int = 0) -> Game:
    """f(x, y) = x^T A y with x, y in R^dim; A is "identity" or a seeded "random" matrix."""
    if dim < 1:
        raise ConfigError(f"--dim must be >= 1, got {dim}")
    if matrix == "identity":
        a = torch.eye(dim, dtype=torch.float64)
    elif matrix == "random":
        a = random_matrix(dim, seed=seed)
    else:
        raise ConfigError(f"unknown matrix {matrix!r}; choose identity or random")
    name = f"bilinear(dim={dim}, {matrix})"
    return Game(
        name, dim, partial(bilinear_field, matrix=a), torch.zeros(2 * dim, dtype=torch.float64)
    )


def dirac_game(*, loss: str = "gan", r1: float = 0.0) -> Game:
    """The Dirac-GAN with loss "gan" | "gan-sat" | "wgan" and R1 weight r1 >= 0."""
    if loss not in DIRAC_LOSSES:
        raise ConfigError(
            f"unknown Dirac-GAN loss {loss!r}; choose one of {', '.join(DIRAC_LOSSES)}"
        )
    if not r1 >= 0.0:
        raise ConfigError(f"--r1 must be >= 0, got {r1}")
    name = f"dirac({loss}" + (f", r1={r1:g})" if r1 > 0 else ")")
    field = partial(dirac_field, loss=loss, r1=r1)
    return Game(name, 1, field, torch.zeros(2, dtype=torch.float64))


def make_game(
    name: str,
    *,
    dim: int = 2,
    matrix: str = "random",
    seed: int = 0,
    loss: str = "gan",
    r1: float = 0.0,
) -> Game:
    """Build a game by its CLI name: "xy", "bilinear" (dim, matrix, seed) or "dirac" (loss, r1)."""
    if name == "xy":
        return xy_game()
    if name == "bilinear":
        return bilinear_game(dim, matrix=matrix, seed=seed)
    if name == "dirac":
        return dirac_game(loss=loss, r1=r1)
    raise ConfigError(f"unknown game {name!r}; choose one of {', '.join(GAME_NAMES)}")

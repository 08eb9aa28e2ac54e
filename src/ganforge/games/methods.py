"""Update rules for games, as pure step functions over the joint parameter vector z = (x, y).

Each rule is `step(game, z, state, hp) -> (z_next, state_next)`: no mutation, the state (previous
gradients, Adam moments) is a dict of tensors returned anew. Notation: v is the game's field
(see games.py), lr = eta. For the game xy each rule's per-step distance ratio has a closed form
(`xy_ratio`); for any game `linear_ratio` gives the spectral radius of the rule linearised at the
equilibrium, which is the asymptotic per-step ratio (exact for linear fields, local otherwise).

- sim: simultaneous gradient descent-ascent, z' = z - eta v(z).
- alt: alternating; x moves first, then y sees the new x.
- extragradient (Korpelevich 1976): z_half = z - eta v(z); z' = z - eta v(z_half).
- optimistic (Daskalakis et al. 2018, "Training GANs with optimism"):
  z' = z - 2 eta v(z_t) + eta v(z_{t-1}).
- consensus (Mescheder et al. 2017, "The numerics of GANs"):
  z' = z - eta (v + gamma grad L), L = |v|^2 / 2, grad L = J^T v.
- adam-sim: Adam (Kingma & Ba 2015) on v for both players at once.
- extra-adam (Gidel et al. 2019, "A variational inequality perspective on GANs", Alg. 4):
  an Adam look-ahead step, then an Adam step from z with the look-ahead's field.
- optimistic-adam (Daskalakis et al. 2018, Alg. 1): z' = z - 2 eta u_t + eta u_{t-1} with u the
  bias-corrected Adam direction m_hat / (sqrt(v_hat) + eps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError
from ganforge.games.games import Game

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Hyper:
    """Hyper-parameters shared by the update rules.

    lr: eta > 0. gamma: consensus weight (>= 0). betas, eps: Adam's. beta1 defaults to 0 because
    momentum makes the rotation of a bilinear game worse (Gidel et al. 2019, "Negative momentum
    for improved game dynamics"); with beta1 = 0.5 or 0.9 even extra-adam drifts away on xy.
    """

    lr: float = 0.1
    gamma: float = 1.0
    betas: tuple[float, float] = (0.0, 0.999)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"--lr must be a positive number, got {self.lr}")
        if not self.gamma >= 0:
            raise ConfigError(f"--gamma must be >= 0, got {self.gamma}")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"Adam betas must lie in [0, 1), got {self.betas}")


# --- plain rules ------------------------------------------------------------------------------


def sim_step(game: Game, z: torch.Tensor, state: State, hp: Hyper) -> tuple[torch.Tensor, State]:
    """z' = z - eta v(z). On xy: |z'| = sqrt(1 + eta^2) |z| (spirals out)."""
    return z - hp.lr * game.field(z), state


def alt_step(game: Game, z: torch.Tensor, state: State, hp: Hyper) -> tuple[torch.Tensor, State]:
    """x' = x - eta v_x(x, y); y' = y - eta v_y(x', y).

    On xy this map conserves x^2 + y^2 - eta x y: a bounded orbit that never converges.
    """
    k = game.dim_x
    x_new = z[:k] - hp.lr * game.field(z)[:k]
    z_mid = torch.cat((x_new, z[k:]))
    y_new = z[k:] - hp.lr * game.field(z_mid)[k:]
    return torch.cat((x_new, y_new)), state


def extragradient_step(
    game: Game, z: torch.Tensor, state: State, hp: Hyper
) -> tuple[torch.Tensor, State]:
    """z_half = z - eta v(z); z' = z - eta v(z_half). On xy: ratio sqrt(1 - eta^2 + eta^4)."""
    z_half = z - hp.lr * game.field(z)
    return z - hp.lr * game.field(z_half), state


def optimistic_step(
    game: Game, z: torch.Tensor, state: State, hp: Hyper
) -> tuple[torch.Tensor, State]:
    """z' = z - 2 eta v(z_t) + eta v(z_{t-1}); the first step uses v(z_{-1}) = v(z_0).

    On xy it converges iff eta < 1/sqrt(3).
    """
    g = game.field(z)
    g_prev = state.get("g_prev", g)
    return z - 2 * hp.lr * g + hp.lr * g_prev, {"g_prev": g}


def consensus_step(
    game: Game, z: torch.Tensor, state: State, hp: Hyper
) -> tuple[torch.Tensor, State]:
    """z' = z - eta (v + gamma J^T v); J^T v = grad |v|^2 / 2 through one vector-Jacobian product.

    On xy: ratio sqrt((1 - eta gamma)^2 + eta^2).
    """
    g, vjp = torch.func.vjp(game.field, z)
    (grad_l,) = vjp(g)
    return z - hp.lr * (g + hp.gamma * grad_l), state


# --- Adam-based rules -------------------------------------------------------------------------


def adam_direction(
    g: torch.Tensor, state: State, hp: Hyper, *, prefix: str = ""
) -> tuple[torch.Tensor, State]:
    """One Adam moment update; returns u = m_hat / (sqrt(v_hat) + eps) and the new moments.

    g: gradient [D]. State keys (prefixed): "m", "v" [D], "t" (scalar step count).
    """
    b1, b2 = hp.betas
    t = state.get(prefix + "t", torch.zeros((), dtype=torch.float64)) + 1
    m = b1 * state.get(prefix + "m", torch.zeros_like(g)) + (1 - b1) * g
    v = b2 * state.get(prefix + "v", torch.zeros_like(g)) + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t.item())
    v_hat = v / (1 - b2 ** t.item())
    u = m_hat / (v_hat.sqrt() + hp.eps)
    return u, {**state, prefix + "m": m, prefix + "v": v, prefix + "t": t}


def adam_sim_step(
    game: Game, z: torch.Tensor, state: State, hp: Hyper
) -> tuple[torch.Tensor, State]:
    """z' = z - eta u(v(z)) with u Adam's normalised direction."""
    u, state = adam_direction(game.field(z), state, hp)
    return z - hp.lr * u, state


def extra_adam_step(
    game: Game, z: torch.Tensor, state: State, hp: Hyper
) -> tuple[torch.Tensor, State]:
    """z_half = z - eta u(v(z)); z' = z - eta u(v(z_half)); both calls advance the moments.

    Matches `ganforge.training.optim.ExtraAdam` (extrapolate() then step()).
    """
    u, state = adam_direction(game.field(z), state, hp)
    z_half = z - hp.lr * u
    u, state = adam_direction(game.field(z_half), state, hp)
    return z - hp.lr * u, state


def optimistic_adam_step(
    game: Game, z: torch.Tensor, state: State, hp: Hyper
) -> tuple[torch.Tensor, State]:
    """z' = z - 2 eta u_t + eta u_{t-1}; the first step uses u_{-1} = u_0.

    Matches `ganforge.training.optim.OptimisticAdam`.
    """
    u, state = adam_direction(game.field(z), state, hp)
    u_prev = state.get("u_prev", u)
    return z - 2 * hp.lr * u + hp.lr * u_prev, {**state, "u_prev": u}


Step = Callable[[Game, torch.Tensor, State, Hyper], tuple[torch.Tensor, State]]

METHODS: dict[str, Step] = {
    "sim": sim_step,
    "alt": alt_step,
    "extragradient": extragradient_step,
    "optimistic": optimistic_step,
    "consensus": consensus_step,
    "adam-sim": adam_sim_step,
    "extra-adam": extra_adam_step,
    "optimistic-adam": optimistic_adam_step,
}


def get_method(name: str) -> Step:
    """The step function called `name`; ConfigError listing the choices otherwise."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def simulate(game: Game, method: str, z0: torch.Tensor, *, steps: int, hp: Hyper) -> torch.Tensor:
    """Run `steps` updates from z0 ([D]); returns the trajectory [steps + 1, D] in float64."""
    if steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {steps}")
    step = get_method(method)
    z = z0.to(torch.float64).reshape(game.dim)
    state: State = {}
    out = [z]
    for _ in range(steps):
        z, state = step(game, z, state, hp)
        out.append(z)
    return torch.stack(out)


def distances(traj: torch.Tensor, equilibrium: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of each iterate to the equilibrium: [T, D] -> [T], >= 0."""
    return torch.linalg.vector_norm(traj - equilibrium, dim=-1)


def mean_ratio(dist: torch.Tensor, *, start: int = 0) -> float:
    """Geometric-mean per-step ratio (d_T / d_start)^(1 / (T - start)) of a distance series [T+1]."""
    steps = dist.numel() - 1 - start
    if steps < 1 or dist[start] <= 0:
        return float("nan")
    return float((dist[-1] / dist[start]) ** (1.0 / steps))


# --- theory -----------------------------------------------------------------------------------


def xy_ratio(method: str, lr: float, *, gamma: float = 1.0) -> float | None:
    """Closed-form per-step distance ratio on f = x y (None for the Adam rules: no formula).

    sim: sqrt(1 + eta^2). alt: 1 (x^2 + y^2 - eta x y is conserved). extragradient:
    sqrt(1 - eta^2 + eta^4). consensus: sqrt((1 - eta gamma)^2 + eta^2). optimistic: the larger
    root modulus of mu^2 - (1 - 2 i eta) mu - i eta = 0, i.e. with s = sqrt(1 - 4 eta^2):
    sqrt(((1 + s) / 2)^2 + eta^2) for eta <= 1/2, else sqrt(1/4 + (eta + sqrt(4 eta^2 - 1)/2)^2);
    it is < 1 iff eta < 1/sqrt(3). sim, extragradient and consensus hold at every step; alt and
    optimistic asymptotically.
    """
    e = lr
    if method == "sim":
        return math.sqrt(1 + e * e)
    if method == "alt":
        return 1.0 if e < 2 else None
    if method == "extragradient":
        return math.sqrt(1 - e * e + e**4)
    if method == "consensus":
        return math.sqrt((1 - e * gamma) ** 2 + e * e)
    if method == "optimistic":
        if e <= 0.5:
            return math.sqrt(((1 + math.sqrt(1 - 4 * e * e)) / 2) ** 2 + e * e)
        return math.sqrt(0.25 + (e + math.sqrt(4 * e * e - 1) / 2) ** 2)
    return None


XY_FORMULAS = {
    "sim": "sqrt(1 + eta^2)",
    "alt": "1 (orbit)",
    "extragradient": "sqrt(1 - eta^2 + eta^4)",
    "optimistic": "max |root| of mu^2 - (1 - 2i eta) mu - i eta",
    "consensus": "sqrt((1 - eta gamma)^2 + eta^2)",
}


def linear_operator(
    method: str, jac: torch.Tensor, *, hp: Hyper, dim_x: int
) -> torch.Tensor | None:
    """The matrix M with z'_lin = M z_lin for the rule applied to v(z) = J z ([D, D] -> [D, D]).

    optimistic acts on the stacked (z_t, z_{t-1}) and returns [2D, 2D]; Adam rules give None.
    """
    j = jac.to(torch.float64)
    d = j.shape[0]
    eye = torch.eye(d, dtype=torch.float64)
    e = hp.lr
    if method == "sim":
        return eye - e * j
    if method == "extragradient":
        return eye - e * j + e * e * j @ j
    if method == "consensus":
        return eye - e * (j + hp.gamma * j.T @ j)
    if method == "optimistic":
        return torch.cat(
            (torch.cat((eye - 2 * e * j, e * j), 1), torch.cat((eye, torch.zeros_like(j)), 1)), 0
        )
    if method == "alt":
        # x' = (I - e Jxx) x - e Jxy y; y' = y - e (Jyx x' + Jyy y)
        k = dim_x
        top = torch.cat((eye[:k, :k] - e * j[:k, :k], -e * j[:k, k:]), 1)
        jyy = torch.cat((torch.zeros_like(j[k:, :k]), j[k:, k:]), 1)
        bottom = eye[k:] - e * (j[k:, :k] @ top + jyy)
        return torch.cat((top, bottom), 0)
    return None


def linear_ratio(method: str, game: Game, *, hp: Hyper) -> float | None:
    """Spectral radius of the rule linearised at the game's equilibrium: the asymptotic per-step
    distance ratio (exact for linear fields such as xy and bilinear, local for the Dirac-GAN).
    None for the Adam rules, whose step is not linear."""
    op = linear_operator(method, game.jacobian(), hp=hp, dim_x=game.dim_x)
    if op is None:
        return None
    return float(torch.linalg.eigvals(op).abs().max())

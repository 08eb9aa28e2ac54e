"""Tests of the game lab against the theory of gradient dynamics on games, and of the optimizers."""

from __future__ import annotations

import argparse
import copy
import math
import subprocess
import sys

import pytest
import torch

from ganforge.games import (
    METHODS,
    Hyper,
    bilinear_game,
    cli,
    dirac_field,
    dirac_game,
    dirac_losses,
    distances,
    linear_ratio,
    mean_ratio,
    simulate,
    xy_game,
    xy_ratio,
)
from ganforge.training.optim import ExtraAdam, OptimisticAdam

REL = 1e-6


def _start(seed: int = 0, dim: int = 2) -> torch.Tensor:
    return torch.rand(dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.5


def _run_xy(method: str, lr: float, steps: int, seed: int = 0, **kw) -> torch.Tensor:
    g = xy_game()
    return simulate(g, method, _start(seed), steps=steps, hp=Hyper(lr=lr, **kw))


# --- theory on xy -----------------------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_sim_grows_by_sqrt_1_plus_eta2_every_step(lr):
    d = distances(_run_xy("sim", lr, 60, seed=1), torch.zeros(2))
    ratios = d[1:] / d[:-1]
    assert torch.allclose(ratios, torch.full_like(ratios, math.sqrt(1 + lr * lr)), rtol=REL, atol=0)


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_alt_conserves_quadratic_form_and_orbit_is_bounded(lr):
    traj = _run_xy("alt", lr, 1000, seed=2)
    x, y = traj[:, 0], traj[:, 1]
    q = x * x + y * y - lr * x * y
    assert torch.allclose(q, q[0].expand_as(q), rtol=1e-9, atol=0)
    d2 = x * x + y * y
    # q >= (1 - lr/2)|z|^2 and q <= (1 + lr/2)|z|^2 bound the orbit away from 0 and infinity
    assert d2.max() <= q[0] / (1 - lr / 2) * (1 + 1e-9)
    assert d2.min() >= q[0] / (1 + lr / 2) * (1 - 1e-9)
    # and the distance really oscillates (a wrong rule could also be "conserved" trivially)
    assert d2.max() - d2.min() > 1e-3 * lr * d2[0]


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_extragradient_contracts_by_formula_every_step(lr):
    d = distances(_run_xy("extragradient", lr, 60, seed=3), torch.zeros(2))
    ratios = d[1:] / d[:-1]
    expected = math.sqrt(1 - lr**2 + lr**4)
    assert torch.allclose(ratios, torch.full_like(ratios, expected), rtol=REL, atol=0)
    assert expected < 1


@pytest.mark.parametrize("lr,gamma", [(0.1, 1.0), (0.3, 0.5)])
def test_consensus_contracts_by_formula_every_step(lr, gamma):
    d = distances(_run_xy("consensus", lr, 40, gamma=gamma), torch.zeros(2))
    ratios = d[1:] / d[:-1]
    expected = math.sqrt((1 - lr * gamma) ** 2 + lr**2)
    assert torch.allclose(ratios, torch.full_like(ratios, expected), rtol=REL, atol=0)


# (eta = 1/2 is left out: the two roots coincide there and the ratio approaches its limit only
# like (t + 1) / t)
@pytest.mark.parametrize("lr", [0.1, 0.3, 0.45, 0.55])
def test_optimistic_converges_below_inverse_sqrt3_at_the_predicted_rate(lr):
    d = distances(_run_xy("optimistic", lr, 1500, seed=4), torch.zeros(2))
    assert d[-1] < 1e-3 * d[0]
    measured = mean_ratio(d[-100:])
    assert measured == pytest.approx(xy_ratio("optimistic", lr), rel=REL)


@pytest.mark.parametrize("lr", [0.6, 0.8])
def test_optimistic_diverges_above_inverse_sqrt3(lr):
    d = distances(_run_xy("optimistic", lr, 400, seed=5), torch.zeros(2))
    assert d[-1] > 10 * d[0]


def test_optimistic_threshold_is_inverse_sqrt3():
    edge = 1 / math.sqrt(3)
    assert xy_ratio("optimistic", edge) == pytest.approx(1.0, abs=1e-12)
    assert xy_ratio("optimistic", edge - 1e-4) < 1 < xy_ratio("optimistic", edge + 1e-4)


@pytest.mark.parametrize("method", ["sim", "alt", "extragradient", "optimistic", "consensus"])
@pytest.mark.parametrize("lr", [0.1, 0.45, 0.7])
def test_closed_forms_equal_spectral_radius_of_linearised_step(method, lr):
    hp = Hyper(lr=lr, gamma=0.7)
    assert linear_ratio(method, xy_game(), hp=hp) == pytest.approx(
        xy_ratio(method, lr, gamma=0.7), rel=1e-9
    )


# --- bilinear x^T A y -------------------------------------------------------------------------


def test_bilinear_identity_has_the_xy_rates():
    g = bilinear_game(3, matrix="identity")
    for method in ("sim", "extragradient"):
        d = distances(simulate(g, method, _start(6, 6), steps=30, hp=Hyper(lr=0.4)), g.equilibrium)
        ratios = d[1:] / d[:-1]
        assert torch.allclose(ratios, torch.full_like(ratios, xy_ratio(method, 0.4)), rtol=REL)


@pytest.mark.parametrize("method", ["sim", "extragradient", "optimistic"])
def test_bilinear_random_matrix_follows_linearised_rate(method):
    g = bilinear_game(3, matrix="random", seed=0)
    hp = Hyper(lr=0.3)
    d = distances(simulate(g, method, _start(7, 6), steps=2500, hp=hp), g.equilibrium)
    assert mean_ratio(d[2000:]) == pytest.approx(linear_ratio(method, g, hp=hp), rel=REL)


def test_bilinear_seed_changes_the_matrix_and_is_reproducible():
    z = _start(8, 8)
    a, b, c = (bilinear_game(4, seed=s).field(z) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.allclose(a, c)


# --- Dirac-GAN --------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["gan", "gan-sat", "wgan"])
def test_dirac_field_is_the_gradient_of_the_losses(loss):
    theta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    loss_g, loss_d = dirac_losses(theta, psi, loss=loss, r1=0.4)
    (g_theta,) = torch.autograd.grad(loss_g, theta, retain_graph=True)
    (g_psi,) = torch.autograd.grad(loss_d, psi)
    v = dirac_field(torch.stack((theta, psi)).detach(), loss=loss, r1=0.4)
    assert torch.allclose(v, torch.stack((g_theta, g_psi)), rtol=1e-12)


@pytest.mark.parametrize("loss,method", [("gan", "sim"), ("gan-sat", "sim"), ("wgan", "sim"),
                                         ("gan-sat", "alt"), ("wgan", "alt")])  # fmt: skip
def test_unregularised_dirac_gan_does_not_converge(loss, method):
    g = dirac_game(loss=loss)
    hp = Hyper(lr=0.1)
    d = distances(simulate(g, method, torch.tensor([1.0, 1.0]), steps=3000, hp=hp), g.equilibrium)
    assert d[2000:].min() > 0.25 * d[0]
    assert linear_ratio(method, g, hp=hp) >= 1 - 1e-12  # purely imaginary Jacobian eigenvalues


@pytest.mark.parametrize("loss", ["gan", "gan-sat", "wgan"])
@pytest.mark.parametrize("gamma", [0.2, 1.0, 5.0])
def test_dirac_gan_with_r1_converges(loss, gamma):
    g = dirac_game(loss=loss, r1=gamma)
    eig = torch.linalg.eigvals(g.jacobian())
    assert (eig.real > 0).all()  # any gamma > 0 moves the eigenvalues into the stable half-plane
    c2 = 1.0 if loss == "wgan" else 0.25  # f'(0)^2
    hp = Hyper(lr=0.5 * min(gamma / c2, 1 / gamma))  # inside the stability region of sim
    rate = linear_ratio("sim", g, hp=hp)
    assert rate < 1
    steps = min(int(math.log(1e-3) / math.log(rate) * 1.5), 6000)
    d = distances(simulate(g, "sim", torch.tensor([1.0, 1.0]), steps=steps, hp=hp), g.equilibrium)
    assert d[-1] < 1e-2 * d[0]


def test_dirac_r1_zero_sits_on_the_stability_boundary():
    eig = torch.linalg.eigvals(dirac_game(loss="gan-sat").jacobian())
    assert torch.allclose(eig.real, torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(eig.imag.abs(), torch.full((2,), 0.5, dtype=torch.float64))


# --- optimizers -------------------------------------------------------------------------------


def _bilinear_descent(opt_cls, *, steps: int, lr: float = 0.05, betas=(0.0, 0.999)):
    """x minimises x*y, y maximises it; returns the distance to (0, 0) after each step."""
    x = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    y = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = opt_cls([x, y], lr=lr, betas=betas)

    def set_grads():
        gx, gy = torch.autograd.grad((x * y).sum(), [x, y])
        x.grad, y.grad = gx, -gy  # y ascends

    out = []
    for _ in range(steps):
        set_grads()
        if isinstance(opt, ExtraAdam):
            opt.extrapolate()
            set_grads()
        opt.step()
        out.append(float(torch.cat([x, y]).detach().norm()))
    return torch.tensor(out, dtype=torch.float64), opt, (x, y)


def test_optimistic_and_extra_adam_converge_where_adam_does_not():
    d_adam, _, _ = _bilinear_descent(torch.optim.Adam, steps=1500)
    assert d_adam[750:].min() > 0.5 * math.sqrt(2)
    for cls in (OptimisticAdam, ExtraAdam):
        d, _, _ = _bilinear_descent(cls, steps=1500)
        assert d[-1] < 1e-3, cls.__name__


@pytest.mark.parametrize(
    "method,cls", [("optimistic-adam", OptimisticAdam), ("extra-adam", ExtraAdam)]
)
def test_pure_adam_rules_match_the_optimizers(method, cls):
    g = xy_game()
    traj = simulate(g, method, torch.tensor([1.0, 1.0]), steps=200, hp=Hyper(lr=0.05))
    d, _, _ = _bilinear_descent(cls, steps=200)
    assert torch.allclose(distances(traj, g.equilibrium)[1:], d, rtol=1e-10)


@pytest.mark.parametrize("cls", [OptimisticAdam, ExtraAdam])
def test_optimizer_state_dict_resumes_exactly(cls):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    clone = torch.nn.Linear(3, 1)
    clone.load_state_dict(net.state_dict())
    data = torch.randn(16, 3)

    def grads(model):
        model.zero_grad()
        model(data).pow(2).mean().backward()

    def half_step(model, opt):
        grads(model)
        if isinstance(opt, ExtraAdam):
            opt.extrapolate()
            grads(model)
        opt.step()

    opt = cls(net.parameters(), lr=0.01)
    for _ in range(5):
        half_step(net, opt)
    if cls is ExtraAdam:  # save in the middle of an extragradient step as well
        grads(net)
        opt.extrapolate()
        assert opt.extrapolated
    clone.load_state_dict(net.state_dict())
    opt2 = cls(clone.parameters(), lr=0.01)
    # a deep copy, like a checkpoint read back from disk (torch would share the tensors otherwise)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    for model, o in ((net, opt), (clone, opt2)):
        if cls is ExtraAdam:
            grads(model)
            o.step()
        for _ in range(5):
            half_step(model, o)
    for p, q in zip(net.parameters(), clone.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(net.parameters()), torch.zeros(1, 3))


def test_optimizer_rejects_bad_hyper_parameters():
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match="lr"):
        OptimisticAdam([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    with pytest.raises(ConfigError, match="betas"):
        ExtraAdam([torch.nn.Parameter(torch.zeros(1))], betas=(1.0, 0.9))


# --- CLI --------------------------------------------------------------------------------------


def _table_rows(text: str) -> list[tuple[int, float, str]]:
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit():
            rows.append((int(parts[0]), float(parts[1]), parts[2]))
    return rows


def test_cli_writes_png_and_prints_distance_and_ratio(tmp_path, capsys):
    out = tmp_path / "traj.png"
    code = cli.main(["xy", "--method", "sim", "--lr", "0.2", "--steps", "40", "--every", "5",
                     "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    rows = _table_rows(text)
    assert [r[0] for r in rows] == list(range(0, 41, 5))
    assert rows[0][1] == pytest.approx(math.sqrt(2), rel=1e-6)
    for _, dist, ratio in rows[1:]:
        assert float(ratio) == pytest.approx(math.sqrt(1.04), rel=1e-6)
    assert rows[-1][1] == pytest.approx(math.sqrt(2) * 1.04**20, rel=1e-5)
    summary = [line for line in text.splitlines() if line.startswith("sim ")]
    assert len(summary) == 1 and "sqrt(1 + eta^2)" in summary[0]


def test_cli_compare_runs_every_method(tmp_path, capsys):
    out = tmp_path / "cmp.png"
    assert cli.main(["xy", "--compare", "--steps", "60", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for m in METHODS:
        assert any(line.split()[:1] == [m] for line in text.splitlines()), m
    assert out.exists() and out.stat().st_size > 10_000


def test_cli_dirac_and_bilinear(capsys):
    assert (
        cli.main(["dirac", "--loss", "wgan", "--r1", "1", "--method", "alt", "--steps", "50"]) == 0
    )
    assert cli.main(["bilinear", "--dim", "3", "--matrix", "identity", "--steps", "20"]) == 0
    text = capsys.readouterr().out
    assert "dirac(wgan, r1=1)" in text and "bilinear(dim=3, identity)" in text


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["xy", "--method", "newton"], "newton"),
        (["xy", "--lr", "0"], "--lr"),
        (["xy", "--lr", "-0.1"], "--lr"),
        (["xy", "--out", "/nonexistent_dir_for_ganforge/x.png"], "nonexistent_dir_for_ganforge"),
        (["chess"], "chess"),
        (["dirac", "--loss", "hinge"], "hinge"),
        (["xy", "--lr", "abc"], "abc"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv, needle, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own type errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_add_parser_registers_game_subcommand(capsys):
    parser = argparse.ArgumentParser(prog="ganforge")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["game", "xy", "--method", "extragradient", "--steps", "10"])
    assert args.func(args) == 0
    args = parser.parse_args(["game", "xy", "--method", "bogus"])
    assert args.func(args) == 2
    assert "bogus" in capsys.readouterr().err


def test_module_entry_point_runs():
    res = subprocess.run(
        [sys.executable, "-m", "ganforge.games.cli", "xy", "--method", "alt", "--steps", "5"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and "alt" in res.stdout

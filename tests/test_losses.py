"""Loss functions against hand computation, and the articles' vanishing-gradient argument."""

import math

import pytest
import torch

from ganforge import losses


def test_d_bce_matches_hand_computation():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = lambda t: 1 / (1 + math.exp(-t))
    want_real = -(math.log(sig(2.0)) + math.log(sig(-1.0))) / 2
    want_fake = -(math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    l_real, l_fake = losses.d_bce(real, fake)
    assert l_real.item() == pytest.approx(want_real, rel=1e-6)
    assert l_fake.item() == pytest.approx(want_fake, rel=1e-6)


def test_one_sided_label_smoothing_only_softens_real_target():
    real, fake = torch.tensor([1.5]), torch.tensor([0.3])
    t = 0.9
    s = 1 / (1 + math.exp(-1.5))
    want = -(t * math.log(s) + (1 - t) * math.log(1 - s))
    l_real, l_fake = losses.d_bce(real, fake, real_label=t)
    assert l_real.item() == pytest.approx(want, rel=1e-6)
    assert l_fake.item() == pytest.approx(losses.d_bce(real, fake)[1].item())


def test_generator_losses_match_formulas():
    logits = torch.tensor([0.7, -2.0, 4.0])
    d = torch.sigmoid(logits)
    assert losses.g_saturating(logits).item() == pytest.approx(torch.log(1 - d).mean().item(), rel=1e-5)
    assert losses.g_nonsaturating(logits).item() == pytest.approx(-torch.log(d).mean().item(), rel=1e-5)


def test_losses_are_finite_for_extreme_logits():
    big = torch.tensor([-1000.0, 1000.0])
    for v in (*losses.d_bce(big, big), losses.g_saturating(big), losses.g_nonsaturating(big)):
        assert torch.isfinite(v)


def test_saturating_gradient_vanishes_when_d_rejects_fakes():
    """D(G(z)) ~ 0 (logit -10): the minimax loss gives G almost no gradient, the
    non-saturating loss gives almost the full gradient (Goodfellow et al. 2014, Sec. 3)."""
    for fn, lo, hi in ((losses.g_saturating, 0.0, 1e-3), (losses.g_nonsaturating, 0.99, 1.0)):
        logits = torch.full((8,), -10.0, requires_grad=True)
        fn(logits).backward()
        per_sample = logits.grad.abs() * 8  # undo the mean
        assert lo <= per_sample.min().item() and per_sample.max().item() <= hi


def test_r1_penalty_of_linear_discriminator_is_weight_norm_squared():
    w = torch.tensor([3.0, -4.0])
    x = torch.randn(5, 2, requires_grad=True)
    assert losses.r1_penalty(x @ w, x).item() == pytest.approx(25.0)


def test_gradient_penalty_zero_for_unit_norm_critic():
    w = torch.tensor([0.6, 0.8])
    gp = losses.gradient_penalty(lambda x: x @ w, torch.randn(6, 2), torch.randn(6, 2))
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


def test_other_losses_values():
    r, f = torch.tensor([2.0, 0.0]), torch.tensor([-0.5, 1.0])
    assert [v.item() for v in losses.d_hinge(r, f)] == pytest.approx([0.5, 1.25])
    assert [v.item() for v in losses.d_wasserstein(r, f)] == pytest.approx([-1.0, 0.25])
    assert [v.item() for v in losses.d_least_squares(r, f)] == pytest.approx([0.5, 0.3125])

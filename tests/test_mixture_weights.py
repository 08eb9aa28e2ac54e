"""2-D mixtures with unequal mode weights (held-out layouts for the presets): sampling follows
the weights, the identity names them, and mode KL is measured against them."""

import pytest
import torch

from ganforge.config import Config, apply_overrides
from ganforge.data import load_data
from ganforge.errors import ConfigError
from ganforge.metrics import mixture_mode_stats
from ganforge.presets import preset_config


def test_weighted_ring_samples_follow_the_weights_and_name_them():
    cfg = preset_config("ring8", {"data.n_modes": 4, "data.mode_weights": "1,1,2,4"})
    data = load_data(cfg.data)
    assert data.spec.mode_weights == pytest.approx((0.125, 0.125, 0.25, 0.5))
    b = data.sample(40000, torch.Generator().manual_seed(0))
    share = torch.bincount(b.y, minlength=4).double() / 40000
    assert torch.allclose(share, torch.tensor([0.125, 0.125, 0.25, 0.5], dtype=torch.float64),
                          atol=0.01)
    plain = load_data(preset_config("ring8", {"data.n_modes": 4}).data)
    assert ":weights=" in data.spec.identity and ":weights=" not in plain.spec.identity


def test_mode_kl_is_measured_against_the_true_weights():
    data = load_data(preset_config("grid25", {"data.n_modes": 9,
                                              "data.mode_weights": "9,1,1,1,1,1,1,1,1"}).data)
    x = data.sample(20000, torch.Generator().manual_seed(1)).x
    s = data.spec
    true = mixture_mode_stats(x, s.modes, s.mode_std, weights=s.mode_weights)
    uniform = mixture_mode_stats(x, s.modes, s.mode_std)
    assert true["reverse_kl"] < 0.01 and uniform["reverse_kl"] > 0.1
    assert true["modes"] == 9


@pytest.mark.parametrize("over, match", [
    ({"data.mode_weights": "1,2"}, "needs 8 positive"),
    ({"data.mode_weights": "1,1,1,1,1,1,1,x"}, "comma-separated numbers"),
    ({"data.mode_weights": "1,1,1,1,1,1,1,0"}, "needs 8 positive"),
])
def test_bad_weights_are_one_line_errors(over, match):
    with pytest.raises(ConfigError, match=match):
        load_data(preset_config("ring8", over).data)


def test_weights_are_refused_for_data_without_modes():
    with pytest.raises(ConfigError, match="data.mode_weights"):
        apply_overrides(Config(), {"data.mode_weights": "1,2"})

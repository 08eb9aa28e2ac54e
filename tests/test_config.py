"""Strict config parsing and presets."""

import dataclasses
import json

import pytest

from ganforge.config import Config, allowed_keys, apply_overrides, from_dict, parse_set_args
from ganforge.errors import ConfigError
from ganforge.presets import PRESETS, preset_config


def test_every_preset_resolves_and_roundtrips_through_json():
    for name in PRESETS:
        cfg = preset_config(name)
        assert cfg.preset == name
        assert from_dict(json.loads(cfg.to_json())) == cfg


def test_seed_mlp_mnist_is_the_articles_recipe():
    c = preset_config("seed-mlp-mnist")
    assert (c.model.arch, c.model.g_hidden, c.model.d_hidden, c.model.z_dim) == ("mlp", 128, 128, 100)
    assert c.model.z_dist == "uniform" and c.train.batch_size == 128
    assert (c.g_opt.name, c.g_opt.lr, c.g_opt.beta1, c.g_opt.beta2) == ("adam", 1e-3, 0.9, 0.999)
    assert c.loss.g_loss == "nonsaturating"


def test_overrides_are_typed():
    cfg = apply_overrides(Config(), parse_set_args(["train.steps=12", "g_opt.lr=1e-3", "train.reuse=false",
                                                    "train.amp=fp16"]))
    assert cfg.train.steps == 12 and cfg.g_opt.lr == 1e-3 and cfg.train.reuse is False
    assert cfg.train.amp == "fp16"
    assert apply_overrides(Config(), {"data.data_dir": "none"}).data.data_dir is None


@pytest.mark.parametrize(
    "key,value,needle",
    [
        ("train.stepz", "3", "allowed: "),
        ("train.steps", "many", "expected int"),
        ("train.steps", "2.5", "expected int"),
        ("train.reuse", "maybe", "expected bool"),
        ("train.amp", "true", "choose from off, bf16, fp16"),
        ("model.arch", "vgg", "choose from mlp, dcgan"),
        ("train.steps", "0", "must be positive"),
        ("train.ema", "1.5", "must be in [0, 1)"),
    ],
)
def test_bad_overrides_name_the_key(key, value, needle):
    with pytest.raises(ConfigError) as e:  # what `--set` reaches: a preset with overrides
        preset_config("digits", {key: value})
    assert key in str(e.value) and needle in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(ConfigError) as e:
        apply_overrides(Config(), {"lr": "1"})
    assert "g_opt.lr" in str(e.value)
    assert "train.steps" in allowed_keys()


def test_set_without_equals_and_unknown_preset():
    with pytest.raises(ConfigError, match="key=value"):
        parse_set_args(["train.steps"])
    with pytest.raises(ConfigError, match="digits"):
        preset_config("nope")


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().train.steps = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "preset,key,value,needle",
    [
        ("ebgan-digits", "loss.r1_gamma", "0.1", "loss.r1_gamma=0.1: has no effect under loss.objective=ebgan"),
        ("wgan-digits", "loss.label_smoothing", "0.1", "applies to gan, acgan, infogan"),
        ("lsgan-digits", "loss.r1_every", "4", "loss.r1_every=4: has no effect"),
        ("infogan-digits", "loss.margin", "2", "applies to ebgan"),
        ("ebgan-digits", "model.minibatch_disc", "true", "model.minibatch_disc: has no effect"),
        # lazy R1's interval with the penalty off: the digits preset carries r1_every=16
        ("digits", "loss.r1_gamma", "0", "loss.r1_every=16: spaces the R1 penalty, which is off"),
        ("ring8-vanilla", "train.lr_final", "0.1",
         "train.lr_final=0.1: has no effect with train.lr_schedule=constant"),
    ],
)
def test_an_option_the_objective_ignores_is_refused(preset, key, value, needle):
    with pytest.raises(ConfigError) as e:
        preset_config(preset, {key: value})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_every_data_option_reaches_the_dataset(tmp_path):
    """data.seq_len and data.n_samples were accepted by --set and dropped by the trainer."""
    from ganforge.runner import make_trainer

    cfg = preset_config("tsgan-sines", {"data.seq_len": 24, "data.n_samples": 64,
                                        "train.steps": 1, "train.diagnose": False})
    t = make_trainer(cfg, tmp_path, quiet=True)
    assert t.spec.shape[0] == 24 and len(t.data.x) == 64

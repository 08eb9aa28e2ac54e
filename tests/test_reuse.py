"""Reuse across phases (training/step.py): G(z) computed once per step gives, to the bit on CPU,
the weights of a step that recomputes G(z) in the G phase with the same z; G runs forward once
per step instead of twice; objectives with k D-steps opt out; a bad declaration is refused."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.objectives import Phase, PhaseInput
from ganforge.runner import make_trainer

from .test_contract import CASES, _cfg

# every objective case whose G phase reuses the D phase's input (d_steps = 1 everywhere)
REUSING = sorted(c for c in CASES if c != "two-pairs")


def _first_layer(net: torch.nn.Module) -> torch.nn.Module:
    """The first module holding weights: it runs once per forward pass of the network."""
    return next(m for m in net.modules() if next(m.parameters(recurse=False), None) is not None)


def _train(cfg, run_dir, steps: int):
    t = make_trainer(cfg, run_dir, quiet=True)
    calls = []
    _first_layer(t.nets["G"]).register_forward_hook(lambda *a: calls.append(1))
    for _ in range(steps):
        t.train_step()
        t.step += 1
    return t, len(calls)


@pytest.mark.parametrize("case", REUSING)
def test_reusing_g_output_is_bit_identical_to_recomputing_it(tmp_path, monkeypatch, case):
    steps = 6
    # dropout draws a new mask per forward pass: the recomputing reference would differ by design
    extra = {"model.dropout": 0.0} if case == "pix2pix" else {}
    cfg = _cfg(case, **{"train.d_steps": 1}, **extra)
    reused, calls_reused = _train(cfg, tmp_path / "a", steps)
    g_phase = next(p for p in reused.objective.phases if p.name == "G")
    d_phase = next(p for p in reused.objective.phases if p.name == "D")
    assert g_phase.reuses == "D", case
    # the reference: every `once` recomputes, so the G phase runs G forward again on the same z
    monkeypatch.setattr(PhaseInput, "once", lambda self, key, fn: fn())
    fresh, calls_fresh = _train(cfg, tmp_path / "b", steps)
    # one forward pass of G saved at every step where the D phase ran before the G phase (the
    # classic pair: G once per step instead of twice; SRGAN: none during its pre-training)
    saved = sum(d_phase.runs_at(s) for s in range(steps))
    assert saved > 0 and calls_fresh - calls_reused == saved, (calls_reused, calls_fresh)
    for name, net in reused.nets.items():
        for (k, a), b in zip(net.named_parameters(), fresh.nets[name].parameters()):
            assert torch.equal(a, b), f"{case}: {name}.{k} differs from the recomputing step"
        if name != "G":  # G's batch-norm statistics update once per step with reuse, twice without
            for a, b in zip(net.buffers(), fresh.nets[name].buffers()):
                assert torch.equal(a, b), f"{case}: a buffer of {name} differs"
    for name in reused.ema:
        for a, b in zip(reused.ema[name].parameters(), fresh.ema[name].parameters()):
            assert torch.equal(a, b), f"{case}: EMA of {name} differs"


def test_k_d_steps_opt_out_and_draw_fresh_noise_for_g(tmp_path):
    cfg = _cfg("wgan-gp")  # train.d_steps=2 in its case
    t, calls = _train(cfg, tmp_path, 3)
    assert t.objective.phases[-1].reuses is None
    assert calls == 3 * (2 + 1)  # two D updates and one G update, each with its own G(z)


def test_reuse_leaves_g_phase_draw_free_and_the_rng_ahead_of_the_old_step(tmp_path):
    """The G phase draws no noise of its own: after a step the noise stream has advanced by the
    D phase's draw only."""
    cfg = _cfg("gan", **{"loss.r1_every": 1})  # no lazy R1 phase drawing its own batch
    t = make_trainer(cfg, tmp_path, quiet=True)
    z_before = t.z_gen.get_state()
    t.train_step()
    probe = torch.Generator().set_state(z_before)
    t.prior(cfg.train.batch_size, probe)  # the D phase's one draw
    assert torch.equal(probe.get_state(), t.z_gen.get_state())


def test_reuses_must_name_an_earlier_phase_and_run_once():
    with pytest.raises(ConfigError, match="runs once per step"):
        Phase("G", ("G",), repeat=2, reuses="D")

    class Backwards:
        from ganforge.objectives import Objective as _O

        phases = (Phase("G", ("G",), reuses="D"), Phase("D", ("D",)))
        check_phases = _O.check_phases

    with pytest.raises(ConfigError, match="not an earlier phase"):
        Backwards().check_phases()


def test_reuse_false_draws_fresh_inputs_for_g_and_is_refused_where_it_does_nothing(tmp_path):
    cfg = _cfg("gan", **{"loss.r1_every": 1, "train.reuse": False})
    _, calls = _train(cfg, tmp_path / "a", 2)
    assert calls == 2 * 2  # G runs forward in both phases, on two draws of z
    with pytest.raises(ConfigError, match="train.reuse=false"):
        make_trainer(_cfg("wgan-gp", **{"train.reuse": False}), tmp_path / "b", quiet=True)

"""Mixed precision (`train.amp`): bf16 and fp16 autocast on the training device (tested here on
CPU), fp16's loss scaler in the checkpoint, bit-identical resumes, old boolean configs, and the
combination that cannot work refused."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import from_dict
from ganforge.errors import ConfigError
from ganforge.presets import preset_config
from ganforge.runner import callbacks_for, resume_trainer
from ganforge.training.checkpoint import find_checkpoint, load_state
from ganforge.training.trainer import Trainer

from .test_contract import DIGITS, _flat

TINY = {**DIGITS, "train.steps": 8, "train.tick": 4, "train.checkpoint_every": 4,
        "train.diagnose": False, "train.threads": 1}


def _cfg(amp: str):
    return preset_config("digits", {**TINY, "train.amp": amp})


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_trains_in_low_precision_and_resumes_bit_identically(tmp_path, amp):
    seen = []
    straight = Trainer(_cfg(amp), tmp_path / "a", quiet=True)
    d = straight.nets["D"]
    d.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    straight.fit()
    assert set(seen) == {{"bf16": torch.bfloat16, "fp16": torch.float16}[amp]}, seen  # D ran in amp

    def stop_at_4(trainer):
        return lambda tr, rec: tr.request_stop("test") if tr.step == 4 else None

    cfg = _cfg(amp)
    half = Trainer(cfg, tmp_path / "b", quiet=True, log=lambda *a: None,
                   callbacks=[*callbacks_for(cfg), stop_at_4])
    half.fit()
    resumed = resume_trainer(tmp_path / "b", quiet=True)
    resumed.fit(resumed=True)
    a = load_state(find_checkpoint(tmp_path / "a"))
    b = load_state(find_checkpoint(tmp_path / "b"))
    assert (a["scaler"] is not None) == (amp == "fp16")
    for key in ("nets", "opts", "rng", "scaler"):
        fa, fb = _flat(a[key]), _flat(b[key])
        assert fa.keys() == fb.keys()
        for k in fa:
            same = torch.equal(fa[k], fb[k]) if isinstance(fa[k], torch.Tensor) else fa[k] == fb[k]
            assert same, f"{amp}: {key}{k} differs after a resume"
    for p in straight.nets["G"].parameters():
        assert p.dtype == torch.float32 and torch.isfinite(p).all()  # master weights stay fp32


def test_fp16_scaler_skips_a_step_with_inf_gradients_and_lowers_its_scale(tmp_path):
    t = Trainer(_cfg("fp16"), tmp_path, quiet=True)
    t.train_step()
    scale = t.scaler.get_scale()
    before = [p.clone() for p in t.nets["D"].parameters()]
    compute = t.objective.compute

    def poisoned(phase, nets, inp):
        out = compute(phase, nets, inp)
        if phase == "D":
            out.terms["D/real"] = out.terms["D/real"] * float("inf")
        return out

    t.objective.compute = poisoned
    t.objective.phases = t.objective.phases[:1]  # the D phase alone
    t.train_step()
    assert all(torch.equal(a, b) for a, b in zip(before, t.nets["D"].parameters()))
    assert t.scaler.get_scale() < scale


def test_old_boolean_amp_in_a_saved_config_still_loads_and_bad_values_are_refused():
    d = preset_config("digits").to_dict()
    d["train"]["amp"] = True
    assert from_dict(d).train.amp == "bf16"
    d["train"]["amp"] = False
    assert from_dict(d).train.amp == "off"
    with pytest.raises(ConfigError, match="train.amp"):
        preset_config("digits", {"train.amp": "fp8"})
    with pytest.raises(ConfigError, match="extra-adam"):
        preset_config("digits", {"train.amp": "fp16", "g_opt.name": "extra-adam"})

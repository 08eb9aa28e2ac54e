"""Tests for ganforge.data: every loader on real or constructed data, every bad-input error,
mixture statistics, sharding, reproducibility and offline downloads via file:// URLs."""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data import DATASETS, Batch, Dataset, TensorDataset, load_dataset
from ganforge.data import idx as idx_mod
from ganforge.data import images as images_mod
from ganforge.data.download import cache_dir, download_file, file_digest, safe_extract_tar
from ganforge.data.idx import parse_idx
from ganforge.data.mixtures import grid_centres, ring_centres
from ganforge.errors import ConfigError, DataError

MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason="shared MNIST test split absent"
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _idx_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 array in IDX (magic 0x0000 08 ndim, big-endian dims)."""
    head = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return head + arr.astype(np.uint8).tobytes()


def _write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, arr in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        raw = _idx_bytes(arr)
        name = f"{prefix}-{kind}" + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(raw) if gz else raw)


def _fake_mnist(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(
        np.uint8
    )


# ---------------------------------------------------------------- entry point


def test_unknown_name_lists_datasets():
    with pytest.raises(ConfigError) as e:
        load_dataset("imagenet")
    assert "imagenet" in str(e.value) and all(n in str(e.value) for n in DATASETS)


@pytest.mark.parametrize("name", ["digits", "mnist", "cifar10"])
def test_bad_split_is_config_error(name):
    with pytest.raises(ConfigError, match="validation"):
        load_dataset(name, split="validation", data_dir="/nonexistent", download=False)


# ---------------------------------------------------------------- mixtures


def test_ring_centres_on_circle():
    c = ring_centres(8, radius=2.5)
    assert c.shape == (8, 2) and c.dtype == torch.float32
    torch.testing.assert_close(c.norm(dim=1), torch.full((8,), 2.5))
    angles = torch.atan2(c[:, 1], c[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(angles, torch.arange(8) * 2 * math.pi / 8, atol=1e-5, rtol=0)


def test_grid_centres_pacgan_layout():
    c = grid_centres(25, spacing=2.0)
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(p) for p in c.tolist()} == expected
    assert torch.allclose(grid_centres(9, spacing=1.0).mean(0), torch.zeros(2))
    with pytest.raises(ConfigError, match="n_modes=24"):
        load_dataset("grid25", n_modes=24)


@pytest.mark.parametrize(
    ("name", "kw", "k", "std"),
    [
        ("ring8", {}, 8, 0.01),
        ("grid25", {}, 25, 0.05),
        ("ring8", {"n_modes": 5, "std": 0.1}, 5, 0.1),
    ],
)
def test_mixture_statistics(name, kw, k, std):
    ds = load_dataset(name, **kw)
    spec = ds.spec
    assert spec.kind == "points" and spec.shape == (2,) and spec.num_classes == k
    assert spec.modes.shape == (k, 2) and spec.mode_std == pytest.approx(std)
    b = ds.sample(20000, _gen(1))
    assert b.x.shape == (20000, 2) and b.x.dtype == torch.float32 and b.y.dtype == torch.int64
    dist = torch.cdist(b.x, spec.modes)
    nearest = dist.argmin(1)
    # Distance to the own centre is Rayleigh(std): mean std * sqrt(pi / 2).
    mean_d = dist.min(1).values.mean().item()
    assert mean_d == pytest.approx(std * math.sqrt(math.pi / 2), rel=0.05)
    assert torch.equal(nearest, b.y)  # labels are the mode each point came from
    counts = torch.bincount(b.y, minlength=k).float()
    assert (counts > 0).all() and counts.std() / counts.mean() < 0.1  # uniform over modes


def test_mixture_options_and_errors():
    ds = load_dataset("ring8", radius=3.0, std=0.0)
    x = ds.sample(100, _gen()).x
    torch.testing.assert_close(x.norm(dim=1), torch.full((100,), 3.0))
    assert load_dataset("grid25", spacing=1.0).spec.modes.abs().max() == 2.0
    for kw in ({"radius": -1.0}, {"std": -0.1}, {"n_modes": 0}, {"radius": float("nan")}):
        with pytest.raises(ConfigError):
            load_dataset("ring8", **kw)
    assert load_dataset("ring8").spec.identity != load_dataset("ring8", std=0.02).spec.identity


def test_mixture_reproducible_fresh_and_shard():
    ds = load_dataset("ring8")
    g1, g2 = _gen(7), _gen(7)
    a, b = ds.sample(64, g1), ds.sample(64, g2)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(ds.sample(64, g1).x, a.x)  # fresh data every call
    state = g1.get_state()
    c = ds.sample(32, g1)
    g1.set_state(state)
    assert torch.equal(ds.sample(32, g1).x, c.x)
    assert torch.equal(ds.real_sample(50, seed=3).x, ds.real_sample(50, seed=3).x)
    assert ds.shard(1, 4) is ds
    assert isinstance(ds, Dataset)


# ---------------------------------------------------------------- points


def test_points_npy_and_csv(tmp_path):
    arr = np.random.default_rng(0).normal(size=(50, 3))
    np.save(tmp_path / "p.npy", arr)
    ds = load_dataset("points", data_file=str(tmp_path / "p.npy"))
    assert isinstance(ds, TensorDataset) and ds.spec.kind == "points" and ds.spec.shape == (3,)
    np.testing.assert_allclose(ds.x.numpy(), arr.astype(np.float32))
    assert ds.x.dtype == torch.float32 and ds.sample(4, _gen()).y is None
    lines = ["a,b,c"] + [",".join(repr(v) for v in row) for row in arr.tolist()]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    dc = load_dataset("points", data_file=str(tmp_path / "p.csv"))
    np.testing.assert_allclose(dc.x.numpy(), arr.astype(np.float32))
    (tmp_path / "nohead.csv").write_text("\n".join(lines[1:]))
    assert len(load_dataset("points", data_file=str(tmp_path / "nohead.csv"))) == 50
    # identity follows the file content
    id1 = ds.spec.identity
    arr[0, 0] += 1
    np.save(tmp_path / "p.npy", arr)
    assert load_dataset("points", data_file=str(tmp_path / "p.npy")).spec.identity != id1


def _bad_points(tmp: Path) -> dict[str, Path]:
    cases = {}

    def npy(name, a):
        np.save(tmp / name, a)
        cases[name] = tmp / name

    def csv(name, text):
        (tmp / name).write_text(text)
        cases[name] = tmp / name

    npy("one_d.npy", np.zeros(5))
    npy("three_d.npy", np.zeros((2, 2, 2)))
    npy("nan.npy", np.array([[0.0, np.nan]]))
    npy("empty.npy", np.zeros((0, 2)))
    npy("strings.npy", np.array([["a", "b"]]))
    csv("word.csv", "x,y\n1,2\n3,oops\n")
    csv("inf.csv", "1,2\n3,inf\n")
    csv("ragged.csv", "1,2\n3\n")
    csv("empty.csv", "")
    csv("header_only.csv", "x,y\n")
    (tmp / "obj.npy").write_bytes(b"not an npy file")
    cases["obj.npy"] = tmp / "obj.npy"
    (tmp / "p.txt").write_text("1,2\n")
    cases["p.txt"] = tmp / "p.txt"
    cases["missing.npy"] = tmp / "missing.npy"
    return cases


def test_points_bad_inputs_name_file(tmp_path):
    for name, path in _bad_points(tmp_path).items():
        with pytest.raises(DataError) as e:
            load_dataset("points", data_file=str(path))
        msg = str(e.value)
        assert name in msg and "\n" not in msg, (name, msg)


# ---------------------------------------------------------------- digits


def test_digits_splits():
    tr, te, al = (load_dataset("digits", split=s) for s in ("train", "test", "all"))
    assert (len(tr), len(te), len(al)) == (1500, 297, 1797)
    assert tr.spec.shape == (1, 8, 8) and tr.spec.num_classes == 10 and tr.spec.kind == "image"
    assert al.x.min() == -1.0 and al.x.max() == 1.0
    assert set(al.y.unique().tolist()) == set(range(10))
    # train and test partition "all": their sorted pixel sums match
    sums = torch.cat([tr.x, te.x]).sum((1, 2, 3)).sort().values
    torch.testing.assert_close(sums, al.x.sum((1, 2, 3)).sort().values)
    assert len({tr.spec.identity, te.spec.identity, al.spec.identity}) == 3
    big = load_dataset("digits", split="test", image_size=16)
    assert big.x.shape == (297, 1, 16, 16) and big.x.abs().max() <= 1.0
    assert big.spec.identity != te.spec.identity
    # bilinear upsampling preserves the mean brightness roughly
    assert big.x.mean().item() == pytest.approx(te.x.mean().item(), abs=0.02)


def test_shard_disjoint_and_covering():
    ds = load_dataset("digits", split="all")
    ds = TensorDataset(torch.arange(len(ds)).float()[:, None], ds.y, ds.spec)
    parts = [ds.shard(r, 3) for r in range(3)]
    ids = [set(p.x[:, 0].long().tolist()) for p in parts]
    assert sum(len(s) for s in ids) == len(ds) and set().union(*ids) == set(range(len(ds)))


# ---------------------------------------------------------------- mnist / IDX


@needs_mnist
def test_mnist_shared_folder_fallback_and_counts():
    with pytest.warns(UserWarning, match="test split"):
        ds = load_dataset("mnist", data_dir=str(MNIST_DIR))  # split="train" absent
    assert ds.x.shape == (10000, 1, 28, 28) and ds.x.dtype == torch.float32
    assert ds.x.min() == -1.0 and ds.x.max() == 1.0 and ds.y.dtype == torch.int64
    counts = torch.bincount(ds.y, minlength=10).tolist()
    assert counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # shared README
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback and no checksum warning here
        te = load_dataset("mnist", data_dir=str(MNIST_DIR), split="test")
        al = load_dataset("mnist", data_dir=str(MNIST_DIR), split="all", image_size=32)
    assert torch.equal(te.x, ds.x) and al.x.shape == (10000, 1, 32, 32)
    assert te.spec.identity != al.spec.identity


def test_idx_raw_and_gz_train_test_all(tmp_path):
    xi, yi = _fake_mnist(12, 0)
    xt, yt = _fake_mnist(5, 1)
    _write_idx(tmp_path, "train", xi, yi, gz=False)
    _write_idx(tmp_path, "t10k", xt, yt, gz=True)
    tr = load_dataset("fashion-mnist", data_dir=str(tmp_path), download=False)
    torch.testing.assert_close(tr.x[:, 0], torch.from_numpy(xi).float() / 127.5 - 1)
    assert torch.equal(tr.y, torch.from_numpy(yi).long())
    al = load_dataset("fashion-mnist", data_dir=str(tmp_path), split="all", download=False)
    assert len(al) == 17 and torch.equal(al.y[12:], torch.from_numpy(yt).long())
    assert tr.spec.identity != al.spec.identity


def test_parse_idx_dtype_and_shape():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(_idx_bytes(a)), a)


def _corrupt_idx_cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Each case: a folder holding a t10k split with one fault, and the file the error must name."""
    x, y = _fake_mnist(6, 2)
    out = {}
    good_img = gzip.compress(_idx_bytes(x))

    def case(name, img: bytes, lab: bytes, culprit: str):
        d = tmp / name
        d.mkdir()
        (d / "t10k-images-idx3-ubyte.gz").write_bytes(img)
        (d / "t10k-labels-idx1-ubyte.gz").write_bytes(lab)
        out[name] = (d, culprit)

    good_lab = gzip.compress(_idx_bytes(y))
    case("truncated_gz", good_img[: len(good_img) // 2], good_lab, "t10k-images")
    case("corrupt_gz", good_img[:10] + b"\x00" * 50 + good_img[60:], good_lab, "t10k-images")
    case("bad_magic", gzip.compress(b"\x08\x03" + _idx_bytes(x)[2:]), good_lab, "t10k-images")
    case("short_body", gzip.compress(_idx_bytes(x)[:-7]), good_lab, "t10k-images")
    case("count_mismatch", good_img, gzip.compress(_idx_bytes(y[:4])), "t10k-labels")
    d = tmp / "no_labels"
    d.mkdir()
    (d / "t10k-images-idx3-ubyte.gz").write_bytes(good_img)
    out["no_labels"] = (d, "t10k-labels")
    return out


@pytest.mark.filterwarnings("ignore:.*differs from the official")
def test_idx_bad_inputs_name_file(tmp_path):
    for name, (folder, culprit) in _corrupt_idx_cases(tmp_path).items():
        with pytest.raises(DataError) as e:
            load_dataset("mnist", data_dir=str(folder), split="test", download=False)
        msg = str(e.value)
        assert culprit in msg and "\n" not in msg, (name, msg)


def test_idx_checksum_mismatch_only_warns(tmp_path):
    x, y = _fake_mnist(4, 3)
    _write_idx(tmp_path, "t10k", x, y)
    with pytest.warns(UserWarning, match="differs from the official mnist"):
        ds = load_dataset("mnist", data_dir=str(tmp_path), split="test")
    assert len(ds) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fashion-mnist has no recorded content hash
        load_dataset("fashion-mnist", data_dir=str(tmp_path), split="test")


def test_idx_missing_offline_names_folder_and_files(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("mnist", data_dir=str(tmp_path), download=False)
    msg = str(e.value)
    assert str(tmp_path) in msg and "train-images-idx3-ubyte" in msg and "download" in msg


def test_idx_download_from_mirror_into_cache(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    x, y = _fake_mnist(7, 4)
    _write_idx(mirror, "t10k", x, y)
    md5s = {f.name: file_digest(f) for f in mirror.iterdir()}
    monkeypatch.setitem(idx_mod.MIRRORS, "fashion-mnist", mirror.as_uri() + "/")
    monkeypatch.setitem(idx_mod.MD5, "fashion-mnist", md5s)
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    ds = load_dataset("fashion-mnist", split="test")
    assert cache_dir("fashion-mnist") == tmp_path / "cache" / "fashion-mnist"
    assert sorted(p.name for p in cache_dir("fashion-mnist").iterdir()) == sorted(md5s)
    assert torch.equal(ds.y, torch.from_numpy(y).long())
    # a wrong published md5 is a one-line DataError naming the folder
    monkeypatch.setitem(idx_mod.MD5, "fashion-mnist", dict.fromkeys(md5s, "0" * 32))
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist", data_dir=str(tmp_path / "other"), split="test")
    assert str(tmp_path / "other") in str(e.value) and "md5" in str(e.value)


# ---------------------------------------------------------------- download helper


def test_download_file_checksum_good_and_bad(tmp_path):
    src = tmp_path / "src.bin"
    payload = os.urandom(3000)
    src.write_bytes(payload)
    good = hashlib.md5(payload).hexdigest()
    dest = tmp_path / "out" / "file.bin"
    assert download_file(src.as_uri(), dest, md5=good) == dest
    assert dest.read_bytes() == payload
    bad_dest = tmp_path / "out" / "bad.bin"
    with pytest.raises(DataError, match="md5"):
        download_file(src.as_uri(), bad_dest, md5="0" * 32)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]  # no partial files
    with pytest.raises(DataError, match="missing.bin"):
        download_file((tmp_path / "missing.bin").as_uri(), tmp_path / "x.bin")


def _tar_with(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for m in members:
            tar.addfile(m, io.BytesIO(b"x" * m.size) if m.isfile() else None)
    return path


def test_safe_extract_rejects_escapes(tmp_path):
    def member(name, kind=tarfile.REGTYPE):
        m = tarfile.TarInfo(name)
        m.type, m.size = kind, (1 if kind == tarfile.REGTYPE else 0)
        if kind == tarfile.SYMTYPE:
            m.linkname = "/etc/passwd"
        return m

    ok = _tar_with(tmp_path / "ok.tgz", [member("d/a.txt")])
    safe_extract_tar(ok, tmp_path / "ok")
    assert (tmp_path / "ok" / "d" / "a.txt").read_bytes() == b"x"
    for i, m in enumerate([member("../evil"), member("/abs"), member("l", tarfile.SYMTYPE)]):
        bad = _tar_with(tmp_path / f"bad{i}.tgz", [m])
        with pytest.raises(DataError, match=f"bad{i}.tgz"):
            safe_extract_tar(bad, tmp_path / f"x{i}")
    assert not (tmp_path / "evil").exists()


# ---------------------------------------------------------------- cifar10


def _write_cifar(folder: Path, n: int = 4) -> dict[str, tuple[np.ndarray, list[int]]]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    out = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [(i + j) % 10 for j in range(n)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"x"}, f, protocol=2)
        out[name] = (data, labels)
    return out


def test_cifar10_tiny_batches(tmp_path):
    batches = _write_cifar(tmp_path / "cifar-10-batches-py")
    tr = load_dataset("cifar10", data_dir=str(tmp_path), download=False)
    assert (
        tr.x.shape == (20, 3, 32, 32) and tr.spec.shape == (3, 32, 32) and tr.spec.num_classes == 10
    )
    d, labels = batches["data_batch_2"]
    torch.testing.assert_close(
        tr.x[4:8], torch.from_numpy(d.reshape(-1, 3, 32, 32)).float() / 127.5 - 1
    )
    assert tr.y[4:8].tolist() == labels
    te = load_dataset("cifar10", data_dir=str(tmp_path / "cifar-10-batches-py"), split="test")
    al = load_dataset("cifar10", data_dir=str(tmp_path), split="all", image_size=16)
    assert len(te) == 4 and al.x.shape == (24, 3, 16, 16)
    assert len({tr.spec.identity, te.spec.identity, al.spec.identity}) == 3


def test_cifar10_bad_inputs(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder)
    (folder / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DataError, match="data_batch_3"):
        load_dataset("cifar10", data_dir=str(tmp_path))

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DataError, match="test_batch"):
        load_dataset("cifar10", data_dir=str(tmp_path), split="test")
    assert not (tmp_path / "pwned").exists()
    (folder / "data_batch_5").unlink()
    with pytest.raises(DataError, match="data_batch_5"):
        load_dataset("cifar10", data_dir=str(tmp_path), split="train")
    with pytest.raises(DataError, match=str(tmp_path / "empty")):
        load_dataset("cifar10", data_dir=str(tmp_path / "empty"), download=False)


def test_cifar10_download_and_extract(tmp_path, monkeypatch):
    _write_cifar(tmp_path / "src" / "cifar-10-batches-py")
    archive = tmp_path / "c.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(images_mod, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(images_mod, "CIFAR10_MD5", file_digest(archive))
    ds = load_dataset("cifar10", data_dir=str(tmp_path / "dl"), split="test")
    assert len(ds) == 4 and (tmp_path / "dl" / "cifar-10-batches-py" / "test_batch").is_file()


# ---------------------------------------------------------------- folder


def _png(path: Path, color, size=(30, 20)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_folder_labels_resize_and_crop(tmp_path):
    from PIL import Image

    _png(tmp_path / "cats" / "a.png", (255, 0, 0))
    _png(tmp_path / "cats" / "deep" / "b.jpg", (250, 0, 0), size=(17, 40))
    _png(tmp_path / "dogs" / "c.bmp", (0, 0, 255))
    # left red | centre green | right blue: the centre crop must be green only
    im = Image.new("RGB", (60, 20), (255, 0, 0))
    im.paste((0, 255, 0), (20, 0, 40, 20))
    im.paste((0, 0, 255), (40, 0, 60, 20))
    im.save(tmp_path / "dogs" / "wide.png")
    ds = load_dataset("folder", data_dir=str(tmp_path), image_size=20)
    assert ds.x.shape == (4, 3, 20, 20) and ds.spec.num_classes == 2
    assert ds.y.tolist() == [0, 0, 1, 1]  # cats (sorted first), dogs
    wide = ds.x[3]
    assert wide[1].min() > 0.9 and wide[0].max() < -0.9 and wide[2].max() < -0.9
    gray = load_dataset("folder", data_dir=str(tmp_path), image_size=8, channels=1)
    assert gray.x.shape == (4, 1, 8, 8) and gray.spec.identity != ds.spec.identity
    with pytest.raises(ConfigError, match="channels"):
        load_dataset("folder", data_dir=str(tmp_path), channels=2)


def test_folder_flat_is_unlabelled(tmp_path):
    _png(tmp_path / "a.png", (0, 0, 0))
    _png(tmp_path / "sub" / "b.png", (255, 255, 255))
    ds = load_dataset("folder", data_dir=str(tmp_path))
    assert ds.y is None and ds.spec.num_classes == 0 and ds.x.shape == (2, 3, 64, 64)
    assert isinstance(ds.sample(3, _gen()), Batch)
    assert sorted(ds.x.mean((1, 2, 3)).tolist()) == pytest.approx([-1.0, 1.0])


def test_folder_errors_name_culprit(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(DataError, match="empty"):
        load_dataset("folder", data_dir=str(tmp_path / "empty"))
    _png(tmp_path / "bad" / "ok.png", (1, 2, 3))
    (tmp_path / "bad" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        load_dataset("folder", data_dir=str(tmp_path / "bad"))
    with pytest.raises(DataError, match="nowhere"):
        load_dataset("folder", data_dir=str(tmp_path / "nowhere"))

"""Image-to-image data: joint augmentation, independence, SR inputs, folders, protocols, fetching."""

import hashlib
import io
import socket
import tarfile
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import load_data, load_dataset
from ganforge.data import translation_sets as ts
from ganforge.data.bundled import (
    TEST_PHOTOS,
    TRAIN_PHOTOS,
    digits2mnist,
    edges2mnist,
    grey2color_photos,
    photo_list,
    photos_sr,
)
from ganforge.data.pair_folders import load_paired, load_unpaired
from ganforge.data.pairs import (
    PairedImages,
    SuperResImages,
    UnpairedImages,
    downscale,
)
from ganforge.errors import ConfigError, DataError


def levels(t: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats back to the uint8 levels they came from."""
    return ((t + 1) * 127.5).round().long()


def coded(n: int, h: int, w: int) -> torch.Tensor:
    """uint8 [n, 3, h, w] whose pixels say where they come from: (row, column, image)."""
    rows = torch.arange(h).view(1, h, 1).expand(n, h, w)
    cols = torch.arange(w).view(1, 1, w).expand(n, h, w)
    idx = torch.arange(n).view(n, 1, 1).expand(n, h, w)
    return torch.stack([rows, cols, idx], 1).to(torch.uint8)


def origin(batch_side: torch.Tensor):
    """(image index, top, left, flipped) of each coded crop [n, 3, S, S]."""
    u = levels(batch_side)
    flipped = u[:, 1, 0, 0] > u[:, 1, 0, -1]
    left = torch.where(flipped, u[:, 1, 0, -1], u[:, 1, 0, 0])
    return u[:, 2, 0, 0], u[:, 0, 0, 0], left, flipped


def write_png(path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def rand_rgb(seed: int, h: int, w: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def one_line(e) -> str:
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


# ---------------------------------------------------------------- the three datasets


def test_paired_crop_and_flip_are_applied_alike_to_both_sides():
    a = coded(6, 20, 24)
    ds = PairedImages(a, 255 - a, labels=torch.arange(6), num_classes=6, crop_size=16, flip=True)
    b = ds.sample(64, torch.Generator().manual_seed(0))
    assert b.x.shape == b.a.shape == (64, 3, 16, 16) and b.x.dtype == torch.float32
    assert torch.equal(levels(b.x), 255 - levels(b.a))  # same image, crop and flip on both sides
    idx, top, left, flipped = origin(b.a)
    assert torch.equal(b.y, idx)
    assert len(set(top.tolist())) > 1 and len(set(left.tolist())) > 1
    assert 0 < int(flipped.sum()) < 64
    assert ds.spec.shape == (3, 16, 16) and ds.spec.source_shape == (3, 16, 16)
    assert ds.spec.pairing == "paired" and ds.spec.num_classes == 6


def test_unpaired_domains_are_drawn_independently_with_their_own_crops():
    a = coded(10, 20, 20)
    b = coded(15, 30, 26)
    ds = UnpairedImages(a, b, labels_a=torch.arange(10), labels_b=100 + torch.arange(15),
                        classes_b=115, crop_size=12, flip=True)
    batch = ds.sample(200, torch.Generator().manual_seed(1))
    ia, ta, _, fa = origin(batch.a)
    ib, tb, _, fb = origin(batch.x)
    assert torch.equal(batch.y, 100 + ib) and torch.equal(batch.ya, ia)  # each side's own labels
    assert not torch.equal(ia, ib) and not torch.equal(ta, tb) and not torch.equal(fa, fb)
    assert set(ia.tolist()) == set(range(10)) and set(ib.tolist()) == set(range(15))
    assert int(tb.max()) > 8  # B's crops range over B's larger images
    assert torch.equal(ds.labels_a, torch.arange(10))
    assert ds.spec.pairing == "unpaired" and ds.spec.num_classes == 115


def test_superres_input_is_the_quantised_downscaled_target():
    imgs = [torch.from_numpy(rand_rgb(i, 40 + 3 * i, 50).transpose(2, 0, 1).copy())
            for i in range(4)]
    ds = SuperResImages(imgs, scale=4, crop_size=32, flip=True)
    b = ds.sample(8, torch.Generator().manual_seed(2))
    assert b.x.shape == (8, 3, 32, 32) and b.a.shape == (8, 3, 8, 8)
    assert torch.equal(b.a, downscale(b.x, 4))
    steps = (b.a + 1) * 127.5
    assert torch.allclose(steps, steps.round(), atol=1e-4)  # 8-bit levels
    assert ds.spec.pairing == "superres" and ds.spec.source_shape == (3, 8, 8)
    with pytest.raises(ConfigError, match="divisible by scale=4"):
        SuperResImages(imgs, scale=4, crop_size=30)


def test_crop_larger_than_an_image_names_the_file(tmp_path):
    write_png(tmp_path / "train" / "A" / "big.png", rand_rgb(0, 32, 32))
    write_png(tmp_path / "train" / "B" / "big.png", rand_rgb(1, 32, 32))
    write_png(tmp_path / "train" / "A" / "small.png", rand_rgb(2, 12, 20))
    write_png(tmp_path / "train" / "B" / "small.png", rand_rgb(3, 12, 20))
    with pytest.raises(DataError) as e:
        load_paired(tmp_path, crop_size=16)
    msg = one_line(e)
    assert "small.png" in msg and "12x20" in msg and "crop_size=16" in msg
    with pytest.raises(DataError, match="differ in size"):
        load_paired(tmp_path)  # whole images need one size


def test_aligned_images_are_split_down_the_middle(tmp_path):
    for i in range(3):
        left = rand_rgb(i, 16, 16)
        write_png(tmp_path / "train" / f"{i}.png", np.concatenate([left, 255 - left], 1))
    ds = load_paired(tmp_path, split="train")
    assert ds.spec.shape == (3, 16, 16) and len(ds) == 3
    b = ds.real_sample(3)
    assert torch.equal(levels(b.x), 255 - levels(b.a))
    write_png(tmp_path / "odd" / "bad.png", rand_rgb(0, 16, 33))
    with pytest.raises(DataError) as e:
        load_paired(tmp_path, split="odd")
    assert "bad.png" in one_line(e) and "odd" in one_line(e)


def test_two_folders_are_matched_by_name_and_a_missing_partner_is_named(tmp_path):
    for name, seed in (("x.png", 0), ("y.png", 1)):
        arr = rand_rgb(seed, 16, 16)
        write_png(tmp_path / "A" / name, arr)  # no split folder: data_dir/A, data_dir/B
        write_png(tmp_path / "B" / name, 255 - arr)
    ds = load_paired(tmp_path)
    b = ds.real_sample(2)
    assert torch.equal(levels(b.x), 255 - levels(b.a))
    write_png(tmp_path / "A" / "z.png", rand_rgb(2, 16, 16))
    with pytest.raises(DataError) as e:
        load_paired(tmp_path)
    assert "z.png" in one_line(e) and "partner" in one_line(e)


def test_btoa_swaps_the_sides(tmp_path):
    grey, rgb = coded(4, 8, 8)[:, :1], coded(4, 8, 8)
    ds = PairedImages(grey, rgb, direction="BtoA")
    assert ds.spec.shape == (1, 8, 8) and ds.spec.source_shape == (3, 8, 8)
    b = ds.sample(4, torch.Generator().manual_seed(0))
    assert b.x.shape[1] == 1 and b.a.shape[1] == 3
    u = UnpairedImages(grey, rgb[:3], labels_a=torch.zeros(4), labels_b=torch.ones(3),
                       direction="BtoA")
    assert len(u.b) == 4 and torch.equal(u.labels_b, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ConfigError, match="direction"):
        PairedImages(grey, rgb, direction="AB")
    for split in ("trainA", "trainB"):
        for i in range(2):
            write_png(tmp_path / split / f"{i}.png", rand_rgb(i, 8, 8 if split == "trainA" else 10))
    fwd, back = load_unpaired(tmp_path), load_unpaired(tmp_path, direction="BtoA")
    assert fwd.spec.shape == back.spec.source_shape == (3, 8, 10)
    assert fwd.spec.identity != back.spec.identity


def test_sample_depends_only_on_the_generator():
    a = coded(5, 20, 20)
    ds = PairedImages(a, a.clone(), crop_size=8, flip=True)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    b1, b2 = ds.sample(16, g1), ds.sample(16, g2)
    assert torch.equal(b1.x, b2.x) and torch.equal(b1.a, b2.a)
    state = g1.get_state()
    b3 = ds.sample(16, g1)
    assert not torch.equal(b1.x, b3.x)  # the generator moved on
    g1.set_state(state)
    assert torch.equal(ds.sample(16, g1).x, b3.x)  # a resumed generator repeats the batch
    assert not torch.equal(ds.sample(16, torch.Generator().manual_seed(4)).x, b1.x)


def test_real_sample_is_fixed_and_centre_cropped():
    a = coded(5, 20, 24)
    for ds in (PairedImages(a, a.clone(), crop_size=8, flip=True),
               UnpairedImages(a, a.clone(), crop_size=8, flip=True)):
        torch.manual_seed(0)
        b1 = ds.real_sample(12)
        torch.manual_seed(1)
        b2 = ds.real_sample(12)
        assert torch.equal(b1.x, b2.x) and torch.equal(b1.a, b2.a)
        idx, top, left, flipped = origin(b1.x)
        assert (top == 6).all() and (left == 8).all() and not flipped.any()
        assert sorted(idx[:5].tolist()) == list(range(5))  # a permutation, then cycling
        assert torch.equal(idx[5:10], idx[:5])
    sr = SuperResImages(list(a), scale=2, crop_size=8)
    assert torch.equal(sr.real_sample(3, seed=1).x, sr.real_sample(3, seed=1).x)


def test_shards_are_disjoint_with_the_same_settings():
    a = coded(7, 12, 12)
    ds = PairedImages(a, 255 - a, labels=torch.arange(7), crop_size=8, flip=True)
    seen = []
    for rank in range(3):
        part = ds.shard(rank, 3)
        assert part.spec == ds.spec and part.crop == 8 and part.flip
        b = part.sample(50, torch.Generator().manual_seed(rank))
        idx = origin(b.a)[0]
        assert torch.equal(levels(b.x), 255 - levels(b.a)) and torch.equal(b.y, idx)
        assert set(idx.tolist()) <= set(range(rank, 7, 3))
        seen += range(rank, 7, 3)
    assert sorted(seen) == list(range(7))
    u = UnpairedImages(a, a[:4].clone(), labels_b=torch.arange(4))
    assert len(u.shard(1, 2).b) == 2 and torch.equal(u.shard(1, 2).labels_b, torch.tensor([1, 3]))
    with pytest.raises(ConfigError):
        ds.shard(0, 8)


# ---------------------------------------------------------------- bundled protocols


@pytest.fixture(scope="module")
def mnist_protocols():
    from tests.conftest import SHARED_MNIST

    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not found at {SHARED_MNIST}")
    d = str(SHARED_MNIST)
    return {(name, split): fn(data_dir=d, split=split, download=False)
            for name, fn in (("edges", edges2mnist), ("digits", digits2mnist))
            for split in ("train", "test")}


def _rows(t: torch.Tensor) -> set[bytes]:
    return {r.tobytes() for r in t.reshape(len(t), -1).numpy()}


def test_edges2mnist_splits_are_fixed_and_disjoint(mnist_protocols):
    tr, te = mnist_protocols["edges", "train"], mnist_protocols["edges", "test"]
    assert (len(tr), len(te)) == (8000, 2000)
    assert tr.spec.shape == tr.spec.source_shape == (1, 28, 28) and tr.spec.num_classes == 10
    assert tr.y is not None and set(te.y.tolist()) == set(range(10))
    assert not _rows(tr.b.data) & _rows(te.b.data)
    assert set(tr.a.data.unique().tolist()) == {0, 255}
    ink, edge = (tr.b.data > 127).float().mean(), (tr.a.data > 0).float().mean()
    assert 0.2 * ink < edge < ink  # outlines: thinner than the strokes, but there
    assert tr.spec.identity != te.spec.identity and ":train:" in tr.spec.identity
    with pytest.raises(ConfigError, match="split"):
        edges2mnist(split="all")


def test_digits2mnist_splits_are_fixed_disjoint_and_labelled(mnist_protocols):
    tr, te = mnist_protocols["digits", "train"], mnist_protocols["digits", "test"]
    assert (len(tr.a), len(tr.b), len(te.a), len(te.b)) == (1500, 8000, 297, 2000)
    assert tr.labels_a is not None and tr.labels_b is not None
    assert tr.spec.source_shape == tr.spec.shape == (1, 28, 28)
    assert not _rows(tr.a.data) & _rows(te.a.data)
    assert not _rows(tr.b.data) & _rows(te.b.data)
    border = torch.cat([tr.a.data[..., :4, :].flatten(), tr.a.data[..., -4:, :].flatten()])
    assert int(border.max()) == 0  # MNIST-like framing: a 20x20 digit padded by 4
    b = te.real_sample(8)
    assert torch.equal(b.y, te.labels_b[torch.randperm(2000, generator=torch.Generator()
                                                       .manual_seed(0))[:8]])


def test_photo_protocol_is_offline_and_disjoint(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the bundled photos must load without a network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert not set(TRAIN_PHOTOS) & set(TEST_PHOTOS) and "cat" not in TRAIN_PHOTOS
    train, test = photo_list("train"), photo_list("test")
    assert [n for n, _ in train] == list(TRAIN_PHOTOS) and len(test) == 4
    def digests(photos):
        return {hashlib.sha256(a.tobytes()).hexdigest() for _, a in photos}

    assert not digests(train) & digests(test)
    g2c = grey2color_photos(split="test", crop_size=48, flip=True)
    b = g2c.sample(6, torch.Generator().manual_seed(0))
    assert b.x.shape == (6, 3, 48, 48) and b.a.shape == (6, 1, 48, 48)
    luma = (levels(b.x).double() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)
    assert torch.equal(levels(b.a)[:, 0], luma.round().long())
    sr = photos_sr(split="train", scale=4, crop_size=64)
    assert sr.spec.shape == (3, 64, 64) and sr.spec.source_shape == (3, 16, 16)
    assert ":train:" in sr.spec.identity and "sha256=" in sr.spec.identity


def test_load_data_passes_the_image_to_image_options():
    from ganforge.config import DataConfig

    ds = load_data(DataConfig(dataset="photos-sr", split="test", crop_size=32, scale=2))
    assert ds.spec.source_shape == (3, 16, 16)
    ds = load_data(DataConfig(dataset="grey2color-photos", split="test", direction="BtoA"))
    assert ds.spec.shape == (1, 64, 64) and ds.spec.source_shape == (3, 64, 64)
    with pytest.raises(ConfigError, match="split"):
        load_dataset("set5", split="train")


# ---------------------------------------------------------------- standard sets


def _zip(path, files: dict[str, np.ndarray]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in files.items():
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="PNG")
            zf.writestr(name, buf.getvalue())
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entry(name: str, url: str, **sums) -> ts.StandardSet:
    old = ts.STANDARD_SETS[name]
    return replace(old, splits={s: (ts.Archive(url, **sums), f, ls)
                                for s, (_, f, ls) in old.splits.items()})


def test_fetch_standard_checks_the_checksum_and_extracts(tmp_path, monkeypatch):
    files = {f"horse2zebra/{s}/{i}.png": rand_rgb(i, 8, 8)
             for s in ("trainA", "trainB", "testA", "testB") for i in range(2)}
    sha = _zip(tmp_path / "horse2zebra.zip", files)
    url = (tmp_path / "horse2zebra.zip").as_uri()
    monkeypatch.setitem(ts.STANDARD_SETS, "horse2zebra", _entry("horse2zebra", url, sha256=sha))
    root = tmp_path / "ok"
    assert ts.fetch_standard("horse2zebra", root, split="test") == root / "horse2zebra"
    ds = load_dataset("horse2zebra", data_dir=str(root), split="train", download=False)
    assert isinstance(ds, UnpairedImages) and ds.spec.name == "horse2zebra" and len(ds.a) == 2
    assert not list(root.glob(".extract-*"))

    monkeypatch.setitem(ts.STANDARD_SETS, "horse2zebra",
                        _entry("horse2zebra", url, sha256="0" * 64))
    with pytest.raises(DataError) as e:
        ts.fetch_standard("horse2zebra", tmp_path / "bad")
    assert "sha256" in one_line(e) and not (tmp_path / "bad" / "horse2zebra.zip").exists()
    assert not (tmp_path / "bad" / "horse2zebra").exists()

    with pytest.raises(DataError) as e:
        ts.fetch_standard("horse2zebra", tmp_path / "offline", download=False)
    assert str(tmp_path / "offline") in one_line(e) and url in one_line(e)


def test_fetch_standard_reads_pix2pix_tars_and_refuses_unknown_checksums(tmp_path, monkeypatch):
    left = rand_rgb(0, 8, 8)
    src = tmp_path / "src" / "facades" / "train" / "1.png"
    write_png(src, np.concatenate([left, 255 - left], 1))
    with tarfile.open(tmp_path / "facades.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "facades", arcname="facades")
    url = (tmp_path / "facades.tar.gz").as_uri()
    md5 = hashlib.md5((tmp_path / "facades.tar.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(ts.STANDARD_SETS, "facades", _entry("facades", url, md5=md5))
    ds = ts.load_standard("facades", root=tmp_path / "ok")
    assert torch.equal(levels(ds.real_sample(1).x), 255 - levels(ds.real_sample(1).a))

    monkeypatch.setitem(ts.STANDARD_SETS, "facades", _entry("facades", url))  # no checksum
    with pytest.raises(DataError) as e:
        ts.fetch_standard("facades", tmp_path / "unknown")
    assert "checksum" in one_line(e) and "unknown" in one_line(e) and url in one_line(e)
    assert not (tmp_path / "unknown" / "facades.tar.gz").exists()
    # an archive the user fetched by hand is extracted
    (tmp_path / "unknown").mkdir()
    (tmp_path / "unknown" / "facades.tar.gz").write_bytes((tmp_path / "facades.tar.gz")
                                                          .read_bytes())
    assert ts.fetch_standard("facades", tmp_path / "unknown") == tmp_path / "unknown" / "facades"


def test_zip_extraction_refuses_escaping_members(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../evil.txt", b"x")
    with pytest.raises(DataError, match="unsafe member"):
        ts.safe_extract_zip(tmp_path / "evil.zip", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()

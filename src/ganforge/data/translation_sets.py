"""The standard image-to-image sets: where to download them, their checksums, their layout.

pix2pix (Isola et al. 2017) sets are tar.gz archives of side-by-side [A | B] jpgs, read by
pair_folders.load_paired; CycleGAN (Zhu et al. 2017) sets are zips of trainA/trainB/testA/testB
folders, read by pair_folders.load_unpaired; DIV2K (Agustsson & Timofte 2017) and Set5 / Set14
(Bevilacqua et al. 2012; Zeyde et al. 2010) are folders of high-resolution images, read by
pair_folders.load_superres.

Checksums are the published ones, never computed here: sha256 from tensorflow/datasets
(url_checksums/cycle_gan.txt and div2k.txt, recorded for the same files at their former
addresses people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/ and https://...), md5 from
Coloquinte/torchSR (torchsr/datasets/div2k.py, benchmarks.py). No checksum of the pix2pix
tar.gz archives is published that we could find: for those, `fetch_standard` refuses to
download and asks the user to fetch the archive by hand (it then extracts an archive it finds
in the folder). Archives are extracted safely (no absolute paths, `..` or links) into a
temporary folder first, so an interrupted extraction never looks complete.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ganforge.data.download import cache_dir, download_file, file_digest, safe_extract_tar
from ganforge.errors import ConfigError, DataError

_PIX2PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
_CYCLEGAN = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
_DIV2K = "http://data.vision.ee.ethz.ch/cvl/DIV2K/"
_TFDS = "tensorflow/datasets url_checksums"
_TORCHSR = "Coloquinte/torchSR torchsr/datasets"


@dataclass(frozen=True)
class Archive:
    """One downloadable archive: URL, published checksums (None: unknown) and size in bytes."""

    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    source: str = ""  # where the checksums were published

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class StandardSet:
    """A standard set: its loader and, per split, (archive, folder, loader split).

    folder is relative to the extraction root; for "paired" / "unpaired" it holds the split
    folders (<split>/ or <split>A, <split>B) named by the loader split, for "superres" it is
    the folder of HR images. note: the direction the papers train (A and B as in the archive).
    """

    name: str
    loader: str  # "paired" | "unpaired" | "superres"
    splits: dict[str, tuple[Archive, str, str]]
    cache: str = ""  # cache sub-folder when it differs from name (shared archives)
    note: str = ""


def _pix2pix(name: str, test: str, note: str) -> StandardSet:
    arc = Archive(_PIX2PIX + f"{name}.tar.gz")
    return StandardSet(name, "paired", {"train": (arc, name, "train"), "test": (arc, name, test)},
                       note=note)


def _cyclegan(name: str, size: int, sha256: str) -> StandardSet:
    arc = Archive(_CYCLEGAN + f"{name}.zip", sha256=sha256, size=size, source=_TFDS)
    return StandardSet(name, "unpaired",
                       {"train": (arc, name, "train"), "test": (arc, name, "test")})


_DIV2K_TRAIN = Archive(_DIV2K + "DIV2K_train_HR.zip", size=3530603713, source=f"{_TFDS}; "
                       f"{_TORCHSR}", md5="bdc2d9338d4e574fe81bf7d158758658",
                       sha256="9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335")
_DIV2K_VALID = Archive(_DIV2K + "DIV2K_valid_HR.zip", size=448993893, source=f"{_TFDS}; "
                       f"{_TORCHSR}", md5="9fcdda83005c5e5997799b69f955ff88",
                       sha256="20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc")
# EDSR's benchmark archive (Lim et al. 2017): benchmark/{Set5,Set14,B100,Urban100}/HR
_SR_BENCHMARK = Archive("https://cv.snu.ac.kr/research/EDSR/benchmark.tar",
                        md5="4ace41d33c2384b97e6b320cd0afd6ba", source=_TORCHSR)

STANDARD_SETS: dict[str, StandardSet] = {
    "facades": _pix2pix("facades", "test", "A = photo, B = labels; pix2pix trains BtoA"),
    "maps": _pix2pix("maps", "val", "A = aerial photo, B = map"),
    "edges2shoes": _pix2pix("edges2shoes", "val", "A = edges, B = photo"),
    "cityscapes": _pix2pix("cityscapes", "val", "A = photo, B = labels; pix2pix trains BtoA"),
    "horse2zebra": _cyclegan("horse2zebra", 116867962,
                             "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1"),
    "apple2orange": _cyclegan("apple2orange", 78456409,
                              "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8"),
    "monet2photo": _cyclegan("monet2photo", 305231073,
                             "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04"),
    "div2k": StandardSet("div2k", "superres", {
        "train": (_DIV2K_TRAIN, "DIV2K_train_HR", ""), "test": (_DIV2K_VALID, "DIV2K_valid_HR", "")
    }, note="test = the 100 validation images (the test HR images are not public)"),
    "set5": StandardSet("set5", "superres", {"test": (_SR_BENCHMARK, "benchmark/Set5/HR", "")},
                        cache="sr-benchmark", note="evaluation only"),
    "set14": StandardSet("set14", "superres",
                         {"test": (_SR_BENCHMARK, "benchmark/Set14/HR", "")},
                         cache="sr-benchmark", note="evaluation only"),
}


def _marker(entry: StandardSet, loader_split: str) -> str:
    """What must exist under the set's folder for the split to count as present."""
    if entry.loader == "paired":
        return loader_split
    if entry.loader == "unpaired":
        return f"{loader_split}A"
    return ""


def _present(root: Path, entry: StandardSet, folder: str, loader_split: str) -> Path | None:
    """The set's folder under root, or root itself when it is that folder (data_dir=.../facades)."""
    mark = _marker(entry, loader_split)
    if (root / folder / mark).is_dir():
        return root / folder
    if mark and (root / mark).is_dir():
        return root
    return None


def safe_extract_zip(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract a zip into dest, refusing members that could escape it (absolute paths, `..`,
    drive letters, symbolic links); DataError naming the archive and member."""
    archive, dest = Path(archive), Path(dest)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for m in members:
                parts = Path(m.filename.replace("\\", "/")).parts
                if m.filename.startswith(("/", "\\")) or ".." in parts or ":" in m.filename:
                    raise DataError(f"{archive}: unsafe member path {m.filename!r} in archive")
                if stat.S_ISLNK(m.external_attr >> 16):
                    raise DataError(f"{archive}: refusing link member {m.filename!r}")
            for m in members:
                target = dest / m.filename
                if m.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
        raise DataError(f"{archive}: not a readable zip archive ({e})") from e


def _merge(src: Path, dst: Path) -> None:
    """Move src into dst, keeping whatever dst already holds."""
    if not dst.exists():
        os.replace(src, dst)
    elif src.is_dir() and dst.is_dir():
        for child in src.iterdir():
            _merge(child, dst / child.name)


def _extract(archive: Path, root: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=root))
    try:
        if zipfile.is_zipfile(archive):
            safe_extract_zip(archive, tmp)
        else:
            safe_extract_tar(archive, tmp)
        for child in tmp.iterdir():
            _merge(child, root / child.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _verify(entry: StandardSet, arc: Archive, path: Path) -> None:
    """Check the sha256 (download_file checked the md5); a mismatching file is removed."""
    if arc.sha256 is not None and (got := file_digest(path, "sha256")) != arc.sha256:
        path.unlink(missing_ok=True)
        raise DataError(f"{entry.name}: {path} has sha256 {got}, expected {arc.sha256} "
                        "(corrupted or changed upstream); removed it")


def standard_entry(name: str, split: str) -> tuple[StandardSet, Archive, str, str]:
    """The table entry of name and its split's (archive, folder, loader split)."""
    entry = STANDARD_SETS.get(name)
    if entry is None:
        raise ConfigError(f"unknown standard set {name!r}; choose one of: "
                          f"{', '.join(STANDARD_SETS)}")
    if split not in entry.splits:
        raise ConfigError(f"{name}: split={split!r} is not one of {', '.join(entry.splits)}"
                          + (f" ({entry.note})" if entry.note else ""))
    return (entry, *entry.splits[split])


def fetch_standard(name: str, root: str | os.PathLike | None = None, *, split: str = "train",
                   download: bool = True) -> Path:
    """The folder of standard set `name` that its loader reads for split, fetched if missing.

    root: where the set lives or is downloaded to (default: the cache folder). An archive found
    in root is verified when its checksum is known and extracted; otherwise, with download=True
    and a known checksum, it is downloaded first. Raises DataError (one line, naming the folder
    and URL) when the data is missing and cannot be fetched: offline (download=False), a failed
    download, a wrong checksum, or an archive whose checksum is unknown.
    """
    entry, arc, folder, loader_split = standard_entry(name, split)
    base = Path(root) if root is not None else cache_dir(entry.cache or name)
    found = _present(base, entry, folder, loader_split)
    if found is not None:
        return found
    archive = base / arc.filename
    known = arc.sha256 is not None or arc.md5 is not None
    where = f"{folder}/{_marker(entry, loader_split)}".rstrip("/")
    if not archive.is_file():
        if not download:
            raise DataError(f"{name}: no {where} in {base}; download {arc.url} into that "
                            f"folder{', or pass download=True' if known else ''}")
        if not known:
            raise DataError(f"{name}: no {where} in {base}, and the checksum of {arc.url} is "
                            "unknown, so ganforge does not download it; download it by hand "
                            "into that folder")
        try:
            download_file(arc.url, archive, md5=arc.md5)
        except DataError as e:
            raise DataError(f"{name}: no {where} in {base} and download failed ({e}); fetch "
                            f"{arc.url} by hand into that folder") from None
    elif arc.md5 is not None and (got := file_digest(archive)) != arc.md5:
        archive.unlink()
        raise DataError(f"{name}: {archive} has md5 {got}, expected {arc.md5} (corrupted or "
                        "changed upstream); removed it")
    _verify(entry, arc, archive)
    _extract(archive, base)
    found = _present(base, entry, folder, loader_split)
    if found is None:
        raise DataError(f"{archive}: extracted into {base}, but it holds no {where}")
    return found


def load_standard(name: str, *, root: str | os.PathLike | None = None, split: str = "train",
                  download: bool = True, image_size: int | None = None,
                  crop_size: int | None = None, flip: bool = False, direction: str = "AtoB",
                  channels: int | None = None, scale: int = 4):
    """Fetch (when needed) and read standard set `name` with its loader (see STANDARD_SETS).

    image_size / direction apply to paired and unpaired sets, scale to super-resolution sets;
    crop_size None means whole images for paired / unpaired sets and 96 for super-resolution.
    """
    from ganforge.data import pair_folders

    entry, _, _, loader_split = standard_entry(name, split)
    folder = fetch_standard(name, root, split=split, download=download)
    if entry.loader == "superres":
        return pair_folders.load_superres(folder, scale=scale, crop_size=96 if crop_size is None
                                   else crop_size, flip=flip, channels=channels, name=name)
    load = pair_folders.load_paired if entry.loader == "paired" else pair_folders.load_unpaired
    return load(folder, split=loader_split, image_size=image_size, crop_size=crop_size,
                flip=flip, direction=direction, channels=channels, name=name)

"""Fetching dataset archives: cache folders, checksummed atomic downloads, safe tar extraction.

Everything that touches the network lives here, so loaders stay pure file readers and tests can
exercise the download path offline with `file://` URLs. A download is written to a temporary file
in the destination folder, checked against its md5, then moved into place with `os.replace`, so an
interrupted or corrupted fetch never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from ganforge.errors import DataError

_CHUNK = 1 << 20


def cache_dir(name: str) -> Path:
    """The folder a dataset is downloaded to when the user names none.

    `$GANFORGE_DATA/<name>` when that variable is set, else `~/.cache/ganforge/<name>`. The
    dataset name is always a subfolder because MNIST and Fashion-MNIST share file names.
    """
    root = os.environ.get("GANFORGE_DATA")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "ganforge"
    return base / name


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file's bytes, read in chunks (`algorithm`: any `hashlib` name)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download_file(
    url: str, dest: str | os.PathLike, *, md5: str | None = None, timeout: float = 60.0
) -> Path:
    """Download `url` to `dest` atomically, verifying the md5 of the bytes received.

    Returns `dest` as a Path. An existing `dest` whose md5 matches is kept without a download.
    Raises DataError (one line naming the URL and destination) when the fetch fails or the
    checksum differs; no partial file is left behind in either case.
    """
    dest = Path(dest)
    if dest.is_file() and (md5 is None or file_digest(dest) == md5):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create folder {dest.parent} for {url}: {e.strerror}") from e
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                h.update(chunk)
                out.write(chunk)
        if md5 is not None and h.hexdigest() != md5:
            raise DataError(
                f"download of {url} to {dest} has md5 {h.hexdigest()}, expected {md5} "
                "(corrupted or changed upstream)"
            )
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)
        raise DataError(f"cannot download {url} to {dest}: {reason}") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def safe_extract_tar(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract a (possibly gzipped) tar into `dest`, refusing members that could escape it.

    Rejected with DataError naming the archive and member: absolute paths, `..` components,
    links, devices and other non-regular entries. Only directories and regular files are written.
    """
    archive, dest = Path(archive), Path(dest)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                parts = Path(m.name).parts
                if m.name.startswith(("/", "\\")) or Path(m.name).is_absolute() or ".." in parts:
                    raise DataError(f"{archive}: unsafe member path {m.name!r} in archive")
                if not (m.isfile() or m.isdir()):
                    raise DataError(f"{archive}: refusing non-regular member {m.name!r}")
            dest.mkdir(parents=True, exist_ok=True)
            for m in members:
                target = dest / m.name
                if m.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
                try:
                    with os.fdopen(fd, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DataError(f"{archive}: not a readable tar archive ({e})") from e

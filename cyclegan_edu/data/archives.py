"""Unpacking a dataset archive safely: nothing outside its folder, nothing past plausible sizes.

The datasets are JPEG/PNG images, which barely compress: a member that inflates a hundredfold, or
members that would take far more than the archive's own size, are a zip bomb, refused before
anything is written (`check_members`); zip headers can lie, so the bytes actually written are
counted too (`copy_with_budget`).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from cyclegan_edu.data.catalog import MIB, SPLITS
from cyclegan_edu.data.file_checks import human_size, sniff_problem
from cyclegan_edu.errors import DownloadError

CHUNK_BYTES = 1 << 16  # read at a time
GIB = 1 << 30

# Unpacking bounds.  The datasets are JPEG/PNG images, which barely compress (ratio about 1), so the members of
# an archive may declare at most UNPACK_FACTOR times the archive's size in all (at least UNPACK_FLOOR, at most
# UNPACK_CAP whatever the archive), and no member over RATIO_CHECK_MIN_BYTES may compress more than MAX_RATIO:1.
UNPACK_FACTOR = 4


UNPACK_FLOOR = 16 * MIB


UNPACK_CAP = 8 * GIB


MAX_RATIO = 100


RATIO_CHECK_MIN_BYTES = 1 * MIB


def zip_problem(path: Path) -> str | None:
    """None if `path` opens as a zip archive whose members pass `check_members`; else what is wrong."""
    sniffed = sniff_problem(path, "a zip archive")
    if sniffed:
        return sniffed
    try:
        with zipfile.ZipFile(path) as bundle:
            check_members(bundle, path.parent / f".{path.name}-check", path.stat().st_size)
    except (zipfile.BadZipFile, EOFError) as exc:
        return f"it is corrupt or not a zip archive ({exc})"
    except DownloadError as exc:
        return str(exc).rstrip(".")
    return None


def has_all_splits(folder: Path) -> bool:
    """True if `folder` holds all four split folders and none is empty."""
    return not missing_splits(folder)


def missing_splits(folder: Path) -> list[str]:
    """The split folders of `folder` that are absent or empty."""
    return [split for split in SPLITS if not is_nonempty_dir(folder / split)]


def is_nonempty_dir(path: Path) -> bool:
    """True if `path` is a folder with at least one entry."""
    return path.is_dir() and any(path.iterdir())


def is_occupied(path: Path) -> bool:
    """True if `path` is a file or a non-empty folder."""
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def install_archive(archive: Path, root: Path, target: Path) -> None:
    """Check and unpack `archive` in a temporary folder inside `root`, then move it to `target`."""
    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}-unpacking-", dir=root))
    # mkdtemp makes a private (0700) folder; unpack one level down so the result gets normal permissions.
    unpacked = workdir / "unpacked"
    try:
        unpacked.mkdir()
        archive_bytes = archive.stat().st_size
        try:
            with zipfile.ZipFile(archive) as bundle:
                check_members(bundle, unpacked, archive_bytes)
                extract_members(bundle, unpacked, unpack_limit(archive_bytes))
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
            raise DownloadError(f"{archive.name} is corrupt or not a zip archive ({exc}).") from exc
        source = find_split_folder(unpacked, target.name)
        missing = missing_splits(source)
        if missing:
            raise DownloadError(f"{archive.name} lacks the folder(s) {', '.join(missing)} or they are empty.")
        if target.exists():  # an empty folder left by the user; replace it
            target.rmdir()
        os.replace(source, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def unpack_limit(archive_bytes: int) -> int:
    """The most bytes an archive of `archive_bytes` may unpack to: a few times its size, within fixed bounds.

    The archive's size was already checked against the dataset's approximate size when that is known, so the
    limit follows the dataset's known size too; for an unknown dataset UNPACK_CAP bounds it whatever it weighs.
    """
    return min(UNPACK_CAP, max(UNPACK_FLOOR, UNPACK_FACTOR * archive_bytes))


def check_members(bundle: zipfile.ZipFile, folder: Path, archive_bytes: int) -> None:
    """Refuse the whole archive, before anything is written, if unpacking it into `folder` could do harm.

    Refused: a member that is a symlink, is encrypted or would land outside `folder`; a member over
    RATIO_CHECK_MIN_BYTES that compresses more than MAX_RATIO:1 (images barely compress: that is a zip bomb);
    members whose declared sizes add up to more than `unpack_limit(archive_bytes)`.
    """
    base = folder.resolve()
    total = 0
    for info in bundle.infolist():
        name = info.filename
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DownloadError(f"refused to unpack: the archive member {name!r} is a symbolic link.")
        parts = PurePosixPath(name.replace("\\", "/")).parts
        escapes = not (folder / name).resolve().is_relative_to(base)
        if escapes or ".." in parts or name.startswith(("/", "\\")):
            raise DownloadError(f"refused to unpack: the archive member {name!r} points outside its folder.")
        if info.flag_bits & 0x1:
            raise DownloadError(f"refused to unpack: the archive member {name!r} is encrypted.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_CHECK_MIN_BYTES and ratio > MAX_RATIO:
            raise DownloadError(
                f"refused to unpack: the archive member {name!r} would inflate {human_size(info.compress_size)} "
                f"to {human_size(info.file_size)} (ratio {ratio:.0f}:1, where images barely compress), "
                "which is a zip bomb."
            )
        total += info.file_size
    limit = unpack_limit(archive_bytes)
    if total > limit:
        raise DownloadError(
            f"refused to unpack: the archive's members would take {human_size(total)}, far more than the "
            f"{human_size(limit)} plausible for a {human_size(archive_bytes)} archive of images (a zip bomb or "
            "another file)."
        )


def extract_members(bundle: zipfile.ZipFile, folder: Path, limit: int) -> None:
    """Unpack the members `check_members` accepted into `folder`, none past its declared size, `limit` in all."""
    left = limit
    for info in bundle.infolist():
        parts = [part for part in PurePosixPath(info.filename).parts if part not in ("/", ".", "")]
        if not parts:
            continue
        path = folder.joinpath(*parts)
        if info.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with bundle.open(info) as source, open(path, "wb") as out:
            left -= copy_with_budget(source, out, min(info.file_size, left), info.filename)


def copy_with_budget(source: BinaryIO, out: BinaryIO, budget: int, name: str) -> int:
    """Copy `source` to `out` and return the byte count; stop with DownloadError past `budget` bytes.

    Zip headers can lie about sizes, so what is written is counted, not what was declared.
    """
    written = 0
    while True:
        chunk = source.read(min(CHUNK_BYTES, budget - written + 1))
        if not chunk:
            return written
        written += len(chunk)
        if written > budget:
            raise DownloadError(
                f"refused to unpack: the archive member {name!r} inflates to more than the {budget} bytes its "
                "header declares (its headers lie, as a zip bomb's do)."
            )
        out.write(chunk)


def find_split_folder(unpacked: Path, name: str) -> Path:
    """The unpacked folder holding the splits: normally `name/`, else the archive root or a top folder."""
    candidates = [unpacked / name, unpacked, *sorted(p for p in unpacked.iterdir() if p.is_dir())]
    for candidate in candidates:
        if any((candidate / split).is_dir() for split in SPLITS):
            return candidate
    return unpacked / name

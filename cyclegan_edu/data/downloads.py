"""Download the CycleGAN paper's datasets and the official pretrained generators.

CycleGAN (Zhu et al., ICCV 2017) is evaluated on *unpaired* image collections:
two folders of pictures, domain A and domain B, with no correspondence between
them (paper Section 5; the collections are described in Appendix 7.1).  The
authors host each collection as one zip archive that unpacks to:

    NAME/trainA  NAME/trainB  NAME/testA  NAME/testB

This module only downloads: it fetches an archive from a mirror (resuming a
partial download), checks it, unpacks it safely and puts the four folders in
place.  Reading the images is the job of the data-loading code elsewhere.

Typical use:

    from cyclegan_edu.data.downloads import download_dataset, download_pretrained
    folder = download_dataset("horse2zebra", root="datasets")
    weights = download_pretrained("horse2zebra", root="pretrained")

If the Berkeley server is down, pass `mirrors=[BASE_URL, ...]`: the archive
is then fetched from `BASE_URL/NAME.zip` (`BASE_URL/NAME.pth` for weights).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from cyclegan_edu.errors import UserError

# The four folders every CycleGAN dataset archive unpacks to.
SPLITS = ("trainA", "trainB", "testA", "testB")

# Base URLs tried in order; the official download scripts moved to this host
# after people.eecs.berkeley.edu/~taesung_park stopped serving the files.
DATASET_MIRRORS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets",
    "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets",
)
PRETRAINED_MIRRORS = (
    "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models",
    "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models",
)

# How many times one URL is retried (with resume) after the connection is cut.
MAX_ATTEMPTS = 3
CHUNK_BYTES = 1 << 16


class DownloadError(UserError, RuntimeError):
    """Base class of the download failures: a file or dataset could not be obtained."""


class UnknownName(UserError, ValueError):
    """A dataset or pretrained generator name that is not in the official lists."""


class BadURL(UserError, ValueError):
    """A mirror URL that is not http(s), or no URL at all."""


class DatasetUnavailable(DownloadError):
    """The dataset exists but may not be redistributed, so it must be built by hand."""


@dataclass(frozen=True)
class DatasetInfo:
    """One official CycleGAN dataset: image counts per split and download facts."""

    name: str
    train_a: int
    train_b: int
    test_a: int
    test_b: int
    size_mib: int | None = None  # approximate archive size, for display only
    paired: bool = False  # A and B images correspond one to one (CycleGAN ignores it)
    note: str = ""
    sha256: str | None = None  # checksum of NAME.zip when known
    redistributable: bool = True

    @property
    def counts(self) -> dict[str, int]:
        """Number of images per split folder."""
        return dict(zip(SPLITS, (self.train_a, self.train_b, self.test_a, self.test_b)))


PAINTING_NOTE = "B: Flickr landscapes, shared by the four painter sets"

CITYSCAPES_INSTRUCTIONS = """\
Cityscapes cannot be redistributed, so there is no archive to download; build it yourself:
  1. Register at https://www.cityscapes-dataset.com and accept its licence.
  2. Download gtFine_trainvaltest.zip (label maps) and leftImg8bit_trainvaltest.zip (photos)
     from https://www.cityscapes-dataset.com/downloads/ and unzip both.
  3. Run datasets/prepare_cityscapes_dataset.py from the official repository
     (github.com/junyanz/pytorch-CycleGAN-and-pix2pix):
       python prepare_cityscapes_dataset.py --gtFine_dir ./gtFine \\
           --leftImg8bit_dir ./leftImg8bit --output_dir ./datasets/cityscapes
     It resizes every image to 256x256 and pairs each colour label map (*_gtFine_color.png)
     with its photo (*_leftImg8bit.png); the train split becomes trainA/trainB and the val
     split testA/testB.  Note that this script writes the photos to trainA/testA and the
     label maps to trainB/testB; swap the A and B folders if you want A = label maps.
  4. Check that datasets/cityscapes/{trainA,trainB,testA,testB} exist (2975/2975/500/500 images)."""

# The official datasets, by name.  Counts are from the released archives.
DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("horse2zebra", 1067, 1334, 120, 140, 111, note="ImageNet wild horses and zebras"),
        DatasetInfo("apple2orange", 995, 1019, 266, 248, 75, note="ImageNet apples and navel oranges"),
        DatasetInfo("summer2winter_yosemite", 1231, 962, 309, 238, 127, note="Flickr photos of Yosemite"),
        DatasetInfo("monet2photo", 1072, 6287, 121, 751, 291, note=PAINTING_NOTE),
        DatasetInfo("cezanne2photo", 525, 6287, 58, 751, note=PAINTING_NOTE),
        DatasetInfo("ukiyoe2photo", 562, 6287, 263, 751, note=PAINTING_NOTE),
        DatasetInfo("vangogh2photo", 400, 6287, 400, 751, note=PAINTING_NOTE),
        DatasetInfo("facades", 400, 400, 106, 106, 34, paired=True, note="CMP facade label maps and photos"),
        DatasetInfo("maps", 1096, 1096, 1098, 1098, 1434, paired=True, note="600x600 satellite / Google Maps"),
        DatasetInfo("iphone2dslr_flower", 1812, 3325, 569, 480, note="Flickr flower photos, phone vs DSLR"),
        DatasetInfo(
            "cityscapes", 2975, 2975, 500, 500, paired=True,
            note="not redistributable: build it yourself", redistributable=False,
        ),
    )
}

# Names of the official pretrained generators (one direction each).
PRETRAINED_MODELS = (
    "horse2zebra",
    "zebra2horse",
    "monet2photo",
    "style_monet",
    "style_cezanne",
    "style_ukiyoe",
    "style_vangogh",
    "apple2orange",
    "orange2apple",
    "summer2winter_yosemite",
    "winter2summer_yosemite",
    "sat2map",
    "map2sat",
    "facades_label2photo",
    "facades_photo2label",
    "cityscapes_label2photo",
    "cityscapes_photo2label",
    "iphone2dslr_flower",
)

# Exceptions that mean "this URL did not work", as opposed to local problems such as a full disk.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class TransferInterrupted(Exception):
    """The transfer stopped early; the .part file keeps what arrived and can be resumed."""


# ----------------------------------------------------------------------------
# Looking names up
# ----------------------------------------------------------------------------


def dataset_info(name: str) -> DatasetInfo:
    """Return the table entry for `name`.

    Raises `UnknownName` (a `ValueError`) for an unknown name and `DatasetUnavailable` for a
    dataset that has to be built by hand (Cityscapes).
    """
    if name not in DATASETS:
        raise UnknownName(f"Unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.")
    info = DATASETS[name]
    if not info.redistributable:
        raise DatasetUnavailable(CITYSCAPES_INSTRUCTIONS)
    return info


def dataset_table() -> str:
    """A printable table of the datasets: image counts per split, size and notes."""
    rows = [f"{'name':<24}{'trainA':>7}{'trainB':>7}{'testA':>7}{'testB':>7}{'size':>10}  notes"]
    for info in DATASETS.values():
        size = f"{info.size_mib} MiB" if info.size_mib is not None else "?"
        counts = "".join(f"{count:>7}" for count in info.counts.values())
        note = f"paired; {info.note}" if info.paired else info.note
        rows.append(f"{info.name:<24}{counts}{size:>10}  {note}")
    return "\n".join(rows)


def check_pretrained_name(name: str) -> None:
    """Raise `UnknownName` (a `ValueError`) unless `name` is an official pretrained generator."""
    if name not in PRETRAINED_MODELS:
        raise UnknownName(f"Unknown pretrained model {name!r}: choose one of {', '.join(PRETRAINED_MODELS)}.")


def mirror_urls(mirrors: Sequence[str], filename: str) -> list[str]:
    """Join each base URL with `filename` (a single string counts as one base URL)."""
    bases = [mirrors] if isinstance(mirrors, str) else mirrors
    return [f"{base.rstrip('/')}/{filename}" for base in bases]


# ----------------------------------------------------------------------------
# Downloading one file
# ----------------------------------------------------------------------------


def download_file(
    urls: Sequence[str],
    dest: Path,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 30,
) -> Path:
    """Download the first URL that works to `dest` and return `dest`.

    Bytes go to `dest.part` first, which is resumed with an HTTP Range
    request if it exists, and renamed to `dest` only once complete.  A URL
    that answers with an HTTP error, refuses the connection or times out is
    skipped; a connection cut mid-transfer is retried a few times from where
    it stopped.  A wrong `expected_size` counts as a failed URL; a wrong
    `sha256` only warns.  Raises `DownloadError` if no URL works and
    `BadURL` (a `ValueError`, before any request) for a URL that is not http(s).
    """
    if not urls:
        raise BadURL("download_file needs at least one URL: pass a list of http:// or https:// URLs.")
    for url in urls:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise BadURL(f"Not an http:// or https:// URL: {url!r}; give the mirror as a full http(s) URL.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures: list[tuple[str, str]] = []
    for url in urls:
        reason = download_from(url, part, expected_size, progress, timeout)
        if reason is None:
            os.replace(part, dest)
            if sha256 is not None:
                warn_on_checksum_mismatch(dest, sha256)
            return dest
        failures.append((url, reason))
    raise DownloadError(all_failed_message(dest.name, failures, part))


def download_from(
    url: str, part: Path, expected_size: int | None, progress: bool, timeout: float
) -> str | None:
    """Fetch `url` into `part`, retrying cut connections; return None or why it failed."""
    reason = ""
    for _ in range(MAX_ATTEMPTS):
        try:
            fetch_once(url, part, progress, timeout)
        except TransferInterrupted as exc:
            reason = str(exc)
            continue
        except NETWORK_ERRORS as exc:
            return describe_failure(exc)
        return check_expected_size(part, expected_size)
    return f"connection cut {MAX_ATTEMPTS} times, last: {reason}"


def fetch_once(url: str, part: Path, progress: bool, timeout: float) -> None:
    """Make one request for `url`, appending to `part` when the server honours the Range."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "cyclegan-edu"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            accept_unsatisfiable_range(exc, part, offset)
            return
        raise
    with response:
        if response.status == 206:
            start, total = parse_content_range(response.headers.get("Content-Range"))
            if start != offset:
                part.unlink()
                raise TransferInterrupted(f"server resumed at byte {start} instead of {offset}; starting over")
        else:  # 200: the server sent the whole file, so the old part is useless
            offset, total = 0, parse_int(response.headers.get("Content-Length"))
        copy_body(response, part, offset, total, progress)


def accept_unsatisfiable_range(exc: urllib.error.HTTPError, part: Path, offset: int) -> None:
    """Handle 416: the part is complete if the server's total equals its size, else start over."""
    _, total = parse_content_range(exc.headers.get("Content-Range"))
    exc.close()
    if total != offset:
        part.unlink()
        raise TransferInterrupted(f"server refused to resume from byte {offset}; starting over")


def copy_body(
    response: http.client.HTTPResponse, part: Path, offset: int, total: int | None, progress: bool
) -> None:
    """Stream the response body into `part` (appending when `offset` > 0)."""
    received = offset
    with (
        open(part, "ab" if offset else "wb") as out,
        tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=part.name.removesuffix(".part"), disable=not progress,
        ) as bar,
    ):
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (http.client.IncompleteRead, ConnectionError) as exc:
                raise TransferInterrupted(f"connection cut after {received} bytes ({exc!r})") from exc
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    if total is not None and received < total:
        raise TransferInterrupted(f"connection closed after {received} of {total} bytes")


def check_expected_size(part: Path, expected_size: int | None) -> str | None:
    """Return None if `part` has the expected size (or none is expected), else delete it and say why."""
    size = part.stat().st_size
    if expected_size is None or size == expected_size:
        return None
    part.unlink()
    return f"received {size} bytes but expected {expected_size}"


def parse_content_range(header: str | None) -> tuple[int | None, int | None]:
    """Return (first byte, total size) from `bytes A-B/TOTAL` or `bytes */TOTAL`."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header or "")
    if match is None:
        return None, None
    start, total = match.groups()
    return parse_int(start), parse_int(total)


def parse_int(text: str | None) -> int | None:
    """`int(text)`, or None when the header is missing or not a number."""
    return int(text) if text is not None and text.isdigit() else None


def describe_failure(exc: BaseException) -> str:
    """A short human-readable reason for a failed URL."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"connection failed: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def warn_on_checksum_mismatch(path: Path, sha256: str) -> None:
    """Warn (without deleting anything) if `path` does not have the expected SHA-256."""
    actual = sha256_of(path)
    if actual != sha256.lower():
        warnings.warn(
            f"{path} has SHA-256 {actual}, expected {sha256}; the file may be corrupt or a different "
            "release. Delete it and download again if it causes problems.",
            stacklevel=3,
        )


def all_failed_message(filename: str, failures: list[tuple[str, str]], part: Path) -> str:
    """Explain which URLs failed and what the user can do about it."""
    lines = [f"could not download {filename} from any mirror:"]
    lines += [f"  - {url}: {reason}" for url, reason in failures]
    lines += [
        "What to do:",
        "  - Check your internet connection and run the same command again"
        + (f" (the partial download {part} is kept and resumed)." if part.exists() else "."),
        "  - The Berkeley server hosting the official files has had outages (2019, 2021, 2023). "
        "Use another copy with --mirror BASE_URL on the command line, or mirrors=[BASE_URL] in "
        f"Python; the file is then fetched from BASE_URL/{filename}.",
    ]
    return "\n".join(lines)


def community_mirrors_hint(name: str) -> str:
    """Point to unofficial copies of the datasets."""
    return (
        f"  - Community copies: Hugging Face datasets huggan/{name} "
        f"(https://huggingface.co/datasets/huggan/{name}) and Kaggle suyashdamle/cyclegan "
        "(https://www.kaggle.com/datasets/suyashdamle/cyclegan). Their layout differs; arrange the "
        f"images as {name}/trainA, trainB, testA, testB yourself."
    )


# ----------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------


def download_dataset(
    name: str,
    root: Path | str = "datasets",
    mirrors: Sequence[str] | None = None,
    *,
    progress: bool = True,
    keep_archive: bool = False,
) -> Path:
    """Download and unpack the official dataset `name` into `root/name`; return that folder.

    Returns at once, without touching the network, if `root/name` already
    holds four non-empty split folders.  The archive `root/name.zip` is
    checked, unpacked into a temporary folder inside `root` and moved into
    place only when complete; it is deleted afterwards unless `keep_archive`.
    """
    info = dataset_info(name)
    root = Path(root)
    target = root / name
    if has_all_splits(target):
        return target
    if is_occupied(target):
        raise DownloadError(
            f"{target} exists but does not hold non-empty {', '.join(SPLITS)} folders. "
            "It is left untouched: move it away (or finish it by hand) and run the download again."
        )
    root.mkdir(parents=True, exist_ok=True)
    archive = root / f"{name}.zip"
    urls = mirror_urls(mirrors or DATASET_MIRRORS, archive.name)
    # An archive kept by an earlier run (keep_archive) only exists when it was complete.
    if not archive.exists():
        try:
            download_file(urls, archive, sha256=info.sha256, progress=progress)
        except DownloadError as exc:
            raise DownloadError(f"{exc}\n{community_mirrors_hint(name)}") from None
    try:
        install_archive(archive, root, target)
    except DownloadError as exc:
        archive.unlink(missing_ok=True)
        raise DownloadError(
            f"{exc}\nThe archive {archive} was removed, so running the download again fetches it afresh. "
            f"If this keeps happening the mirror serves a bad file; URLs used: {', '.join(urls)}. "
            "Try another copy with --mirror BASE_URL (mirrors=[BASE_URL] in Python).\n"
            f"{community_mirrors_hint(name)}"
        ) from None
    if not keep_archive:
        archive.unlink()
    return target


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
        try:
            with zipfile.ZipFile(archive) as bundle:
                check_members(bundle, unpacked)
                bundle.extractall(unpacked)
        except (zipfile.BadZipFile, EOFError) as exc:
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


def check_members(bundle: zipfile.ZipFile, folder: Path) -> None:
    """Refuse the whole archive if any member is a symlink or would land outside `folder`."""
    base = folder.resolve()
    for info in bundle.infolist():
        name = info.filename
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DownloadError(f"refused to unpack: the archive member {name!r} is a symbolic link.")
        parts = PurePosixPath(name.replace("\\", "/")).parts
        escapes = not (folder / name).resolve().is_relative_to(base)
        if escapes or ".." in parts or name.startswith(("/", "\\")):
            raise DownloadError(f"refused to unpack: the archive member {name!r} points outside its folder.")


def find_split_folder(unpacked: Path, name: str) -> Path:
    """The unpacked folder holding the splits: normally `name/`, else the archive root or a top folder."""
    candidates = [unpacked / name, unpacked, *sorted(p for p in unpacked.iterdir() if p.is_dir())]
    for candidate in candidates:
        if any((candidate / split).is_dir() for split in SPLITS):
            return candidate
    return unpacked / name


# ----------------------------------------------------------------------------
# Pretrained generators
# ----------------------------------------------------------------------------


def download_pretrained(
    name: str,
    root: Path | str = "pretrained",
    mirrors: Sequence[str] | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Download the official pretrained generator `name` to `root/NAME.pth`; return the path.

    Returns at once if the file is already there.  (The official script saves
    it as `checkpoints/NAME_pretrained/latest_net_G.pth` instead.)
    """
    check_pretrained_name(name)
    dest = Path(root) / f"{name}.pth"
    if dest.exists():
        return dest
    return download_file(mirror_urls(mirrors or PRETRAINED_MIRRORS, dest.name), dest, progress=progress)


# ----------------------------------------------------------------------------
# FID / KID feature extractor weights
# ----------------------------------------------------------------------------

# torch-fidelity's conversion of the TensorFlow Inception-v3 that FID and KID were defined with
# (Heusel et al. 2017; Binkowski et al. 2018): the weights every published FID uses.
INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_MIRRORS = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0",)


def download_inception_weights(
    root: Path | str, mirrors: Sequence[str] | None = None, *, progress: bool = True
) -> Path:
    """Download the standard FID Inception-v3 weights to `root`; return at once if present."""
    dest = Path(root) / INCEPTION_WEIGHTS_FILE
    if dest.exists():
        return dest
    return download_file(mirror_urls(mirrors or INCEPTION_MIRRORS, dest.name), dest, progress=progress)

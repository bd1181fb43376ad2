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

Nothing bad downloaded is kept.  A download goes to `NAME.part` and is checked
before it is renamed into place: a `.pth` must load with
`torch.load(..., weights_only=True)` as a dict of tensors (an HTML login or
error page sent with status 200 is refused), a zip must open and its members
must unpack to a plausible size (see `check_members`), and a file whose size
is far from the approximate size in the tables (under half or over twice it)
is refused as "something else".  A weights file that is already there is
checked the same way, and downloaded again if it fails.  Unpacking writes each
member with a byte budget, so an archive whose headers lie about its sizes is
stopped too.  Each file has an overall deadline (`deadline`; by default at
least 10 minutes, more for big files, plus a minimum average speed); past it
the partial download is kept so that running the command again resumes it.

The authors publish no checksums: every `sha256` in the tables below is None
(`DatasetInfo.sha256`, `FileFacts.sha256`), and so is every size nobody has
recorded.  The sizes that are recorded are approximate, so they are only used
to refuse files that are wildly off, never to demand an exact byte count.
"""

from __future__ import annotations

import codecs
import hashlib
import http.client
import os
import re
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm.auto import tqdm

from cyclegan_edu.errors import UserError

# The four folders every CycleGAN dataset archive unpacks to.
SPLITS = ("trainA", "trainB", "testA", "testB")

# Base URLs tried in order, https first (plain http only as a fallback); the official download
# scripts moved to this host after people.eecs.berkeley.edu/~taesung_park stopped serving the files.
DATASET_MIRRORS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets",
    "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets",
)
PRETRAINED_MIRRORS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models",
    "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models",
)

# How many times one URL is retried (with resume) after the connection is cut.
MAX_ATTEMPTS = 3
CHUNK_BYTES = 1 << 16
MIB = 1 << 20
GIB = 1 << 30

# A finished download under 1/SIZE_TOLERANCE or over SIZE_TOLERANCE times its approximate size is refused;
# a file of unknown size may not exceed MAX_DOWNLOAD_BYTES.
SIZE_TOLERANCE = 2
MAX_DOWNLOAD_BYTES = 8 * GIB

# Deadline of one file: at least MIN_DEADLINE_S, or its size at MIN_AVERAGE_RATE if that is longer; and once
# MIN_DEADLINE_S have passed, the bytes must have arrived at MIN_AVERAGE_RATE on average.
MIN_DEADLINE_S = 600.0
MIN_AVERAGE_RATE = 32 * 1024  # bytes per second

# Unpacking bounds.  The datasets are JPEG/PNG images, which barely compress (ratio about 1), so the members of
# an archive may declare at most UNPACK_FACTOR times the archive's size in all (at least UNPACK_FLOOR, at most
# UNPACK_CAP whatever the archive), and no member over RATIO_CHECK_MIN_BYTES may compress more than MAX_RATIO:1.
UNPACK_FACTOR = 4
UNPACK_FLOOR = 16 * MIB
UNPACK_CAP = 8 * GIB
MAX_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1 * MIB


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
    size_mib: int | None = None  # approximate size of NAME.zip; None where unknown
    paired: bool = False  # A and B images correspond one to one (CycleGAN ignores it)
    note: str = ""
    sha256: str | None = None  # checksum of NAME.zip: the authors publish none, so None
    redistributable: bool = True

    @property
    def counts(self) -> dict[str, int]:
        """Number of images per split folder."""
        return dict(zip(SPLITS, (self.train_a, self.train_b, self.test_a, self.test_b)))

    @property
    def approx_bytes(self) -> int | None:
        """Approximate size of NAME.zip in bytes, or None where unknown."""
        return None if self.size_mib is None else self.size_mib * MIB


@dataclass(frozen=True)
class FileFacts:
    """What is known of one downloadable file before it arrives; None where unknown."""

    approx_bytes: int | None = None  # approximate size: a file under half or over twice it is refused
    sha256: str | None = None  # the authors publish no checksums, so None for their files


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

# Each generator is a ResNet with 9 blocks: about 11.4 M float32 parameters, so about 45.5 MB.
PRETRAINED_APPROX_BYTES = 45_500_000
PRETRAINED_FILES: dict[str, FileFacts] = {name: FileFacts(PRETRAINED_APPROX_BYTES) for name in PRETRAINED_MODELS}

# Exceptions that mean "this URL did not work", as opposed to local problems such as a full disk.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class TransferInterrupted(Exception):
    """The transfer stopped early; the .part file keeps what arrived and can be resumed."""


class TooBig(Exception):
    """The server sent (or announced) far more than the file can be; the .part file is useless."""


class DeadlineExceeded(Exception):
    """The file did not arrive in time; the .part file keeps what arrived and can be resumed."""


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
    approx_size: int | None = None,
    sha256: str | None = None,
    validate: Callable[[Path], str | None] | None = None,
    progress: bool = True,
    timeout: float = 30,
    deadline: float | None = None,
) -> Path:
    """Download the first URL that works to `dest` and return `dest`.

    Bytes go to `dest.part` first, which is resumed with an HTTP Range
    request if it exists, and renamed to `dest` only once complete and
    checked.  A URL that answers with an HTTP error, refuses the connection
    or times out is skipped; a connection cut mid-transfer is retried a few
    times from where it stopped.  A complete file is refused (deleted, and the
    next URL tried) when `validate(part)` returns a reason, when its size is
    not `expected_size` (exact), or when it is under half or over twice
    `approx_size`; a wrong `sha256` only warns.

    The whole download must end within `deadline` seconds (default: see
    `default_deadline`); past it a `DownloadError` says so and the `.part` file
    is kept, so calling again resumes it.  Raises `DownloadError` if no URL
    works and `BadURL` (a `ValueError`, before any request) for a URL that is
    not http(s).
    """
    if not urls:
        raise BadURL("download_file needs at least one URL: pass a list of http:// or https:// URLs.")
    for url in urls:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise BadURL(f"Not an http:// or https:// URL: {url!r}; give the mirror as a full http(s) URL.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    known = expected_size or approx_size
    clock = Deadline(deadline if deadline is not None else default_deadline(known))
    max_bytes = SIZE_TOLERANCE * known if known else MAX_DOWNLOAD_BYTES
    failures: list[tuple[str, str]] = []
    bad_content = False
    for url in urls:
        try:
            reason = download_from(url, part, expected_size, max_bytes, progress, timeout, clock)
        except DeadlineExceeded as exc:
            raise DownloadError(deadline_message(dest.name, url, part, str(exc))) from None
        if reason is None:
            reason = content_problem(part, approx_size, validate)
            if reason is None:
                os.replace(part, dest)
                if sha256 is not None:
                    warn_on_checksum_mismatch(dest, sha256)
                return dest
            part.unlink()
            reason += "; the file received was removed"
            bad_content = True
        failures.append((url, reason))
    raise DownloadError(all_failed_message(dest.name, failures, part, bad_content))


class Deadline:
    """The clock of one file's download: `limit_s` seconds in all, and a minimum average speed."""

    def __init__(self, limit_s: float | None, min_rate: float | None = None, grace_s: float | None = None):
        self.start = time.monotonic()
        self.limit_s = limit_s
        self.min_rate = MIN_AVERAGE_RATE if min_rate is None else min_rate
        self.grace_s = MIN_DEADLINE_S if grace_s is None else grace_s
        self.received = 0  # bytes received during this call, over every attempt

    def elapsed(self) -> float:
        """Seconds since the download started."""
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left before the limit (infinite without one)."""
        return float("inf") if self.limit_s is None else self.limit_s - self.elapsed()

    def add(self, count: int) -> None:
        """Count `count` more bytes received."""
        self.received += count

    def check(self, margin: float = 0.0) -> None:
        """Raise DeadlineExceeded, saying what happened, if the time is up or the bytes come too slowly.

        `margin` counts the time as up that many seconds early (for a socket timeout cut to the deadline).
        """
        elapsed = self.elapsed()
        seconds = f"{elapsed:.0f}" if elapsed >= 10 else f"{elapsed:.1f}"
        got = f"{human_size(self.received)} arrived in {seconds} s"
        if self.limit_s is not None and elapsed > self.limit_s - margin:
            raise DeadlineExceeded(f"it was not finished within the {self.limit_s:g} s allowed ({got})")
        if elapsed > self.grace_s and self.received < self.min_rate * elapsed:
            raise DeadlineExceeded(
                f"the server was too slow: {got}, under the {human_size(self.min_rate)}/s needed on average"
            )


def default_deadline(size: int | None) -> float | None:
    """The default time limit of a download: MIN_DEADLINE_S, or the file's size at MIN_AVERAGE_RATE if longer.

    None (no fixed limit, only the minimum average speed once MIN_DEADLINE_S have passed) when the size is unknown.
    """
    return None if size is None else max(MIN_DEADLINE_S, size / MIN_AVERAGE_RATE)


def download_from(
    url: str, part: Path, expected_size: int | None, max_bytes: int, progress: bool, timeout: float,
    clock: Deadline,
) -> str | None:
    """Fetch `url` into `part`, retrying cut connections; return None or why it failed.

    Raises DeadlineExceeded when `clock` runs out, even if that shows as a timeout of the connection.
    """
    reason = ""
    for _ in range(MAX_ATTEMPTS):
        clock.check()
        try:
            fetch_once(url, part, progress, timeout, clock, max_bytes)
        except TransferInterrupted as exc:
            reason = str(exc)
            continue
        except TooBig as exc:
            part.unlink(missing_ok=True)
            return f"{exc}; the file received was removed"
        except NETWORK_ERRORS as exc:
            clock.check(margin=0.25)  # a timeout at the deadline is the deadline's doing
            return describe_failure(exc)
        return check_expected_size(part, expected_size)
    clock.check()
    return f"connection cut {MAX_ATTEMPTS} times, last: {reason}"


def fetch_once(url: str, part: Path, progress: bool, timeout: float, clock: Deadline, max_bytes: int) -> None:
    """Make one request for `url`, appending to `part` when the server honours the Range."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "cyclegan-edu"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    # The socket timeout also bounds every read, so a server that goes silent cannot outlast the deadline.
    wait = max(0.05, min(timeout, clock.remaining()))
    try:
        response = urllib.request.urlopen(request, timeout=wait)
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
        if total is not None and total > max_bytes:
            raise TooBig(f"the server announced {human_size(total)}, more than this file can be "
                         f"({human_size(max_bytes)} at most), so it sent something else")
        copy_body(response, part, offset, total, progress, clock, max_bytes)


def accept_unsatisfiable_range(exc: urllib.error.HTTPError, part: Path, offset: int) -> None:
    """Handle 416: the part is complete if the server's total equals its size, else start over."""
    _, total = parse_content_range(exc.headers.get("Content-Range"))
    exc.close()
    if total != offset:
        part.unlink()
        raise TransferInterrupted(f"server refused to resume from byte {offset}; starting over")


def copy_body(
    response: http.client.HTTPResponse, part: Path, offset: int, total: int | None, progress: bool,
    clock: Deadline, max_bytes: int,
) -> None:
    """Stream the response body into `part` (appending when `offset` > 0), watching the clock and the size.

    `read1` returns whatever has arrived, so a server that drips bytes cannot keep one read waiting for a whole
    chunk past the deadline.
    """
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
                chunk = response.read1(CHUNK_BYTES)
            except (http.client.IncompleteRead, ConnectionError) as exc:
                raise TransferInterrupted(f"connection cut after {received} bytes ({exc!r})") from exc
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
            clock.add(len(chunk))
            if received > max_bytes:
                raise TooBig(f"the server sent more than {human_size(max_bytes)}, more than this file can be, "
                             "so it sent something else")
            clock.check()
    if total is not None and received < total:
        raise TransferInterrupted(f"connection closed after {received} of {total} bytes")


def check_expected_size(part: Path, expected_size: int | None) -> str | None:
    """Return None if `part` has the expected size (or none is expected), else delete it and say why."""
    size = part.stat().st_size
    if expected_size is None or size == expected_size:
        return None
    part.unlink()
    return f"received {size} bytes but expected {expected_size}"


def content_problem(part: Path, approx_size: int | None, validate: Callable[[Path], str | None] | None) -> str | None:
    """Why the complete download `part` is not the file (checked by `validate`, then by size), or None."""
    problem = validate(part) if validate is not None else None
    return problem or size_problem(part.stat().st_size, approx_size)


def size_problem(size: int, approx_size: int | None) -> str | None:
    """None if `size` is plausible for a file of about `approx_size` bytes (or that is unknown), else why not."""
    if approx_size is None or approx_size / SIZE_TOLERANCE <= size <= approx_size * SIZE_TOLERANCE:
        return None
    return (f"it is {human_size(size)} where about {human_size(approx_size)} were expected, so the server sent "
            "something else (an error page or another file)")


def human_size(count: float) -> str:
    """`count` bytes in B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


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


# ----------------------------------------------------------------------------
# What a download holds
# ----------------------------------------------------------------------------

HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<script", b"<title", b"<!--", b"<?xml")
TEXT_CONTROLS = bytes(set(range(32)) - {9, 10, 12, 13}) + b"\x7f"


def sniff_problem(path: Path, what: str) -> str | None:
    """Name what `path` is when it is plainly not `what`: empty, an HTML page or a text file; else None."""
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if not head:
        return f"it is an empty file, not {what}"
    start = head.removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if start.startswith(HTML_STARTS):
        return (f"it is an HTML page (a network's login page, or an error page sent as if it were the file), "
                f"not {what}")
    if not any(byte in TEXT_CONTROLS for byte in head):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            return None
        return f"it is a text file, not {what}"
    return None


def tensor_file_problem(path: Path) -> str | None:
    """None if `path` loads (`weights_only`, on the CPU) as a non-empty dict of tensors; else what is wrong.

    Only torch itself is used: no model code is needed to tell weights from an error page.
    """
    what = "PyTorch weights (a .pth file of tensors)"
    sniffed = sniff_problem(path, what)
    if sniffed:
        return sniffed
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, damaged, foreign or unsafe: torch raises many kinds
        unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if unsafe:
            return (f"it is a PyTorch file holding Python objects besides tensors ({unsafe.group(1)}), which are "
                    "refused because loading them could run code")
        return (f"it is not a loadable file of plain PyTorch tensors: it is truncated, damaged or in another "
                f"format ({torch_error_detail(exc)})")
    if not isinstance(state, dict) or not state:
        kind = "an empty dict" if isinstance(state, dict) else f"a {type(state).__name__}"
        return f"it is a PyTorch file holding {kind}, not {what}"
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            return f"it is a PyTorch file whose entry {key!r} is not a tensor but {type(value).__name__}, not {what}"
    return None


def torch_error_detail(exc: Exception) -> str:
    """The telling part of a `torch.load` error, short and on one line: its name and first sentence."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:  # torch wraps the real reason in paragraphs of advice
        text = text.split("WeightsUnpickler error:", 1)[1]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    sentence = first.split(". ", 1)[0].rstrip(".")[:100]
    return f"{type(exc).__name__}: {sentence}" if sentence else type(exc).__name__


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


def all_failed_message(filename: str, failures: list[tuple[str, str]], part: Path, bad_content: bool = False) -> str:
    """Explain which URLs failed and what the user can do about it."""
    lines = [f"could not download {filename} from any mirror; see why below, then run the same command again "
             "or use another mirror:"]
    lines += [f"  - {url}: {reason}" for url, reason in failures]
    lines += ["What to do:"]
    if bad_content:
        lines += [
            "  - A server sent something other than the file, and nothing of it was kept. If your network needs "
            "a login (hotel, campus or cafe Wi-Fi), log in with a browser first; otherwise that copy is broken, "
            "so use another one (below)."
        ]
    lines += [
        "  - Check your internet connection and run the same command again"
        + (f" (the partial download {part} is kept and resumed)." if part.exists() else "."),
        "  - The Berkeley server hosting the official files has had outages (2019, 2021, 2023). "
        "Use another copy with --mirror BASE_URL on the command line, or mirrors=[BASE_URL] in "
        f"Python; the file is then fetched from BASE_URL/{filename}.",
    ]
    return "\n".join(lines)


def deadline_message(filename: str, url: str, part: Path, what: str) -> str:
    """One line: the download of `filename` ran out of time, and running the command again resumes it."""
    size = part.stat().st_size if part.exists() else 0
    kept = (f"the partial download {part} ({human_size(size)}) is kept, so running the same command again resumes it"
            if size else "nothing arrived, so run the same command again later")
    return (f"downloading {filename} from {url} stopped because {what}; {kept}, or use a faster copy with "
            "--mirror BASE_URL (mirrors=[BASE_URL] in Python).")


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
    deadline: float | None = None,
) -> Path:
    """Download and unpack the official dataset `name` into `root/name`; return that folder.

    Returns at once, without touching the network, if `root/name` already
    holds four non-empty split folders.  The archive `root/name.zip` is
    checked (size, zip structure, plausible unpacked size), unpacked into a
    temporary folder inside `root` with a byte budget and moved into place
    only when complete; it is deleted afterwards unless `keep_archive`.
    `deadline` bounds the download in seconds (default: `default_deadline`).
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
    # An archive kept by an earlier run (keep_archive) was complete; one of an implausible size is not the dataset.
    if archive.is_file() and size_problem(archive.stat().st_size, info.approx_bytes):
        archive.unlink()
    if not archive.exists():
        try:
            download_file(urls, archive, approx_size=info.approx_bytes, sha256=info.sha256, validate=zip_problem,
                          progress=progress, deadline=deadline)
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


# ----------------------------------------------------------------------------
# Pretrained generators
# ----------------------------------------------------------------------------


def download_pretrained(
    name: str,
    root: Path | str = "pretrained",
    mirrors: Sequence[str] | None = None,
    *,
    progress: bool = True,
    deadline: float | None = None,
) -> Path:
    """Download the official pretrained generator `name` to `root/NAME.pth`; return the path.

    Returns at once if a file that passes the checks (`tensor_file_problem`, plausible size) is already there;
    one that fails them is downloaded again.  (The official script saves it as
    `checkpoints/NAME_pretrained/latest_net_G.pth` instead.)
    """
    check_pretrained_name(name)
    dest = Path(root) / f"{name}.pth"
    urls = mirror_urls(mirrors or PRETRAINED_MIRRORS, dest.name)
    return fetch_weights(urls, dest, PRETRAINED_FILES[name], progress=progress, deadline=deadline)


def fetch_weights(urls: Sequence[str], dest: Path, facts: FileFacts, *, progress: bool, deadline: float | None) -> Path:
    """Return `dest` if it holds plausible weights, else download it from `urls`, checked the same way.

    A bad file already at `dest` is never trusted: it is replaced once a good download arrives, and named in the
    error if none does.
    """
    if dest.is_dir():
        raise DownloadError(f"{dest} is a folder, where the weights file {dest.name} should go: move it away "
                            "and run the download again.")
    stale = None
    if dest.exists():
        stale = tensor_file_problem(dest) or size_problem(dest.stat().st_size, facts.approx_bytes)
        if stale is None:
            return dest
    try:
        return download_file(urls, dest, approx_size=facts.approx_bytes, sha256=facts.sha256,
                             validate=tensor_file_problem, progress=progress, deadline=deadline)
    except DownloadError as exc:
        if stale is None:
            raise
        raise DownloadError(
            f"{exc}\n  - The file already at {dest} was not used because {stale}; a successful download replaces it."
        ) from None


# ----------------------------------------------------------------------------
# FID / KID feature extractor weights
# ----------------------------------------------------------------------------

# torch-fidelity's conversion of the TensorFlow Inception-v3 that FID and KID were defined with
# (Heusel et al. 2017; Binkowski et al. 2018): the weights every published FID uses.
INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_MIRRORS = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0",)
INCEPTION_FACTS = FileFacts()  # neither its size nor a checksum is recorded here


def download_inception_weights(
    root: Path | str, mirrors: Sequence[str] | None = None, *, progress: bool = True, deadline: float | None = None
) -> Path:
    """Download the standard FID Inception-v3 weights to `root`; return at once if a valid file is there.

    Checked like the pretrained generators: a file that is not a dict of tensors is refused (or re-downloaded).
    """
    dest = Path(root) / INCEPTION_WEIGHTS_FILE
    urls = mirror_urls(mirrors or INCEPTION_MIRRORS, dest.name)
    return fetch_weights(urls, dest, INCEPTION_FACTS, progress=progress, deadline=deadline)

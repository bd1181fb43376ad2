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

import http.client
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from cyclegan_edu.data.archives import CHUNK_BYTES, GIB, has_all_splits, install_archive, is_occupied, zip_problem
from cyclegan_edu.data.catalog import (
    DATASET_MIRRORS,
    INCEPTION_FACTS,
    INCEPTION_MIRRORS,
    INCEPTION_WEIGHTS_FILE,
    PRETRAINED_FILES,
    PRETRAINED_MIRRORS,
    SPLITS,
    FileFacts,
    check_pretrained_name,
    community_mirrors_hint,
    dataset_info,
)
from cyclegan_edu.data.file_checks import (
    SIZE_TOLERANCE,
    check_expected_size,
    human_size,
    size_problem,
    tensor_file_problem,
    warn_on_checksum_mismatch,
)
from cyclegan_edu.errors import DownloadError, UserError

# How many times one URL is retried (with resume) after the connection is cut.
MAX_ATTEMPTS = 3
MAX_DOWNLOAD_BYTES = 8 * GIB

# Deadline of one file: at least MIN_DEADLINE_S, or its size at MIN_AVERAGE_RATE if that is longer; and once
# MIN_DEADLINE_S have passed, the bytes must have arrived at MIN_AVERAGE_RATE on average.
MIN_DEADLINE_S = 600.0
MIN_AVERAGE_RATE = 32 * 1024  # bytes per second


class BadURL(UserError, ValueError):
    """A mirror URL that is not http(s), or no URL at all."""

# Exceptions that mean "this URL did not work", as opposed to local problems such as a full disk.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class TransferInterrupted(Exception):
    """The transfer stopped early; the .part file keeps what arrived and can be resumed."""


class TooBig(Exception):
    """The server sent (or announced) far more than the file can be; the .part file is useless."""


class DeadlineExceeded(Exception):
    """The file did not arrive in time; the .part file keeps what arrived and can be resumed."""


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


def content_problem(part: Path, approx_size: int | None, validate: Callable[[Path], str | None] | None) -> str | None:
    """Why the complete download `part` is not the file (checked by `validate`, then by size), or None."""
    problem = validate(part) if validate is not None else None
    return problem or size_problem(part.stat().st_size, approx_size)


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


def download_inception_weights(
    root: Path | str, mirrors: Sequence[str] | None = None, *, progress: bool = True, deadline: float | None = None
) -> Path:
    """Download the standard FID Inception-v3 weights to `root`; return at once if a valid file is there.

    Checked like the pretrained generators: a file that is not a dict of tensors is refused (or re-downloaded).
    """
    dest = Path(root) / INCEPTION_WEIGHTS_FILE
    urls = mirror_urls(mirrors or INCEPTION_MIRRORS, dest.name)
    return fetch_weights(urls, dest, INCEPTION_FACTS, progress=progress, deadline=deadline)

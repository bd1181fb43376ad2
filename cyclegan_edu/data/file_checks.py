"""What a downloaded file holds, checked before it is kept: its size, its kind, its tensors.

An HTML login or error page sent with status 200, a text file, a truncated or foreign PyTorch file,
or a file far from its known size is named here in words, for the download's error message.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import warnings
from pathlib import Path

# A finished download under 1/SIZE_TOLERANCE or over SIZE_TOLERANCE times its approximate size is refused;
# (downloads.py: a file of unknown size may not exceed MAX_DOWNLOAD_BYTES).
SIZE_TOLERANCE = 2


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


def check_expected_size(part: Path, expected_size: int | None) -> str | None:
    """Return None if `part` has the expected size (or none is expected), else delete it and say why."""
    size = part.stat().st_size
    if expected_size is None or size == expected_size:
        return None
    part.unlink()
    return f"received {size} bytes but expected {expected_size}"

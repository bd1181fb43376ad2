"""Nothing bad downloaded is kept: weights that are not weights, zip bombs, wrong sizes, dripping servers.

Each class is tried with several inputs, served by an HTTP server on 127.0.0.1 started inside the test (never
the internet). Every loop of the server is bounded in count and time and ends by itself.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest
import torch
from local_server import DRIP_INTERVAL_S, MAX_DRIP_BYTES, LocalServer

from cyclegan_edu.data import archives, catalog, downloads
from cyclegan_edu.data.downloads import (
    download_dataset,
    download_file,
    download_inception_weights,
    download_pretrained,
)
from cyclegan_edu.errors import DownloadError, UserError

DATASET = "cezanne2photo"  # archive size not recorded, so the bomb checks are reached whatever the archive weighs
KNOWN = "horse2zebra"  # archive size recorded (111 MiB)
MODEL = "horse2zebra"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
Server = LocalServer  # the `server` fixture (tests/conftest.py)


def torch_bytes(obj: object, legacy: bool = False) -> bytes:
    """``torch.save`` output; ``legacy``: the pre-1.6 format the authors' 2017 files were saved in."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


class NotATensor:
    """Saving an instance pickles a reference to this class: loading it would need (and could run) code."""


SMALL_WEIGHTS = {"model.1.weight": torch.ones(4, 3), "model.1.bias": torch.zeros(4)}


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0]


# ---------------------------------------------------------------------------
# Weights that are not weights
# ---------------------------------------------------------------------------

BAD_WEIGHTS = {
    "captive portal": (b"<!DOCTYPE html>\n<html><body>Log in to use the Wi-Fi</body></html>", "HTML page"),
    "error page": (b"\r\n  <HTML><HEAD><TITLE>500 Internal Server Error</TITLE></HEAD></HTML>", "HTML page"),
    "text": (b"Not Found\n", "text file"),
    "json": (b'{"error": "quota exceeded"}', "text file"),
    "empty": (b"", "empty file"),
    "truncated torch.save": (torch_bytes(SMALL_WEIGHTS)[:300], "not a loadable file of plain PyTorch tensors"),
    "truncated legacy torch.save": (torch_bytes(SMALL_WEIGHTS, legacy=True)[:200], "truncated, damaged"),
    "random bytes": (bytes(range(256)) * 8, "not a loadable file of plain PyTorch tensors"),
    "pickled object": (torch_bytes({"w": torch.ones(1), "x": NotATensor()}), "could run code"),
    "a list of tensors": (torch_bytes([torch.ones(2)]), "holding a list"),
    "a non-tensor entry": (torch_bytes({"w": torch.ones(2), "epoch": 3}), "entry 'epoch' is not a tensor but int"),
    "an empty dict": (torch_bytes({}), "holding an empty dict"),
}


@pytest.mark.parametrize("case", BAD_WEIGHTS)
def test_bad_pretrained_file_is_refused_and_not_kept(server: Server, tmp_path: Path, case: str) -> None:
    content, reason = BAD_WEIGHTS[case]
    server.files[f"/m/{MODEL}.pth"] = content
    with pytest.raises(DownloadError) as caught:
        download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False)
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert first_line(caught.value).startswith(f"could not download {MODEL}.pth from any mirror")
    assert reason in message and "was removed" in message and "log in" in message
    assert os.listdir(tmp_path) == []  # neither NAME.pth nor NAME.pth.part


@pytest.mark.parametrize("legacy", [False, True])
def test_small_valid_state_dict_is_accepted(server: Server, tmp_path: Path, monkeypatch, legacy: bool) -> None:
    monkeypatch.setitem(catalog.PRETRAINED_FILES, MODEL, catalog.FileFacts())  # size check tested below
    server.files[f"/m/{MODEL}.pth"] = torch_bytes(SMALL_WEIGHTS, legacy)
    path = download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False)
    assert os.listdir(tmp_path) == [f"{MODEL}.pth"]
    loaded = torch.load(path, weights_only=True)
    assert loaded.keys() == SMALL_WEIGHTS.keys() and torch.equal(loaded["model.1.weight"], torch.ones(4, 3))


def test_a_portal_on_the_first_mirror_falls_through_to_the_next(server: Server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(catalog.PRETRAINED_FILES, MODEL, catalog.FileFacts())
    server.files[f"/portal/{MODEL}.pth"] = BAD_WEIGHTS["captive portal"][0]
    server.files[f"/m/{MODEL}.pth"] = torch_bytes(SMALL_WEIGHTS)
    path = download_pretrained(MODEL, tmp_path, [server.url("/portal"), server.url("/m")], progress=False)
    assert path.read_bytes() == server.files[f"/m/{MODEL}.pth"]
    assert os.listdir(tmp_path) == [f"{MODEL}.pth"]


@pytest.mark.parametrize("case", ["captive portal", "truncated torch.save", "a non-tensor entry"])
def test_a_bad_file_already_there_is_downloaded_again(server: Server, tmp_path: Path, monkeypatch, case) -> None:
    monkeypatch.setitem(catalog.PRETRAINED_FILES, MODEL, catalog.FileFacts())
    (tmp_path / f"{MODEL}.pth").write_bytes(BAD_WEIGHTS[case][0])
    server.files[f"/m/{MODEL}.pth"] = torch_bytes(SMALL_WEIGHTS)
    path = download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False)
    assert server.requests == [(f"/m/{MODEL}.pth", None)]
    assert path.read_bytes() == server.files[f"/m/{MODEL}.pth"]


def test_a_good_file_already_there_is_reused(server: Server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(catalog.PRETRAINED_FILES, MODEL, catalog.FileFacts())
    (tmp_path / f"{MODEL}.pth").write_bytes(torch_bytes(SMALL_WEIGHTS))
    download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False)
    assert server.requests == []


def test_a_bad_file_already_there_is_named_when_no_mirror_works(server: Server, tmp_path: Path) -> None:
    (tmp_path / f"{MODEL}.pth").write_bytes(BAD_WEIGHTS["captive portal"][0])
    with pytest.raises(DownloadError) as caught:
        download_pretrained(MODEL, tmp_path, [server.url("/none")], progress=False)
    message = str(caught.value)
    assert first_line(caught.value).startswith(f"could not download {MODEL}.pth from any mirror")
    assert "HTTP 404" in message and f"{tmp_path / MODEL}.pth was not used because it is an HTML page" in message


@pytest.mark.parametrize("case", ["captive portal", "truncated torch.save", "pickled object"])
def test_bad_inception_weights_are_refused(server: Server, tmp_path: Path, case: str) -> None:
    content, reason = BAD_WEIGHTS[case]
    server.files[f"/w/{catalog.INCEPTION_WEIGHTS_FILE}"] = content
    with pytest.raises(DownloadError, match=reason) as caught:
        download_inception_weights(tmp_path, [server.url("/w")], progress=False)
    assert first_line(caught.value).startswith(f"could not download {catalog.INCEPTION_WEIGHTS_FILE}")
    assert os.listdir(tmp_path) == []


def test_valid_inception_weights_are_accepted(server: Server, tmp_path: Path) -> None:
    server.files[f"/w/{catalog.INCEPTION_WEIGHTS_FILE}"] = torch_bytes(SMALL_WEIGHTS)
    path = download_inception_weights(tmp_path, [server.url("/w")], progress=False)
    assert os.listdir(tmp_path) == [catalog.INCEPTION_WEIGHTS_FILE] and path.stat().st_size > 0


# ---------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------


def test_valid_weights_of_the_wrong_size_are_something_else(server: Server, tmp_path: Path) -> None:
    server.files[f"/m/{MODEL}.pth"] = torch_bytes(SMALL_WEIGHTS)  # loads fine, but is not a 45 MB generator
    with pytest.raises(DownloadError) as caught:
        download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False)
    assert "where about 43.4 MiB were expected, so the server sent something else" in str(caught.value)
    assert os.listdir(tmp_path) == []


def test_a_file_announced_far_too_big_is_refused_before_it_is_read(server: Server, tmp_path: Path,
                                                                   monkeypatch) -> None:
    monkeypatch.setitem(catalog.PRETRAINED_FILES, MODEL, catalog.FileFacts(approx_bytes=100))
    server.files[f"/m/{MODEL}.pth"] = torch_bytes(SMALL_WEIGHTS)
    with pytest.raises(DownloadError, match="announced .* more than this file can be"):
        download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False)
    assert os.listdir(tmp_path) == []


def test_a_tiny_archive_for_a_dataset_of_known_size_is_something_else(server: Server, tmp_path: Path) -> None:
    server.files[f"/ds/{KNOWN}.zip"] = make_zip(dataset_members(KNOWN))
    with pytest.raises(DownloadError) as caught:
        download_dataset(KNOWN, tmp_path, [server.url("/ds")], progress=False)
    message = str(caught.value)
    assert first_line(caught.value).startswith(f"could not download {KNOWN}.zip from any mirror")
    assert "where about 111.0 MiB were expected, so the server sent something else" in message
    assert os.listdir(tmp_path) == []


def test_tables_record_sizes_and_no_invented_checksums() -> None:
    sizes = {name: info.size_mib for name, info in catalog.DATASETS.items() if info.size_mib is not None}
    assert sizes == {"horse2zebra": 111, "apple2orange": 75, "summer2winter_yosemite": 127, "monet2photo": 291,
                     "facades": 34, "maps": 1434}
    assert all(info.sha256 is None for info in catalog.DATASETS.values())
    assert all(facts.sha256 is None for facts in catalog.PRETRAINED_FILES.values())
    assert set(catalog.PRETRAINED_FILES) == set(catalog.PRETRAINED_MODELS)
    assert catalog.INCEPTION_FACTS.sha256 is None
    assert "publish no checksums" in downloads.__doc__


# ---------------------------------------------------------------------------
# Zip bombs
# ---------------------------------------------------------------------------


def dataset_members(name: str = DATASET) -> dict[str, bytes]:
    return {f"{name}/{split}/{i}.png": PNG + split.encode() for split in catalog.SPLITS for i in range(2)}


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def declare_sizes(archive: bytes, member: str, *, compressed: int | None = None, uncompressed: int) -> bytes:
    """Rewrite the sizes ``member``'s local and central headers declare (the data stays as it is)."""
    data = bytearray(archive)
    encoded = member.encode()
    for signature, size_offset, name_offset in ((b"PK\x03\x04", 18, 30), (b"PK\x01\x02", 20, 46)):
        position = data.find(signature)
        while position != -1:
            if data[position + name_offset:position + name_offset + len(encoded)] == encoded:
                if compressed is not None:
                    struct.pack_into("<I", data, position + size_offset, compressed)
                struct.pack_into("<I", data, position + size_offset + 4, uncompressed)
            position = data.find(signature, position + 1)
    return bytes(data)


def assert_nothing_kept(root: Path) -> None:
    """No dataset folder, archive, .part or unpacking folder is left."""
    assert not root.exists() or os.listdir(root) == []


BOMBS = {
    "20 MiB of zeros, deflated (ratio > 1000)": (bytes(20 * catalog.MIB), zipfile.ZIP_DEFLATED),
    "20 MiB of zeros, bzip2": (bytes(20 * catalog.MIB), zipfile.ZIP_BZIP2),
    "2 MiB of one repeated phrase, lzma": (b"horse zebra " * 180_000, zipfile.ZIP_LZMA),
}


@pytest.mark.parametrize("case", BOMBS)
def test_a_highly_compressible_member_is_refused_before_unpacking(server: Server, tmp_path: Path, case) -> None:
    payload, compression = BOMBS[case]
    archive = make_zip({**dataset_members(), f"{DATASET}/trainA/bomb.png": payload}, compression)
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        info = bundle.getinfo(f"{DATASET}/trainA/bomb.png")
        assert info.file_size / info.compress_size > archives.MAX_RATIO
    server.files[f"/ds/{DATASET}.zip"] = archive
    with pytest.raises(DownloadError) as caught:
        download_dataset(DATASET, tmp_path, [server.url("/ds")], progress=False)
    message = str(caught.value)
    assert first_line(caught.value).startswith(f"could not download {DATASET}.zip from any mirror")
    assert "refused to unpack" in message and "bomb.png" in message and "zip bomb" in message
    assert_nothing_kept(tmp_path)


@pytest.mark.parametrize("declared", [0xF000_0000, 3 * archives.GIB])
def test_members_declaring_far_more_than_plausible_are_refused(server: Server, tmp_path: Path, declared) -> None:
    member = f"{DATASET}/trainA/huge.png"
    archive = declare_sizes(make_zip({**dataset_members(), member: PNG * 100}), member,
                            compressed=declared, uncompressed=declared)  # ratio 1: only the total gives it away
    server.files[f"/ds/{DATASET}.zip"] = archive
    with pytest.raises(DownloadError, match="far more than the 16.0 MiB plausible") as caught:
        download_dataset(DATASET, tmp_path, [server.url("/ds")], progress=False)
    assert "refused to unpack" in str(caught.value)
    assert_nothing_kept(tmp_path)


def test_the_total_bound_follows_the_archive_size(monkeypatch) -> None:
    monkeypatch.setattr(archives, "UNPACK_FLOOR", 0)
    archive = make_zip({f"{DATASET}/trainA/{i}.png": os.urandom(100_000) for i in range(3)})
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        archives.check_members(bundle, Path("unused"), len(archive))  # honest: passes
        with pytest.raises(DownloadError, match="far more than"):
            archives.check_members(bundle, Path("unused"), len(archive) // 5)
    assert archives.unpack_limit(100 * archives.GIB) == archives.UNPACK_CAP


def test_a_member_that_inflates_past_its_declared_size_is_refused(server: Server, tmp_path: Path) -> None:
    member = f"{DATASET}/trainA/liar.png"
    real = make_zip({**dataset_members(), member: bytes(4 * catalog.MIB)}, zipfile.ZIP_DEFLATED)
    server.files[f"/ds/{DATASET}.zip"] = declare_sizes(real, member, uncompressed=1000)  # data inflates to 4 MiB
    with pytest.raises(DownloadError) as caught:
        download_dataset(DATASET, tmp_path, [server.url("/ds")], progress=False)
    message = str(caught.value)
    # Python's zipfile stops at the declared size and then finds the CRC wrong; either way nothing is kept.
    assert first_line(caught.value).startswith(f"{DATASET}.zip is corrupt or not a zip archive")
    assert "was removed" in message
    assert_nothing_kept(tmp_path)


def test_unpacking_stops_past_the_declared_size_even_if_the_reader_does_not(server: Server, tmp_path: Path,
                                                                            monkeypatch) -> None:
    member = f"{DATASET}/trainA/0.png"
    server.files[f"/ds/{DATASET}.zip"] = make_zip(dataset_members())
    honest_open = zipfile.ZipFile.open

    def lying_open(self, name, *args, **kwargs):  # a zip reader that believes the data, not the header
        source = honest_open(self, name, *args, **kwargs)
        filename = name if isinstance(name, str) else name.filename
        if filename != member:
            return source
        with source:
            return io.BytesIO(source.read() + bytes(10 * catalog.MIB))

    monkeypatch.setattr(zipfile.ZipFile, "open", lying_open)
    with pytest.raises(DownloadError) as caught:
        download_dataset(DATASET, tmp_path, [server.url("/ds")], progress=False)
    assert first_line(caught.value).startswith(
        f"refused to unpack: the archive member {member!r} inflates to more than the {len(PNG) + 6} bytes")
    assert_nothing_kept(tmp_path)


@pytest.mark.parametrize("extra", [1, archives.CHUNK_BYTES, 5 * archives.CHUNK_BYTES])
def test_the_byte_budget_of_the_writer(extra: int) -> None:
    out = io.BytesIO()
    assert archives.copy_with_budget(io.BytesIO(b"x" * 1000), out, 1000, "exact") == 1000
    out = io.BytesIO()
    with pytest.raises(DownloadError, match="'over' inflates to more than the 1000 bytes its header declares"):
        archives.copy_with_budget(io.BytesIO(b"x" * (1000 + extra)), out, 1000, "over")
    assert len(out.getvalue()) <= 1000


def test_a_refused_archive_falls_through_to_the_next_mirror(server: Server, tmp_path: Path) -> None:
    server.files[f"/bad/{DATASET}.zip"] = make_zip({**dataset_members(), "z.png": bytes(20 * catalog.MIB)},
                                                   zipfile.ZIP_DEFLATED)
    server.files[f"/ds/{DATASET}.zip"] = make_zip(dataset_members())
    path = download_dataset(DATASET, tmp_path, [server.url("/bad"), server.url("/ds")], progress=False)
    assert os.listdir(tmp_path) == [DATASET] and (path / "testB" / "1.png").read_bytes() == PNG + b"testB"


# ---------------------------------------------------------------------------
# Deadlines
# ---------------------------------------------------------------------------


def assert_deadline_error(error: DownloadError, filename: str) -> None:
    message = str(error)
    assert len(message.splitlines()) == 1 or filename.endswith(".zip")  # datasets add the community copies
    assert first_line(error).startswith(f"downloading {filename} from ")
    assert "running the same command again resumes it" in message


def test_a_dripping_server_cannot_hang_a_download(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = bytes(range(200))
    server.drip.add("/f.bin")
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        download_file([server.url("/f.bin")], tmp_path / "f.bin", progress=False, deadline=2)
    assert 2 <= time.monotonic() - started < 6
    assert "stopped because it was not finished within the 2 s allowed" in str(caught.value)
    assert_deadline_error(caught.value, "f.bin")
    assert os.listdir(tmp_path) == ["f.bin.part"]  # kept for resuming, never renamed into place
    assert 1 <= (tmp_path / "f.bin.part").stat().st_size < 6
    assert server.slow_done.wait(DRIP_INTERVAL_S * MAX_DRIP_BYTES)  # the handler ended by itself

    # Running it again resumes from the kept part.
    server.drip.clear()
    kept = (tmp_path / "f.bin.part").stat().st_size
    download_file([server.url("/f.bin")], tmp_path / "f.bin", progress=False, deadline=2)
    assert server.requests[-1] == ("/f.bin", f"bytes={kept}-")
    assert (tmp_path / "f.bin").read_bytes() == bytes(range(200)) and os.listdir(tmp_path) == ["f.bin"]


def test_a_dripping_pretrained_download_keeps_its_part(server: Server, tmp_path: Path) -> None:
    server.files[f"/m/{MODEL}.pth"] = torch_bytes(SMALL_WEIGHTS)
    server.drip.add(f"/m/{MODEL}.pth")
    with pytest.raises(DownloadError) as caught:
        download_pretrained(MODEL, tmp_path, [server.url("/m")], progress=False, deadline=2)
    assert_deadline_error(caught.value, f"{MODEL}.pth")
    assert os.listdir(tmp_path) == [f"{MODEL}.pth.part"]


def test_a_dripping_dataset_download_keeps_its_part(server: Server, tmp_path: Path) -> None:
    server.files[f"/ds/{DATASET}.zip"] = make_zip(dataset_members())
    server.drip.add(f"/ds/{DATASET}.zip")
    with pytest.raises(DownloadError) as caught:
        download_dataset(DATASET, tmp_path, [server.url("/ds")], progress=False, deadline=1.5)
    assert_deadline_error(caught.value, f"{DATASET}.zip")
    assert os.listdir(tmp_path) == [f"{DATASET}.zip.part"]


def test_a_server_that_falls_silent_cannot_outlast_the_deadline(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = bytes(200)
    server.stall_after["/f.bin"] = 5
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        download_file([server.url("/f.bin")], tmp_path / "f.bin", progress=False, timeout=30, deadline=1.5)
    assert time.monotonic() - started < 5  # not the 30 s socket timeout
    assert_deadline_error(caught.value, "f.bin")
    assert (tmp_path / "f.bin.part").read_bytes() == bytes(5)


def test_the_minimum_average_speed(server: Server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(downloads, "MIN_DEADLINE_S", 1.0)
    monkeypatch.setattr(downloads, "MIN_AVERAGE_RATE", 1024 * 1024)
    server.files["/f.bin"] = bytes(200)
    server.drip.add("/f.bin")
    with pytest.raises(DownloadError, match="the server was too slow") as caught:
        download_file([server.url("/f.bin")], tmp_path / "f.bin", progress=False)  # no deadline: size unknown
    assert_deadline_error(caught.value, "f.bin")


def test_default_deadlines() -> None:
    assert downloads.default_deadline(None) is None
    assert downloads.default_deadline(1000) == downloads.MIN_DEADLINE_S == 600
    maps = catalog.DATASETS["maps"].approx_bytes
    assert downloads.default_deadline(maps) == maps / downloads.MIN_AVERAGE_RATE > 600


# ---------------------------------------------------------------------------
# Mirrors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mirrors", [catalog.DATASET_MIRRORS, catalog.PRETRAINED_MIRRORS,
                                     downloads.INCEPTION_MIRRORS])
def test_https_comes_first(mirrors: tuple[str, ...]) -> None:
    schemes = [url.split("://")[0] for url in mirrors]
    assert schemes[0] == "https" and schemes == sorted(schemes, key=lambda scheme: scheme != "https")

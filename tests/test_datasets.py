"""Tests for cyclegan_edu.data.downloads and its download scripts, against a local HTTP server only."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from local_server import LocalServer

from cyclegan_edu.data import catalog, downloads
from cyclegan_edu.data.catalog import DatasetUnavailable
from cyclegan_edu.data.downloads import (
    download_dataset,
    download_file,
    download_pretrained,
)
from cyclegan_edu.errors import DownloadError

REPO = Path(__file__).resolve().parents[1]
# A dataset whose archive size is not recorded, so the tiny archives served here pass the size check
# (tests/test_download_safety.py checks that archives of a known size are held to it).
NAME = "cezanne2photo"
# The eight-byte PNG signature is enough to make a file look like an image.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


FakeMirror = LocalServer  # the `mirror` fixture (tests/conftest.py)


@pytest.fixture
def closed_port() -> int:
    """A port that was bound and closed, so connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """Build a zip in memory; ``symlinks`` maps member names to link targets."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
        for name, link_target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, link_target)
    return buffer.getvalue()


def dataset_members(prefix: str = f"{NAME}/", splits: tuple[str, ...] = catalog.SPLITS) -> dict[str, bytes]:
    """Two tiny images per split folder under ``prefix``."""
    return {f"{prefix}{split}/{i}.png": PNG + split.encode() for split in splits for i in range(2)}


def serve_dataset(mirror: FakeMirror, data: bytes) -> list[str]:
    """Serve ``data`` as the dataset archive; return the mirrors list to pass."""
    mirror.files[f"/ds/{NAME}.zip"] = data
    return [mirror.url("/ds")]


def assert_installed(root: Path) -> None:
    """The dataset sits at root/NAME with its images, and nothing else is left in root."""
    assert sorted(os.listdir(root)) == [NAME]
    for split in catalog.SPLITS:
        assert (root / NAME / split / "0.png").read_bytes() == PNG + split.encode()


def assert_nothing_installed(root: Path) -> None:
    """Neither the dataset, the archive nor a temporary folder remains in root."""
    assert not root.exists() or os.listdir(root) == []


# ---------------------------------------------------------------------------
# download_dataset
# ---------------------------------------------------------------------------


def test_dataset_success(mirror: FakeMirror, tmp_path: Path) -> None:
    mirrors = serve_dataset(mirror, make_zip(dataset_members()))
    path = download_dataset(NAME, tmp_path / "data", mirrors, progress=False)
    assert path == tmp_path / "data" / NAME
    assert_installed(tmp_path / "data")
    assert mirror.paths() == [f"/ds/{NAME}.zip"]


def test_dataset_keep_archive(mirror: FakeMirror, tmp_path: Path) -> None:
    archive = make_zip(dataset_members())
    download_dataset(NAME, tmp_path, serve_dataset(mirror, archive), progress=False, keep_archive=True)
    assert (tmp_path / f"{NAME}.zip").read_bytes() == archive
    assert sorted(os.listdir(tmp_path)) == [NAME, f"{NAME}.zip"]


def test_splits_at_zip_root_are_accepted(mirror: FakeMirror, tmp_path: Path) -> None:
    mirrors = serve_dataset(mirror, make_zip(dataset_members(prefix="")))
    download_dataset(NAME, tmp_path, mirrors, progress=False)
    assert_installed(tmp_path)


def test_resume_after_cut_connection(mirror: FakeMirror, tmp_path: Path) -> None:
    archive = make_zip(dataset_members())
    mirrors = serve_dataset(mirror, archive)
    cut = len(archive) // 2
    mirror.cut_after[f"/ds/{NAME}.zip"] = cut
    download_dataset(NAME, tmp_path, mirrors, progress=False, keep_archive=True)
    assert mirror.requests == [(f"/ds/{NAME}.zip", None), (f"/ds/{NAME}.zip", f"bytes={cut}-")]
    assert (tmp_path / f"{NAME}.zip").read_bytes() == archive
    assert sorted(os.listdir(tmp_path)) == [NAME, f"{NAME}.zip"]


def test_404_falls_through_to_next_mirror(mirror: FakeMirror, tmp_path: Path) -> None:
    mirrors = [mirror.url("/missing"), *serve_dataset(mirror, make_zip(dataset_members()))]
    download_dataset(NAME, tmp_path, mirrors, progress=False)
    assert mirror.paths() == [f"/missing/{NAME}.zip", f"/ds/{NAME}.zip"]
    assert_installed(tmp_path)


def test_refused_connection_falls_through(mirror: FakeMirror, tmp_path: Path, closed_port: int) -> None:
    mirrors = [f"http://127.0.0.1:{closed_port}/ds", *serve_dataset(mirror, make_zip(dataset_members()))]
    download_dataset(NAME, tmp_path, mirrors, progress=False)
    assert_installed(tmp_path)


def test_every_mirror_failing(mirror: FakeMirror, tmp_path: Path, closed_port: int) -> None:
    mirrors = [mirror.url("/gone"), f"http://127.0.0.1:{closed_port}/ds"]
    with pytest.raises(DownloadError) as caught:
        download_dataset(NAME, tmp_path, mirrors, progress=False)
    message = str(caught.value)
    assert f"{mirror.url('/gone')}/{NAME}.zip: HTTP 404" in message
    assert f"http://127.0.0.1:{closed_port}/ds/{NAME}.zip" in message
    assert f"huggan/{NAME}" in message and "suyashdamle/cyclegan" in message
    assert "--mirror" in message
    assert_nothing_installed(tmp_path)


def test_corrupt_archive(mirror: FakeMirror, tmp_path: Path) -> None:
    mirrors = serve_dataset(mirror, b"<html>this is not a zip</html>")
    with pytest.raises(DownloadError, match="not a zip archive") as caught:
        download_dataset(NAME, tmp_path, mirrors, progress=False)
    assert "removed" in str(caught.value) and mirrors[0] in str(caught.value)
    assert_nothing_installed(tmp_path)


def test_path_traversal_member_refused(mirror: FakeMirror, tmp_path: Path) -> None:
    root = tmp_path / "root"
    members = {**dataset_members(), "../evil.txt": b"gotcha", f"{NAME}/../../evil2.txt": b"gotcha"}
    mirrors = serve_dataset(mirror, make_zip(members))
    with pytest.raises(DownloadError, match="outside"):
        download_dataset(NAME, root, mirrors, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["root"]
    assert_nothing_installed(root)


def test_absolute_member_refused(mirror: FakeMirror, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    mirrors = serve_dataset(mirror, make_zip({**dataset_members(), str(outside): b"gotcha"}))
    with pytest.raises(DownloadError, match="outside"):
        download_dataset(NAME, tmp_path / "root", mirrors, progress=False)
    assert not outside.exists()
    assert_nothing_installed(tmp_path / "root")


def test_symlink_member_refused(mirror: FakeMirror, tmp_path: Path) -> None:
    archive = make_zip(dataset_members(), symlinks={f"{NAME}/trainA/link.png": "/etc/passwd"})
    with pytest.raises(DownloadError, match="symbolic link"):
        download_dataset(NAME, tmp_path, serve_dataset(mirror, archive), progress=False)
    assert_nothing_installed(tmp_path)


def test_missing_split_named(mirror: FakeMirror, tmp_path: Path) -> None:
    archive = make_zip(dataset_members(splits=("trainA", "trainB", "testA")))
    with pytest.raises(DownloadError, match="testB"):
        download_dataset(NAME, tmp_path, serve_dataset(mirror, archive), progress=False)
    assert_nothing_installed(tmp_path)


def test_present_dataset_needs_no_network(tmp_path: Path, closed_port: int) -> None:
    for split in catalog.SPLITS:
        (tmp_path / NAME / split).mkdir(parents=True)
        (tmp_path / NAME / split / "a.png").write_bytes(PNG)
    path = download_dataset(NAME, tmp_path, [f"http://127.0.0.1:{closed_port}/ds"], progress=False)
    assert path == tmp_path / NAME


def test_incomplete_existing_folder_is_left_alone(mirror: FakeMirror, tmp_path: Path) -> None:
    (tmp_path / NAME / "trainA").mkdir(parents=True)
    (tmp_path / NAME / "trainA" / "mine.png").write_bytes(PNG)
    mirrors = serve_dataset(mirror, make_zip(dataset_members()))
    with pytest.raises(DownloadError, match="move it away"):
        download_dataset(NAME, tmp_path, mirrors, progress=False)
    assert os.listdir(tmp_path / NAME) == ["trainA"]
    assert mirror.requests == []


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="horse2zebra"):
        download_dataset("horse2dragon")


def test_cityscapes_gives_instructions(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailable) as caught:
        download_dataset("cityscapes", tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, DownloadError)
    for needle in ("cityscapes-dataset.com", "gtFine_trainvaltest.zip", "leftImg8bit_trainvaltest.zip",
                   "prepare_cityscapes_dataset.py"):
        assert needle in message
    assert os.listdir(tmp_path) == []


def test_table_matches_paper_counts() -> None:
    info = catalog.DATASETS["horse2zebra"]
    assert info.counts == {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140}
    assert catalog.DATASETS["maps"].paired and not info.paired


# ---------------------------------------------------------------------------
# download_file
# ---------------------------------------------------------------------------


def test_sha256_mismatch_warns_and_keeps_file(mirror: FakeMirror, tmp_path: Path) -> None:
    mirror.files["/f.bin"] = b"payload"
    with pytest.warns(UserWarning, match="SHA-256"):
        path = download_file([mirror.url("/f.bin")], tmp_path / "f.bin", sha256="0" * 64, progress=False)
    assert path.read_bytes() == b"payload"


def test_sha256_match_is_silent(mirror: FakeMirror, tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    mirror.files["/f.bin"] = b"payload"
    digest = hashlib.sha256(b"payload").hexdigest()
    download_file([mirror.url("/f.bin")], tmp_path / "f.bin", sha256=digest, progress=False)
    assert len(recwarn) == 0


def test_existing_part_is_resumed(mirror: FakeMirror, tmp_path: Path) -> None:
    mirror.files["/f.bin"] = bytes(range(200))
    (tmp_path / "f.bin.part").write_bytes(bytes(range(50)))
    download_file([mirror.url("/f.bin")], tmp_path / "f.bin", progress=False)
    assert mirror.requests == [("/f.bin", "bytes=50-")]
    assert (tmp_path / "f.bin").read_bytes() == bytes(range(200))
    assert not (tmp_path / "f.bin.part").exists()


def test_range_ignored_starts_over(mirror: FakeMirror, tmp_path: Path) -> None:
    mirror.files["/f.bin"] = bytes(range(200))
    mirror.ignore_range.add("/f.bin")
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes")
    download_file([mirror.url("/f.bin")], tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin").read_bytes() == bytes(range(200))


def test_complete_part_with_416_is_accepted(mirror: FakeMirror, tmp_path: Path) -> None:
    mirror.files["/f.bin"] = b"all of it"
    (tmp_path / "f.bin.part").write_bytes(b"all of it")
    download_file([mirror.url("/f.bin")], tmp_path / "f.bin", progress=False)
    assert mirror.requests == [("/f.bin", "bytes=9-")]
    assert (tmp_path / "f.bin").read_bytes() == b"all of it"


def test_expected_size_mismatch_fails(mirror: FakeMirror, tmp_path: Path) -> None:
    mirror.files["/f.bin"] = b"12345"
    with pytest.raises(DownloadError, match="expected 6"):
        download_file([mirror.url("/f.bin")], tmp_path / "f.bin", expected_size=6, progress=False)
    assert os.listdir(tmp_path) == []


def test_repeated_cuts_move_on_and_keep_part(mirror: FakeMirror, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(downloads, "MAX_ATTEMPTS", 1)
    mirror.files["/f.bin"] = bytes(100)
    mirror.cut_after["/f.bin"] = 40
    with pytest.raises(DownloadError, match="cut") as caught:
        download_file([mirror.url("/f.bin")], tmp_path / "f.bin", progress=False)
    assert "kept and resumed" in str(caught.value)
    assert (tmp_path / "f.bin.part").read_bytes() == bytes(40)
    assert not (tmp_path / "f.bin").exists()


def test_non_http_mirror_rejected_before_any_request(mirror: FakeMirror, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="notaurl"):
        download_file([mirror.url("/f.bin"), "notaurl/f.bin"], tmp_path / "f.bin", progress=False)
    assert mirror.requests == []


def test_timeout_moves_to_next_url(mirror: FakeMirror, tmp_path: Path) -> None:
    mirror.files["/f.bin"] = b"ok"
    with socket.socket() as silent:  # accepts connections but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        slow = f"http://127.0.0.1:{silent.getsockname()[1]}/f.bin"
        download_file([slow, mirror.url("/f.bin")], tmp_path / "f.bin", progress=False, timeout=0.3)
    assert (tmp_path / "f.bin").read_bytes() == b"ok"


# ---------------------------------------------------------------------------
# download_pretrained
# ---------------------------------------------------------------------------


def test_pretrained_download_and_reuse(mirror: FakeMirror, tmp_path: Path, monkeypatch) -> None:
    # A downloaded .pth must load as a dict of tensors; this small one is not of the real size, so that check is off.
    monkeypatch.setitem(catalog.PRETRAINED_FILES, "style_monet", catalog.FileFacts())
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(2)}, buffer)
    weights = buffer.getvalue()
    mirror.files["/models/style_monet.pth"] = weights
    mirrors = [mirror.url("/nothing"), mirror.url("/models")]
    path = download_pretrained("style_monet", tmp_path, mirrors, progress=False)
    assert path == tmp_path / "style_monet.pth" and path.read_bytes() == weights
    assert download_pretrained("style_monet", tmp_path, mirrors, progress=False) == path
    assert mirror.paths() == ["/nothing/style_monet.pth", "/models/style_monet.pth"]


def test_unknown_pretrained() -> None:
    with pytest.raises(ValueError, match="style_monet"):
        download_pretrained("style_picasso")


# ---------------------------------------------------------------------------
# Scripts
# ---------------------------------------------------------------------------


def run_script(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a data script with this interpreter."""
    command = [sys.executable, str(REPO / "data_scripts" / script), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_dataset_script_failure(mirror: FakeMirror, tmp_path: Path) -> None:
    result = run_script("download_cyclegan_dataset.py", NAME, "--root", str(tmp_path / "data"),
                        "--mirror", mirror.url("/none"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"cyclegan-edu: error: could not download {NAME}.zip")
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
    assert f"{mirror.url('/none')}/{NAME}.zip: HTTP 404" in result.stderr
    assert result.stdout == ""


def test_dataset_script_success(mirror: FakeMirror, tmp_path: Path) -> None:
    serve_dataset(mirror, make_zip(dataset_members()))
    result = run_script("download_cyclegan_dataset.py", NAME, "--root", str(tmp_path / "data"),
                        "--mirror", mirror.url("/none"), "--mirror", mirror.url("/ds"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "data" / NAME)
    assert_installed(tmp_path / "data")


def test_pretrained_script_failure(mirror: FakeMirror, tmp_path: Path) -> None:
    result = run_script("download_pretrained.py", "horse2zebra", "--root", str(tmp_path),
                        "--mirror", mirror.url("/none"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("cyclegan-edu: error: could not download horse2zebra.pth")
    assert "Traceback" not in result.stderr


def test_dataset_script_list(tmp_path: Path) -> None:
    result = run_script("download_cyclegan_dataset.py", "--list", cwd=tmp_path)
    assert result.returncode == 0
    assert "horse2zebra" in result.stdout and "1334" in result.stdout

"""Shared fixtures: one embedded toy dataset per test session, in a private cache folder; a local HTTP server."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from local_server import LocalServer, serving

from cyclegan_edu.data.toy_horse2zebra import toy_dataset_root


@pytest.fixture(scope="session")
def toy_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    toy_dataset_root(size=64, cache_dir=cache)
    return cache


@pytest.fixture
def toy_env(toy_cache, monkeypatch) -> Path:
    """Point the package (and subprocesses) at the session's toy dataset cache."""
    monkeypatch.setenv("CYCLEGAN_EDU_CACHE", str(toy_cache))
    return toy_cache


@pytest.fixture
def mirror() -> Iterator[LocalServer]:
    """An HTTP server on 127.0.0.1 serving in-memory files (tests/local_server.py), shut down after the test."""
    with serving() as state:
        yield state


@pytest.fixture
def server(mirror: LocalServer) -> LocalServer:
    """The same server, under the name the download-safety tests use."""
    return mirror

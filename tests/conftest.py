"""Shared fixtures: one embedded toy dataset per test session, in a private cache folder."""

from pathlib import Path

import pytest

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

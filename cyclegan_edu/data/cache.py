"""Where the package keeps what it builds or downloads once: the toy datasets and the FID weights."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV_VAR = "CYCLEGAN_EDU_CACHE"


def cache_dir() -> Path:
    """`$CYCLEGAN_EDU_CACHE` if set, else `~/.cache/cyclegan_edu`."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cyclegan_edu"


def weights_dir() -> Path:
    """Downloaded network weights (the Inception-v3 features of FID/KID)."""
    return cache_dir() / "weights"

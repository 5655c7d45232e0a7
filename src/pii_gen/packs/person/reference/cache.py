"""The prepared reference data kept on disk between runs, so a process starts without preparing it again.

Preparing the samplers from ``data/`` takes one to two seconds in every process (the main one and each
worker); reading them back takes a hundredth of that.  The cache file's name is a digest of everything the
prepared data depends on (the reference tables' bytes, pii_gen's code and version, Python's, numpy's and
pyarrow's versions), so a change to any of them prepares the data anew, and output never depends
on whether the cache was used.

The folder is ``PII_GEN_CACHE`` when set (``off`` turns the cache off), else ``$XDG_CACHE_HOME/pii_gen`` or
``~/.cache/pii_gen``.  The file is a pickle, so it is read only when this user owns it and nobody else can
write it or its folder; anything wrong with it (unreadable, truncated, another owner) means preparing the
data again, never an error.  A folder that cannot be written leaves the run uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import platform
import stat
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import pyarrow as pa

from .tables import data_dir

CACHE_VAR = "PII_GEN_CACHE"
PREFIX = "reference-"
T = TypeVar("T")


def cache_dir() -> Path | None:
    """Where the prepared reference data is kept, or None when the cache is off."""
    chosen = os.environ.get(CACHE_VAR)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "false", "no") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pii_gen"


def digest() -> str:
    """A digest of everything the prepared data depends on."""
    from .... import __version__

    h = hashlib.sha256()
    for part in (__version__, platform.python_version(), np.__version__, pa.__version__):
        h.update(part.encode() + b"\0")
    package = Path(__file__).resolve().parents[3]  # all of pii_gen's code: the samplers use core's kernels too
    sources = sorted(package.rglob("*.py")) + sorted(data_dir().glob("*.parquet"))
    for path in sources:
        h.update(path.name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:32]


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else (so nobody else can have put a pickle there)."""
    info = path.stat()
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def cached(build: Callable[[], T]) -> T:
    """What ``build`` returns, read from the cache when it holds it for this digest, else built and stored."""
    folder = cache_dir()
    if folder is None:
        return build()
    path = folder / f"{PREFIX}{digest()}.pickle"
    with contextlib.suppress(Exception):  # anything wrong with the cache: prepare the data again
        if _private(folder) and _private(path):
            with open(path, "rb") as f:
                return pickle.load(f)  # noqa: S301 - a file only this user can have written
    value = build()
    _store(folder, path, value)
    return value


def _store(folder: Path, path: Path, value: object) -> None:
    """Write ``value`` to ``path`` whole (a temporary file renamed over it) and drop older digests' files."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return
        fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        for old in folder.glob(f"{PREFIX}*.pickle"):
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()
    except (OSError, pickle.PicklingError):
        return

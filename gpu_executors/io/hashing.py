"""The one file hasher: SHA-256 in bounded memory (``hashlib.file_digest``), and short digests."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, streamed, so a large history never sits in memory whole."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def json_digest(obj: object, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``obj`` as key-sorted JSON."""
    text = json.dumps(obj, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def index_digest(idx: np.ndarray, length: int = 16) -> str:
    """A fingerprint of a row-index set (as int64 bytes, in the given order)."""
    return hashlib.sha256(np.asarray(idx, np.int64).tobytes()).hexdigest()[:length]

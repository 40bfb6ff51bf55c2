"""Where artefacts live, and the one way they are written: temp file, fsync, rename.

A failed or killed run therefore never leaves a half-written file where the previous good one
was; readers see either the old artefact or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import polars as pl


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temp file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class ArtefactStore(dg.ConfigurableResource):
    """The artefact root: parquet tables, JSON configs, native model files."""

    root: str = "artefacts"

    def path(self, *parts: str) -> Path:
        return Path(self.root).joinpath(*parts)

    def write_parquet(self, df: pl.DataFrame, *parts: str) -> Path:
        return atomic_write(self.path(*parts), lambda tmp: df.write_parquet(tmp))

    def read_parquet(self, *parts: str) -> pl.DataFrame:
        return pl.read_parquet(self.path(*parts))

    def write_json(self, obj: object, *parts: str) -> Path:
        def write(tmp: Path) -> None:
            tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")

        return atomic_write(self.path(*parts), write)

    def read_json(self, *parts: str) -> object:
        return json.loads(self.path(*parts).read_text(encoding="utf-8"))

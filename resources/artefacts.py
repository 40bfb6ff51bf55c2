"""Where artefacts live; they are written through ``gpu_executors.io.atomic`` (temp, fsync, rename).

A failed or killed run therefore never leaves a half-written file where the previous good one
was; readers see either the old artefact or the new one.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl

from gpu_executors.io.atomic import atomic_write, atomic_write_json


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
        return atomic_write_json(self.path(*parts), obj)

    def read_json(self, *parts: str) -> object:
        return json.loads(self.path(*parts).read_text(encoding="utf-8"))

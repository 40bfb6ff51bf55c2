"""Where artefacts live; they are written through ``gpu_executors.io.atomic`` (temp, fsync, rename).

A failed or killed run therefore never leaves a half-written file where the previous good one
was; readers see either the old artefact or the new one. Each case keeps its artefacts in a folder
of its own (``case``), so one case's runs never read or replace another's files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, TypeVar

import dagster as dg
import polars as pl

from gpu_executors.io.atomic import atomic_write, atomic_write_json


class Record(Protocol):
    """A typed record stored as JSON: ``to_dict`` writes it, ``from_dict`` reads it back."""

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any: ...


R = TypeVar("R", bound=Record)


class ArtefactStore(dg.ConfigurableResource):
    """The artefact root: parquet tables, JSON configs, native model files."""

    root: str = "artefacts"

    def case(self, name: str) -> ArtefactStore:
        """The store of one case: ``ROOT/cases/NAME``."""
        if not name or name in {".", ".."} or "/" in name or "\\" in name:
            raise ValueError(f"case name {name!r} cannot name a folder")
        return ArtefactStore(root=str(Path(self.root) / "cases" / name))

    def path(self, *parts: str) -> Path:
        return Path(self.root).joinpath(*parts)

    def write_parquet(self, df: pl.DataFrame, *parts: str) -> Path:
        return atomic_write(self.path(*parts), lambda tmp: df.write_parquet(tmp))

    def read_parquet(self, *parts: str) -> pl.DataFrame:
        return pl.read_parquet(self.path(*parts))

    def write_json(self, obj: object, *parts: str) -> Path:
        return atomic_write_json(self.path(*parts), obj)

    def read_json(self, *parts: str) -> Any:
        return json.loads(self.path(*parts).read_text(encoding="utf-8"))

    def write_record(self, record: Record, *parts: str) -> Path:
        return self.write_json(record.to_dict(), *parts)

    def read_record(self, cls: type[R], *parts: str) -> R:
        return cls.from_dict(self.read_json(*parts))

    def exists(self, *parts: str) -> bool:
        return self.path(*parts).exists()

    def names(self, *parts: str, pattern: str = "*") -> list[str]:
        """Names of the artefacts in a folder that match ``pattern``, sorted (none if absent).

        Dot-prefixed names are skipped: they are temp files a killed writer left behind."""
        return sorted(p.name for p in self.path(*parts).glob(pattern)
                      if not p.name.startswith("."))

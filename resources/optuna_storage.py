"""Where Optuna studies live: a SQLite file under the artefact root, or a shared RDB URL.

A study is resumed by name (``load_if_exists``), so a re-run continues rather than starting
over, and two workers on the same URL share one study. The sampler seed is explicit and
recorded by the caller: no hidden ``random.seed(42)``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import optuna


class OptunaStorage(dg.ConfigurableResource):
    """An Optuna RDB storage: ``url`` when scaled out, else ``<root>/optuna.db`` (SQLite)."""

    url: str | None = None
    root: str = "artefacts"

    def storage_url(self) -> str:
        if self.url:
            return self.url
        path = Path(self.root) / "optuna" / "studies.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path.resolve()}"

    def storage(self) -> optuna.storages.BaseStorage | str:
        """The URL, except for SQLite: write-ahead logging without an fsync per commit (Optuna
        commits once per parameter; a 100-trial search spent seconds in fsync). A crash of the
        process loses nothing; a power cut may lose the last trials, as the README says."""
        url = self.storage_url()
        if not url.startswith("sqlite:///"):
            return url
        path = url.removeprefix("sqlite:///")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn

        return optuna.storages.RDBStorage(url, engine_kwargs={"creator": connect})

    def study(self, name: str, direction: str, sampler_seed: int) -> optuna.Study:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return optuna.create_study(
            study_name=name,
            storage=self.storage(),
            direction=direction,
            sampler=optuna.samplers.TPESampler(seed=sampler_seed),
            load_if_exists=True,
        )

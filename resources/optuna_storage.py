"""Where Optuna studies live: a SQLite file under the artefact root, or a shared RDB URL.

A study is resumed by name (``load_if_exists``), so a re-run continues rather than starting
over, and two workers on the same URL share one study. The sampler seed is explicit and
recorded by the caller: no hidden ``random.seed(42)``.
"""

from __future__ import annotations

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

    def study(self, name: str, direction: str, sampler_seed: int) -> optuna.Study:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return optuna.create_study(
            study_name=name,
            storage=self.storage_url(),
            direction=direction,
            sampler=optuna.samplers.TPESampler(seed=sampler_seed),
            load_if_exists=True,
        )

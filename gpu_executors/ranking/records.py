"""The stored record of the scorer search (``optimal_scorer_config/config.json``).

``ScorerRecord`` is the one reader (``from_dict``) and the one writer (``to_dict``) of that file;
``to_dict`` gives every field, and a file written before ``status`` and ``reason`` existed reads
as a search that ran (``status`` "ok"). A pool too small to rank gives a *skipped* record
(``ScorerRecord.skipped``): no trial ran, the default scorer configuration stands so that the
feature matrix can still compute every survivor's evidence, and ``reason`` says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gpu_executors.ranking.schema import ScorerConfig


@dataclass(frozen=True)
class ScorerRecord:
    """The search (every trial, the best one), its validation on unseen rows, and its inputs."""

    # The search, as ``scorer.summarise`` reports it.
    trials_requested: int
    trials_completed: int
    trials_failed: int
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    best_user_attrs: dict[str, Any]
    distinct_values: int
    value_spread: float
    distinct_samples: int
    trials: list[dict[str, Any]]
    # What was searched and the configuration it chose.
    objective: str
    target: str
    searched: list[str]
    scorer_config: ScorerConfig
    network: dict[str, Any]
    # Validation on survivors no trial saw.
    validated_rho: float
    validated_p_value: float
    validated_rows: int
    validated_significant: bool
    # How the search was run, and on what.
    sample_size: int
    search_rows: int
    pool_coverage: float
    sampler_seed: int
    study_name: str
    warm_started: bool
    search_seconds: float
    inputs: dict[str, str]
    # "ok": the search ran; "skipped": the pool was too small to search on (``reason``).
    status: str = "ok"
    reason: str | None = None

    @classmethod
    def skipped(
        cls,
        reason: str,
        *,
        objective: str,
        target: str,
        searched: list[str],
        sample_size: int,
        pool_rows: int,
        sampler_seed: int,
        inputs: dict[str, str],
    ) -> ScorerRecord:
        """No search: the default configuration, no trial, "no ranking" scores (rho -1, p 1)."""
        return cls(
            trials_requested=0,
            trials_completed=0,
            trials_failed=0,
            best_trial=-1,
            best_value=-1.0,
            best_params={},
            best_user_attrs={},
            distinct_values=0,
            value_spread=0.0,
            distinct_samples=0,
            trials=[],
            objective=objective,
            target=target,
            searched=list(searched),
            scorer_config=ScorerConfig(),
            network={},
            validated_rho=-1.0,
            validated_p_value=1.0,
            validated_rows=0,
            validated_significant=False,
            sample_size=sample_size,
            search_rows=pool_rows,
            pool_coverage=0.0,
            sampler_seed=sampler_seed,
            study_name="",
            warm_started=False,
            search_seconds=0.0,
            inputs=dict(inputs),
            status="skipped",
            reason=reason,
        )

    @property
    def is_skipped(self) -> bool:
        return self.status == "skipped"

    @property
    def scorer_digest(self) -> str:
        return self.scorer_config.digest()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scorer_config"] = self.scorer_config.to_dict()
        out["scorer_digest"] = self.scorer_digest
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScorerRecord:
        body = {k: v for k, v in d.items() if k != "scorer_digest"}
        return cls(**{**body, "scorer_config": ScorerConfig.from_dict(d["scorer_config"])})

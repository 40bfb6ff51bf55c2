"""The stored record of the scorer search (``optimal_scorer_config/config.json``).

``ScorerRecord`` is the one reader (``from_dict``) and the one writer (``to_dict``) of that file;
``to_dict`` gives exactly the keys it has always held, so stored artefacts do not change.
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

"""The stored records of the sieve: the settings it scanned with and the pool's figures.

Each record is the one reader (``from_dict``) and the one writer (``to_dict``) of its JSON file
(``sieve_settings/settings.json``, ``survivor_pool/stats.json``); a key added later is read with
its default from an older file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gpu_executors.sieve.settings import SieveSettings


@dataclass(frozen=True)
class SettingsSearch:
    """How the window optimiser chose the settings (absent when they were given directly)."""

    study_name: str
    trials_requested: int
    trials_completed: int
    best_trial: int
    best_evidence: float
    best_params: dict[str, Any]
    sample_blocks: list[str]
    trials: list[dict[str, Any]]
    # Written since the optimiser prunes and warm-starts (older records lack them).
    trials_pruned: int = 0
    search_key: str = ""  # the study's trials of this search carry it (a resumed study)
    warm_started: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"study_name": self.study_name, "trials_requested": self.trials_requested,
                "trials_completed": self.trials_completed, "trials_pruned": self.trials_pruned,
                "best_trial": self.best_trial, "best_evidence": self.best_evidence,
                "best_params": self.best_params, "sample_blocks": self.sample_blocks,
                "trials": self.trials, "search_key": self.search_key,
                "warm_started": self.warm_started}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SettingsSearch:
        return cls(study_name=d["study_name"], trials_requested=d["trials_requested"],
                   trials_completed=d["trials_completed"], best_trial=d["best_trial"],
                   best_evidence=d["best_evidence"], best_params=d["best_params"],
                   sample_blocks=d["sample_blocks"], trials=d["trials"],
                   trials_pruned=d.get("trials_pruned", 0), search_key=d.get("search_key", ""),
                   warm_started=d.get("warm_started", False))


@dataclass(frozen=True)
class SieveSettingsRecord:
    """``sieve_settings/settings.json``: the settings every seed block is scanned with."""

    settings: SieveSettings
    searched: bool
    sampler_seed: int
    draws_sha256: str
    seed_blocks: str
    search: SettingsSearch | None = None
    identification: dict[str, Any] | None = None  # ``Identification.to_dict()`` when chosen

    @property
    def digest(self) -> str:
        return self.settings.digest()

    @property
    def best_params(self) -> dict[str, Any]:
        """The searched parameters the optimiser chose (none when nothing was searched)."""
        return self.search.best_params if self.search else {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"searched": self.searched, "sampler_seed": self.sampler_seed,
                               "draws_sha256": self.draws_sha256, "seed_blocks": self.seed_blocks}
        if self.search is not None:
            out.update(self.search.to_dict())
        if self.identification is not None:
            out["identification"] = self.identification
        out.update(settings=self.settings.to_dict(), digest=self.digest)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SieveSettingsRecord:
        return cls(settings=SieveSettings.from_dict(d["settings"]), searched=d["searched"],
                   sampler_seed=d["sampler_seed"], draws_sha256=d["draws_sha256"],
                   seed_blocks=d["seed_blocks"],
                   search=SettingsSearch.from_dict(d) if "study_name" in d else None,
                   identification=d.get("identification"))


@dataclass(frozen=True)
class PoolStats:
    """``survivor_pool/stats.json``: coverage, survivors against the null, GPU re-verification."""

    survivors: int
    candidates_scanned: int
    partitions_expected: int
    partitions_covered: int
    partitions_missing: int
    null_expected: float
    excess_over_null: float
    p_value: float
    tiers: list[dict[str, Any]]
    best_tier: dict[str, Any] | None
    tier_p_value: float
    significant: bool
    digest: str
    settings: SieveSettings
    backends: list[str] = field(default_factory=list)
    gpu_false_positives: int = 0
    gpu_unverified: int = 0

    @classmethod
    def build(cls, figures: dict[str, Any], settings: SieveSettings,
              block_stats: Sequence[dict[str, Any]]) -> PoolStats:
        """The pool's figures (``pool_stats``) with what the blocks report about their devices."""
        return cls(**figures, digest=settings.digest(), settings=settings,
                   backends=sorted({s["backend"] for s in block_stats}),
                   gpu_false_positives=sum(s.get("gpu_false_positives", 0) for s in block_stats),
                   gpu_unverified=sum(1 for s in block_stats
                                      if s["backend"].startswith("triton")
                                      and not s.get("reverified_on_cpu")))

    def to_dict(self) -> dict[str, Any]:
        return {"survivors": self.survivors, "candidates_scanned": self.candidates_scanned,
                "partitions_expected": self.partitions_expected,
                "partitions_covered": self.partitions_covered,
                "partitions_missing": self.partitions_missing,
                "null_expected": self.null_expected, "excess_over_null": self.excess_over_null,
                "p_value": self.p_value, "tiers": self.tiers, "best_tier": self.best_tier,
                "tier_p_value": self.tier_p_value, "significant": self.significant,
                "digest": self.digest, "settings": self.settings.to_dict(),
                "backends": self.backends, "gpu_false_positives": self.gpu_false_positives,
                "gpu_unverified": self.gpu_unverified}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolStats:
        return cls(**{**d, "settings": SieveSettings.from_dict(d["settings"])})

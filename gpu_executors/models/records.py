"""The stored sidecar of one model family (``models/<family>/sidecar.json``).

``ModelSidecar`` is the one reader (``from_dict``) and the one writer (``to_dict``) of that file;
``to_dict`` gives the fields that are set, so a sidecar written before ``fit_rows`` and
``train_loss`` existed still reads (the model checks then say what they cannot verify). A
skipped family's sidecar holds only ``family``, ``status`` and ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ModelSidecar:
    """A fitted family: where the model is, how it was tuned, and its scores on the test rows."""

    family: str
    status: str  # "ok" or "skipped"
    reason: str | None = None  # why a family was skipped
    model_path: str | None = None
    params: dict[str, Any] | None = None
    trainer_args: dict[str, Any] | None = None
    feature_schema_hash: str | None = None
    features: list[str] | None = None
    target: str | None = None
    matrix_scorer_digest: str | None = None
    cv_r2_mean: float | None = None
    cv_r2_sd: float | None = None
    test_r2: float | None = None
    test_shapes: dict[str, list[int]] | None = None
    prediction_std: float | None = None
    permutation_p_value: float | None = None
    split: dict[str, Any] | None = None
    confirmed_rows_excluded: int | None = None
    train_rows: list[int] | None = None
    test_rows: list[int] | None = None
    fit_rows: list[int] | None = None  # the refit's rows (train rows less its early-stopping ones)
    train_loss: float | None = None  # the net's loss on fit_rows with its final weights
    device: str | None = None
    fit_seconds: float | None = None
    search_seconds: float | None = None
    trials_requested: int | None = None
    trials_completed: int | None = None
    trials_failed: int | None = None
    trials_pruned: int | None = None
    budget: dict[str, Any] | None = None
    fold_workers: int | None = None
    threads_per_fit: int | None = None
    activation_stats: dict[str, Any] | None = None  # only when predictions were constant

    @classmethod
    def skipped(cls, family: str, reason: str) -> ModelSidecar:
        return cls(family=family, status="skipped", reason=reason)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The fields that apply: a skipped family has no scores, an ok one no reason."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSidecar:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown sidecar keys: {', '.join(unknown)}")
        return cls(**d)

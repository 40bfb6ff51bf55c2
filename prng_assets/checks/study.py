"""The scorer's trials as they stored themselves in their Optuna study: what ran, as opposed
to what the scorer record says ran. The checks compare the two."""

from __future__ import annotations

from dataclasses import dataclass, field

import optuna
from optuna.trial import FrozenTrial, TrialState

from resources.optuna_storage import OptunaStorage


@dataclass(frozen=True)
class BestTrial:
    number: int
    value: float
    params: dict = field(default_factory=dict)  # sampled, plus enqueued or fixed values


@dataclass(frozen=True)
class StudyTrials:
    values: dict[int, float]  # completed trials' objective values by trial number
    samples: dict[int, str]  # completed trials' sample fingerprints
    failed: int
    unfinished: int  # running, waiting or pruned
    best: BestTrial | None  # the first completed trial with the highest value


def _params(t: FrozenTrial) -> dict:
    return {**t.params, **t.user_attrs.get("params", {})}


def study_trials(storage: OptunaStorage, study_name: str) -> StudyTrials | None:
    """The study's trials, or None when the study is gone."""
    try:
        study = optuna.load_study(study_name=study_name, storage=storage.storage())
    except KeyError:
        return None
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    top = max(complete, key=lambda t: t.value, default=None)  # max() keeps the first on ties
    return StudyTrials(
        values={t.number: t.value for t in complete},
        samples={t.number: t.user_attrs.get("result", {}).get("sample_fingerprint", "")
                 for t in complete},
        failed=sum(t.state == TrialState.FAIL for t in trials),
        unfinished=sum(t.state not in (TrialState.COMPLETE, TrialState.FAIL) for t in trials),
        best=BestTrial(top.number, top.value, _params(top)) if top is not None else None,
    )

"""Optuna TPE search of one family's space, in this process, maximising mean CV R^2.

Written against the original system's failures: one interpreter per neural-net trial (3.4 s of
4 s was start-up), so the whole study runs here and each trial reports its overhead (time outside
the training epochs); failed trials vanished, so each is recorded with its error and counted.
The result is a :class:`SearchResult`; its ``to_dict()`` is what the model assets store.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gpu_executors.models.budget import FULL, Budget
from gpu_executors.models.cv import cross_validate, fold_workers
from gpu_executors.models.families import Family, get_family
from gpu_executors.models.validation import check_xy

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial, TrialState


@dataclass(frozen=True)
class TrialRecord:
    """One trial of this search call, as recorded in the study."""

    number: int
    state: TrialState
    params: dict[str, Any]
    value: float | None
    fold_scores: list[float] | None
    cv_sd: float | None
    seconds: float | None
    train_seconds: float | None
    overhead_seconds: float | None  # outside training, summed over folds (see search())
    fold_info: list[dict[str, Any]] | None
    error: str | None  # "Type: message" of a failed trial

    @classmethod
    def of(cls, t: FrozenTrial) -> TrialRecord:
        a = t.user_attrs
        return cls(
            t.number,
            t.state,
            dict(t.params),
            t.value,
            a.get("fold_scores"),
            a.get("cv_sd"),
            a.get("seconds"),
            a.get("train_seconds"),
            a.get("overhead_seconds"),
            a.get("fold_info"),
            a.get("error"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state.name,
            "params": self.params,
            "value": self.value,
            "fold_scores": self.fold_scores,
            "cv_sd": self.cv_sd,
            "seconds": self.seconds,
            "train_seconds": self.train_seconds,
            "overhead_seconds": self.overhead_seconds,
            "fold_info": self.fold_info,
            "error": self.error,
        }


@dataclass(frozen=True)
class SearchResult:
    """What one :func:`search` call found; the best fields cover the whole study's completed
    trials (None when it has none), ``trials`` this call's only."""

    family: Family
    study_name: str
    n_rows: int
    n_features: int
    folds: int
    seed: int
    budget: Budget
    device: str
    fold_workers: int
    threads_per_fit: int
    best_params: dict[str, Any] | None
    best_cv_mean: float | None
    best_cv_sd: float | None
    best_fold_scores: list[float] | None
    best_trial: int | None
    trials: list[TrialRecord]
    trials_requested: int
    seconds: float
    warmup_seconds: float  # one-off imports before the first trial (included in seconds)

    def _in(self, state: TrialState) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == state]

    @property
    def completed(self) -> list[TrialRecord]:
        from optuna.trial import TrialState

        return self._in(TrialState.COMPLETE)

    @property
    def failed(self) -> list[TrialRecord]:
        from optuna.trial import TrialState

        return self._in(TrialState.FAIL)

    @property
    def pruned(self) -> list[TrialRecord]:
        from optuna.trial import TrialState

        return self._in(TrialState.PRUNED)

    @property
    def trials_completed(self) -> int:
        return len(self.completed)

    @property
    def trials_failed(self) -> int:
        return len(self.failed)

    @property
    def trials_pruned(self) -> int:
        return len(self.pruned)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"number": t.number, "error": t.error} for t in self.failed]

    @property
    def overhead_seconds(self) -> list[float | None]:
        return [t.overhead_seconds for t in self.completed]

    @property
    def median_overhead_seconds(self) -> float | None:
        over = self.overhead_seconds
        return statistics.median(over) if over else None

    def to_dict(self) -> dict[str, Any]:
        """The keys (and order) the model assets have always stored."""
        return {
            "family": self.family.value,
            "study_name": self.study_name,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "folds": self.folds,
            "seed": self.seed,
            "budget": self.budget.as_dict(),
            "device": self.device,
            "fold_workers": self.fold_workers,
            "threads_per_fit": self.threads_per_fit,
            "best_params": self.best_params,
            "best_cv_mean": self.best_cv_mean,
            "best_cv_sd": self.best_cv_sd,
            "best_fold_scores": self.best_fold_scores,
            "best_trial": self.best_trial,
            "trials": [t.to_dict() for t in self.trials],
            "trials_requested": self.trials_requested,
            "trials_completed": self.trials_completed,
            "trials_failed": self.trials_failed,
            "trials_pruned": self.trials_pruned,
            "errors": self.errors,
            "seconds": self.seconds,
            "warmup_seconds": self.warmup_seconds,
            "train_seconds": float(sum(t.train_seconds for t in self.completed)),
            "overhead_seconds": self.overhead_seconds,
            "median_overhead_seconds": self.median_overhead_seconds,
        }


def make_study(
    seed: int = 0,
    storage: Any = None,
    study_name: str | None = None,
    load_if_exists: bool = False,
) -> optuna.Study:
    """A maximising study: seeded TPE sampler, median pruner (acts only under ``Budget.prune``).

    The pruner compares a trial's running fold mean with the median of earlier trials at the same
    fold, from the first fold on, once 3 trials have finished. Give ``storage``/``study_name`` to
    persist the study (e.g. an RDB URL).
    """
    import optuna

    return optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        study_name=study_name,
        direction="maximize",
        load_if_exists=load_if_exists,
    )


def search(
    family: str | Family,
    X: Any,
    y: Any,
    n_trials: int,
    folds: int = 5,
    seed: int = 0,
    study: optuna.Study | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    budget: Budget = FULL,
    device: str = "cpu",
    workers: int | None = None,
) -> SearchResult:
    """TPE search maximising mean CV R^2, in this process (folds in parallel threads, see
    ``cv.fold_workers``; trials one after another, so a seeded search is reproducible).

    ``study`` lets the caller supply storage and a name (see :func:`make_study`). A trial that
    raises is recorded as failed with its error (never silently dropped); pruned trials
    (``budget.prune``) are counted apart. ``progress`` gets one dict per finished trial.
    Per-trial ``overhead_seconds`` is everything outside training (the epochs, for the neural
    net): the trial's time outside its CV plus each fold's time outside its training loop, summed
    over folds even when they run side by side; one-off imports are paid first and reported as
    ``warmup_seconds`` (included in ``seconds``).
    """
    import optuna
    from optuna.trial import TrialState

    impl = get_family(family)
    X, y = check_xy(X, y)
    if int(n_trials) < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if study is None:
        study = make_study(seed)
    elif study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError("the study must maximise (mean CV R^2)")

    n_workers, n_threads = fold_workers(min(int(folds), X.shape[0] // 2) or 1, device, workers)
    mine: list[int] = []
    t_search = time.perf_counter()
    warmup_seconds = impl.warm_up()

    def objective(trial: optuna.Trial) -> float:
        t0 = time.perf_counter()
        mine.append(trial.number)

        def on_fold(i: int, score: float, scores: list[float]) -> None:
            trial.set_user_attr("fold_scores", scores)
            if budget.prune:
                trial.report(float(np.mean(scores)), step=i)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"running mean {np.mean(scores):.4f} after {i + 1}")

        try:
            params = impl.suggest(trial)
            cv = cross_validate(
                impl.name,
                params,
                X,
                y,
                folds,
                seed,
                budget=budget,
                on_fold=on_fold,
                device=device,
                workers=workers,
            )
        except optuna.TrialPruned:
            trial.set_user_attr("seconds", time.perf_counter() - t0)
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            trial.set_user_attr("seconds", time.perf_counter() - t0)
            raise
        seconds = time.perf_counter() - t0
        train = cv.train_seconds
        # Everything but training, summed over the folds even when they overlap in time: the
        # trial's own work outside the CV, plus each fold's time outside its training loop.
        overhead = (seconds - cv.seconds) + float(sum(cv.fold_seconds) - sum(train))
        trial.set_user_attr("fold_scores", cv.scores)
        trial.set_user_attr("cv_sd", cv.sd)
        trial.set_user_attr("seconds", seconds)
        trial.set_user_attr("train_seconds", float(sum(train)))
        trial.set_user_attr("overhead_seconds", overhead)
        trial.set_user_attr("fold_info", cv.fold_info)
        return cv.mean

    def callback(study_: optuna.Study, trial: FrozenTrial) -> None:
        if progress is None:
            return
        progress(
            {
                "family": str(impl.name),
                "number": trial.number,
                "state": trial.state.name,
                "value": trial.value,
                "seconds": trial.user_attrs.get("seconds"),
                "error": trial.user_attrs.get("error"),
                "done": len(mine),
                "requested": int(n_trials),
                "elapsed": time.perf_counter() - t_search,
            }
        )

    study.optimize(objective, n_trials=int(n_trials), catch=(Exception,), callbacks=[callback])
    seconds = time.perf_counter() - t_search

    mine_set = set(mine)
    trials = [TrialRecord.of(t) for t in study.get_trials(deepcopy=False) if t.number in mine_set]
    best_params = best_cv_mean = best_cv_sd = best_fold_scores = best_trial = None
    if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        bt = study.best_trial
        best_params = dict(bt.params)
        best_cv_mean = float(bt.value)
        best_cv_sd = bt.user_attrs.get("cv_sd")
        best_fold_scores = bt.user_attrs.get("fold_scores")
        best_trial = bt.number
    result = SearchResult(
        family=impl.name,
        study_name=study.study_name,
        n_rows=int(X.shape[0]),
        n_features=int(X.shape[1]),
        folds=int(folds),
        seed=int(seed),
        budget=budget,
        device=str(device),
        fold_workers=n_workers,
        threads_per_fit=n_threads,
        best_params=best_params,
        best_cv_mean=best_cv_mean,
        best_cv_sd=best_cv_sd,
        best_fold_scores=best_fold_scores,
        best_trial=best_trial,
        trials=trials,
        trials_requested=int(n_trials),
        seconds=seconds,
        warmup_seconds=warmup_seconds,
    )
    errors = result.errors
    if errors:
        warnings.warn(
            f"{impl.name}: {len(errors)} of {len(trials)} trials failed; first: "
            f"{errors[0]['error']}",
            RuntimeWarning,
            stacklevel=2,
        )
    return result

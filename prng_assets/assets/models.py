"""Steps 4-6: four tuned model families, an honest comparison, and gated predictions.

Each family searches its parameters by k-fold CV on the train rows, refits with the best ones
mapped explicitly to its trainer, and is scored once on the test rows carved out before any
search. A family that fails three times in a row is skipped until its registry entry expires.
"""

import hashlib
import json
import time

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field, model_validator

from gpu_executors.io.hashing import file_sha256
from gpu_executors.models.evaluation import (
    Split,
    backtest,
    confirmed,
    constant_models,
    family_wise_p,
    insane_r2,
    permutation_p_value,
    shape_mismatches,
    skipped,
    split_problems,
    update_registry,
)
from gpu_executors.models.regressors import (
    CAPPED,
    FAMILIES,
    Budget,
    build_params,
    fit,
    load_model,
    make_study,
    r2,
    save_model,
    search,
)
from gpu_executors.ranking.features import Candidates, predicted_draws
from gpu_executors.significance import FINDING_ALPHA, SIGNAL_ALPHA
from prng_assets.assets.ingest import DRAWS_TABLE
from prng_assets.assets.scoring import (
    MATRIX_RECORD,
    MATRIX_TABLE,
    feature_matrix,
    load_history,
)
from prng_assets.assets.sieve import AUTOMATION, POOL_STATS, POOL_TABLE
from prng_assets.plots import figure_metadata
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.optuna_storage import OptunaStorage

TARGET = "holdout_quality"
REGISTRY = ("models", "skip_registry.json")
COMPARISON = ("model_comparison", "comparison.json")
PREDICTIONS = ("predictions", "predictions.json")
OVERFIT_DROP = 0.2
LEAKAGE_R2 = 0.9


class ModelSearchConfig(dg.Config):
    """Run config of each ``model_<family>``; unknown keys are rejected by Dagster."""

    n_trials: int = Field(default=20, description="Optuna trials for this family.")
    folds: int = Field(default=5, description="k of the k-fold CV on the train rows.")
    seed: int = Field(default=0, description="Test split, CV folds and the TPE sampler.")
    full_fidelity: bool = Field(
        default=False, description="True: no compute caps (hours on 2 cores for big spaces).")
    fold_workers: int = Field(
        default=0, description="Folds fitted at once (0: one per CPU core, single-threaded "
                               "each; one at a time on a GPU).")

    def budget(self) -> Budget:
        """Deterministic caps (epochs as passes, histogram bins, tree early stopping, leaves per
        tree fit, median pruning) that keep the search within minutes on small machines; see
        the README."""
        if self.full_fidelity:
            return Budget()
        return CAPPED

    @model_validator(mode="after")
    def _check(self) -> "ModelSearchConfig":
        if self.n_trials < 1 or self.folds < 2 or self.fold_workers < 0:
            raise ValueError(f"need n_trials >= 1 (got {self.n_trials}), folds >= 2 "
                             f"(got {self.folds}) and fold_workers >= 0 "
                             f"(got {self.fold_workers})")
        return self


def load_matrix(artefacts: ArtefactStore) -> tuple[pl.DataFrame, list[str], dict]:
    record = artefacts.read_json(*MATRIX_RECORD)
    return artefacts.read_parquet(*MATRIX_TABLE), record["features"], record


def schema_hash(features: list[str]) -> str:
    return hashlib.sha256(json.dumps(features).encode()).hexdigest()[:16]


def _loss_plot(history: dict, family: str) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    for name, values in history.items():
        if values:
            ax.plot(values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled target)")
    ax.set_title(f"{family}: loss curves")
    ax.legend(loc="upper right")
    return figure_metadata(fig)


def _model_asset(family: str):
    @dg.asset(
        name=f"model_{family}",
        group_name="step5_models",
        deps=[feature_matrix],
        kinds={"pytorch" if family == "neural_net" else family, "optuna"},
        pool="gpu" if family == "neural_net" else None,
        automation_condition=AUTOMATION,
    )
    def _model(
        context: dg.AssetExecutionContext,
        config: ModelSearchConfig,
        artefacts: ArtefactStore,
        compute: ComputeResource,
        optuna_storage: OptunaStorage,
    ) -> dg.MaterializeResult:
        registry_path = artefacts.path(*REGISTRY)
        registry = artefacts.read_json(*REGISTRY) if registry_path.exists() else {}
        folder = ("models", family)
        reason = skipped(registry, family)
        if reason:
            sidecar = {"family": family, "status": "skipped", "reason": reason}
            artefacts.write_json(sidecar, *folder, "sidecar.json")
            context.log.warning(f"model_{family} skipped: {reason}")
            return dg.MaterializeResult(metadata={"status": "skipped", "reason": reason})
        matrix, features, record = load_matrix(artefacts)
        x = matrix.select(features).to_numpy().astype(np.float64)
        y = matrix[TARGET].to_numpy().astype(np.float64)
        # Candidates confirmed by train draws outside the sieve window need no model (they are
        # ranked first by their evidence); as training rows they would be extreme outliers.
        sure = confirmed(matrix["outside_window_evidence"].to_numpy(), matrix.height)
        try:
            split = Split.carve(np.flatnonzero(~sure), config.seed)
            device = compute.torch_device() if family == "neural_net" else "cpu"
            study = make_study(config.seed, optuna_storage.storage(),
                               f"model_{family}-{context.run.run_id}", load_if_exists=True)
            t0 = time.perf_counter()
            found = search(family, x[split.train], y[split.train], config.n_trials,
                           config.folds, config.seed, study=study,
                           progress=lambda msg: context.log.info(f"{family}: {msg}"),
                           budget=config.budget(), device=device,
                           workers=config.fold_workers or None)
            params = found["best_params"]
            # The refit early-stops as CV did: on 10% of the training rows, never the test.
            inner = np.random.default_rng([config.seed, 13]).permutation(split.train)
            n_val = max(2, len(inner) // 10)
            fit_rows, val_rows = np.sort(inner[n_val:]), np.sort(inner[:n_val])
            model = fit(family, params, x[fit_rows], y[fit_rows], seed=config.seed,
                        device=device, X_val=x[val_rows], y_val=y[val_rows],
                        budget=config.budget())
            pred = model.predict(x[split.test])
            y_test = y[split.test]
            test_r2 = r2(y_test, pred)
        except Exception as exc:  # recorded in the registry, then surfaced
            artefacts.write_json(update_registry(registry, family, False, repr(exc)), *REGISTRY)
            raise
        path = save_model(model, artefacts.path(*folder, "model"))
        artefacts.write_json(update_registry(registry, family, True), *REGISTRY)
        sidecar = {
            "family": family,
            "status": "ok",
            "model_path": str(path),
            "params": params,
            "trainer_args": build_params(family, params),
            "feature_schema_hash": schema_hash(features),
            "features": features,
            "target": TARGET,
            "matrix_scorer_digest": record["scorer_digest"],
            "cv_r2_mean": found["best_cv_mean"],
            "cv_r2_sd": found["best_cv_sd"],
            "test_r2": test_r2,
            "test_shapes": {"target": list(y_test.shape), "prediction": list(pred.shape)},
            "prediction_std": float(np.std(pred)),
            "permutation_p_value": permutation_p_value(y_test, pred, test_r2, seed=config.seed),
            "split": split.fingerprints(),
            "confirmed_rows_excluded": int(sure.sum()),
            "train_rows": split.train.tolist(),
            "test_rows": split.test.tolist(),
            "device": device,
            "fit_seconds": model.fit_seconds,
            "search_seconds": time.perf_counter() - t0,
            "trials_requested": found["trials_requested"],
            "trials_completed": found["trials_completed"],
            "trials_failed": found["trials_failed"],
            "trials_pruned": found.get("trials_pruned", 0),
            "budget": config.budget().as_dict(),
            "fold_workers": found["fold_workers"],
            "threads_per_fit": found["threads_per_fit"],
        }
        meta = {k: sidecar[k] for k in ("cv_r2_mean", "cv_r2_sd", "test_r2", "prediction_std",
                                        "permutation_p_value", "device", "fit_seconds",
                                        "trials_completed", "trials_failed",
                                        "feature_schema_hash")}
        meta["params"] = dg.MetadataValue.json(params)
        history = getattr(model, "history", None)
        if history:
            meta["loss_curves"] = _loss_plot(history, family)
        if sidecar["prediction_std"] < 1e-9 and hasattr(model, "activation_stats"):
            stats = model.activation_stats(x[split.test][:2000])
            sidecar["activation_stats"] = stats
            meta["activation_stats"] = dg.MetadataValue.json(stats)
            context.log.warning(f"{family}: predictions are constant; activation statistics "
                                "per layer are in the metadata")
        artefacts.write_json(sidecar, *folder, "sidecar.json")
        return dg.MaterializeResult(metadata=meta)

    return _model


MODEL_ASSETS = [_model_asset(f) for f in FAMILIES]


def sidecars(artefacts: ArtefactStore) -> dict[str, dict]:
    out = {}
    for family in FAMILIES:
        path = artefacts.path("models", family, "sidecar.json")
        if path.exists():
            out[family] = json.loads(path.read_text())
    return out


def _comparison_plot(rows: list[dict]) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    names = [r["family"] for r in rows]
    xs = np.arange(len(rows))
    ax.bar(xs - 0.2, [r["test_r2"] for r in rows], width=0.4, label="test R^2", color="#4b7bec")
    ax.bar(xs + 0.2, [r["cv_r2_mean"] for r in rows], width=0.4,
           yerr=[r["cv_r2_sd"] for r in rows], label="CV R^2 (mean, sd)", color="#a5b1c2")
    ax.axhline(0, color="black", linewidth=1)
    ax.set_xticks(xs, names)
    ax.set_ylabel("R^2")
    ax.set_title("model comparison (test split untouched by tuning)")
    ax.legend(loc="lower right", fontsize=7)
    return figure_metadata(fig)


@dg.asset(group_name="step5_models", deps=MODEL_ASSETS, kinds={"polars"},
          automation_condition=AUTOMATION)
def model_comparison(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """The four families side by side on the test split, and the winner."""
    cars = sidecars(artefacts)
    ok = [c for c in cars.values() if c["status"] == "ok"]
    if not ok:
        raise dg.Failure(description="model_comparison: no model family produced a model")
    rows = [{k: c[k] for k in ("family", "test_r2", "cv_r2_mean", "cv_r2_sd", "fit_seconds",
                               "prediction_std", "permutation_p_value")} for c in ok]
    rows.sort(key=lambda r: r["test_r2"], reverse=True)
    winner = rows[0]
    registry_path = artefacts.path(*REGISTRY)
    registry = artefacts.read_json(*REGISTRY) if registry_path.exists() else {}
    pool_stats = artefacts.read_json(*POOL_STATS)
    winner_p = family_wise_p(winner["permutation_p_value"], len(rows))
    record = {"rows": rows, "winner": winner["family"], "winner_test_r2": winner["test_r2"],
              "winner_permutation_p_value": winner_p,
              "winner_permutation_p_raw": winner["permutation_p_value"],
              "families_compared": len(rows),
              "not_compared": {f: c.get("reason", c["status"]) for f, c in cars.items()
                               if c["status"] != "ok"},
              "skip_registry": registry, "pool_significant": pool_stats["significant"]}
    artefacts.write_json(record, *COMPARISON)
    table = ["| family | test R^2 | CV R^2 | fit s | perm. p |", "|---|---|---|---|---|"]
    table += [f"| {r['family']} | {r['test_r2']:+.4f} | {r['cv_r2_mean']:+.4f} ± "
              f"{r['cv_r2_sd']:.4f} | {r['fit_seconds']:.2f} | {r['permutation_p_value']:.3g} |"
              for r in rows]
    return dg.MaterializeResult(metadata={
        "winner": winner["family"],
        "winner_test_r2": winner["test_r2"],
        "winner_permutation_p_value": winner_p,
        "winner_permutation_p_raw": winner["permutation_p_value"],
        "families_compared": len(rows),
        "table": dg.MetadataValue.md("\n".join(table)),
        "comparison_plot": _comparison_plot(rows),
        "skip_registry": dg.MetadataValue.json(registry),
        "not_compared": dg.MetadataValue.json(record["not_compared"]),
    })


def _ok_cars(artefacts: ArtefactStore) -> list[dict]:
    return [c for c in sidecars(artefacts).values() if c["status"] == "ok"]


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Every test R^2 is finite and at least -1.")
def models_r2_sane(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    bad = insane_r2(_ok_cars(artefacts))
    return dg.AssetCheckResult(passed=not bad, metadata={"insane": json.dumps(bad)})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Target and prediction shapes are equal for every family.")
def models_shapes_equal(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    bad = shape_mismatches(_ok_cars(artefacts))
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatched": ", ".join(bad) or "none"})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Predictions vary (standard deviation > 0) for every family.")
def models_predictions_vary(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    bad = constant_models(_ok_cars(artefacts))
    return dg.AssetCheckResult(passed=not bad, metadata={"constant": ", ".join(bad) or "none"})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="The test split is disjoint from training and the same for all.")
def models_test_split_disjoint(context: dg.AssetCheckExecutionContext,
                               artefacts: ArtefactStore):
    found = split_problems(_ok_cars(artefacts))
    return dg.AssetCheckResult(
        passed=not found["overlapping_rows"] and found["one_test_split"]
        and found["fingerprints_match_rows"],
        metadata={"overlapping_rows": json.dumps(found["overlapping_rows"]),
                  "one_test_split": found["one_test_split"],
                  "fingerprints_match_rows": found["fingerprints_match_rows"]})


@dg.asset_check(asset=model_comparison,
                description="No family overfits: CV R^2 minus test R^2 stays below 0.2.")
def models_not_overfit(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    drops = {c["family"]: c["cv_r2_mean"] - c["test_r2"] for c in _ok_cars(artefacts)}
    bad = {f: round(d, 4) for f, d in drops.items() if d > OVERFIT_DROP}
    return dg.AssetCheckResult(passed=not bad, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"cv_to_test_drop": json.dumps(drops),
                                         "overfitting": json.dumps(bad) or "none"})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="No near-perfect R^2 where the pool holds no signal (leakage).")
def models_no_leakage_signature(context: dg.AssetCheckExecutionContext,
                                artefacts: ArtefactStore):
    record = artefacts.read_json(*COMPARISON)
    suspicious = [r["family"] for r in record["rows"] if r["test_r2"] > LEAKAGE_R2]
    passed = record["pool_significant"] or not suspicious
    return dg.AssetCheckResult(passed=passed, metadata={
        "pool_beats_null": record["pool_significant"],
        "near_perfect": ", ".join(suspicious) or "none"})


@dg.asset_check(asset=model_comparison,
                description="The winner's test R^2 beats shuffled targets (permutation test, "
                            "Bonferroni over the families it was picked from).")
def winner_beats_permutation(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    record = artefacts.read_json(*COMPARISON)
    p = record["winner_permutation_p_value"]
    return dg.AssetCheckResult(
        passed=p < SIGNAL_ALPHA, severity=dg.AssetCheckSeverity.WARN,
        metadata={"winner": record["winner"], "test_r2": record["winner_test_r2"],
                  "permutation_p_value": p,
                  "permutation_p_raw": record.get("winner_permutation_p_raw", p),
                  "verdict": ("beats chance" if p < SIGNAL_ALPHA
                              else "not distinguishable from chance")})


class PredictionsConfig(dg.Config):
    top_k: int = Field(default=20, description="Candidates to predict from.")
    next_draws: int = Field(default=5, description="Future draws predicted per candidate.")
    alpha: float = Field(default=FINDING_ALPHA, description="Significance the backtest must reach.")

    @model_validator(mode="after")
    def _check(self) -> "PredictionsConfig":
        if self.top_k < 1 or self.next_draws < 1 or not 0 < self.alpha < 1:
            raise ValueError("need top_k >= 1, next_draws >= 1 and 0 < alpha < 1")
        return self


@dg.asset(group_name="step6_predictions", deps=[model_comparison], kinds={"polars"},
          automation_condition=AUTOMATION)
def predictions(
    context: dg.AssetExecutionContext, config: PredictionsConfig, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Next draws of the top-ranked survivors, behind a holdout backtest and a signal gate."""
    comparison = artefacts.read_json(*COMPARISON)
    winner = comparison["winner"]
    car = artefacts.read_json("models", winner, "sidecar.json")
    matrix, _features, _record = load_matrix(artefacts)
    model = load_model(winner, car["model_path"])
    x = matrix.select(car["features"]).to_numpy().astype(np.float64)
    scores = model.predict(x)
    evidence = matrix["outside_window_evidence"].to_numpy()
    sure = confirmed(evidence, matrix.height)
    # Confirmed candidates first (strongest evidence first), then the model's order.
    order = np.lexsort((-scores, -np.where(sure, evidence, 0.0), ~sure))
    top = order[: config.top_k]
    history = load_history(artefacts)
    pool = artefacts.read_parquet(*POOL_TABLE)
    if file_sha256(artefacts.path(*POOL_TABLE)) != _record["inputs"]["survivor_pool_sha256"]:
        raise dg.Failure(description="predictions: the survivor pool changed after the feature "
                                     "matrix was built; re-materialise feature_matrix")
    n_all = len(history.values)
    pred = predicted_draws(Candidates.from_frame(pool[top], mode=history.mode,
                                                 anchor=history.anchor),
                           n_all + config.next_draws)
    # Each source is backtested on its own, and only on candidates whose holdout the ranking
    # never learned from: the confirmed ones (evidence from train draws outside the window) and
    # the model's top test rows. A source whose backtest does not beat chance is withheld.
    test_rows = np.array(car["test_rows"], dtype=np.int64)
    sources = {"confirmed": np.flatnonzero(sure),
               "model": test_rows[np.argsort(-scores[test_rows])][: config.top_k]}
    holdout = history.values[history.n_train:]
    backtests, open_sources = {}, set()
    for name, rows in sources.items():
        if len(rows) == 0:
            backtests[name] = {**backtest(np.zeros(0, bool), 1.0 / history.modulus),
                               "candidates": 0}
            continue
        held = predicted_draws(Candidates.from_frame(pool[rows], mode=history.mode,
                                                     anchor=history.anchor),
                               n_all)[:, history.n_train:]
        backtests[name] = {**backtest((held == holdout[None, :]).ravel(),
                                      1.0 / history.modulus), "candidates": len(rows)}
        if backtests[name]["p_value"] < config.alpha:
            open_sources.add(name)
    status = "predict" if open_sources else "abstain"
    reason = "; ".join(
        f"{name} ({b['candidates']} candidates): hit rate {b['hit_rate']:.4f} vs chance "
        f"{b['chance']:.4f}, p = {b['p_value']:.3g}"
        + (" - beats chance" if name in open_sources
           else f" - not below alpha {config.alpha}, withheld")
        for name, b in backtests.items())
    picks = []
    for rank, (row, draws) in enumerate(zip(top, pred[:, n_all:], strict=True), start=1):
        picks.append({"rank": rank, "seed": int(matrix["seed"][int(row)]),
                      "offset": int(matrix["offset"][int(row)]),
                      "gap": int(matrix["gap"][int(row)]),
                      "source": "confirmed" if sure[row] else "model",
                      "score": float(scores[row]),
                      "holdout_hits": float(matrix["holdout_hits"][int(row)]),
                      "next_draws": [int(v) for v in draws]})
    out = {"status": status, "reason": reason, "backtests": backtests, "winner": winner,
           "open_sources": sorted(open_sources), "confirmed_candidates": int(sure.sum()),
           "predictions": [p for p in picks if p["source"] in open_sources],
           "ranked_candidates": picks,
           "next_draw_indices": [n_all, n_all + config.next_draws - 1],
           "history_draws": n_all,
           "draws_table": str(artefacts.path(*DRAWS_TABLE))}
    artefacts.write_json(out, *PREDICTIONS)
    if not open_sources:
        context.log.warning(f"predictions: abstaining ({reason})")
    return dg.MaterializeResult(metadata={
        "status": status, "reason": reason,
        "backtests": dg.MetadataValue.json(backtests),
        "confirmed_candidates": int(sure.sum()), "winner": winner,
        "predictions": dg.MetadataValue.json(out["predictions"][:5]),
    })


@dg.asset_check(asset=predictions,
                description="The predictions beat chance on the holdout (else the gate abstains).")
def predictions_beat_chance(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    out = artefacts.read_json(*PREDICTIONS)
    return dg.AssetCheckResult(
        passed=out["status"] == "predict", severity=dg.AssetCheckSeverity.WARN,
        metadata={"status": out["status"], "reason": out["reason"],
                  "sources_beating_chance": ", ".join(out["open_sources"]) or "none"})


MODEL_CHECKS = [models_r2_sane, models_shapes_equal, models_predictions_vary,
                models_test_split_disjoint, models_not_overfit, models_no_leakage_signature,
                winner_beats_permutation, predictions_beat_chance]

"""Models: four tuned model families and an honest comparison on an untouched test split.

Each family searches its parameters by k-fold CV on the train rows, refits with the best ones
mapped explicitly to its trainer, and is scored once on the test rows carved out before any
search. A family that fails three times in a row is skipped until its registry entry expires.
"""

import dataclasses
import time

import dagster as dg
import numpy as np
from pydantic import Field, model_validator

from gpu_executors.io.hashing import json_digest
from gpu_executors.models.budget import CAPPED, Budget
from gpu_executors.models.evaluation import (
    Split,
    confirmed,
    family_wise_p,
    permutation_p_value,
    ranking_skip_reason,
    skipped,
    update_registry,
)
from gpu_executors.models.families import FAMILIES, build_params
from gpu_executors.models.fitting import fit
from gpu_executors.models.persistence import save_model
from gpu_executors.models.records import ModelSidecar
from gpu_executors.models.search import make_study, search
from gpu_executors.models.validation import r2
from prng_assets import lineage
from prng_assets.artefact_keys import (
    COMPARISON,
    MATRIX_RECORD,
    SKIP_REGISTRY,
    model_file,
    model_folder,
    model_sidecar,
)
from prng_assets.assets.features import feature_matrix
from prng_assets.automation import AFTER_POOL
from prng_assets.case_config import with_case_settings
from prng_assets.loaders import (
    case_artefacts,
    load_evidence,
    load_matrix,
    load_pool_stats,
    load_sidecars,
    load_skip_registry,
)
from prng_assets.partitions import cases
from prng_assets.plots import figure_metadata
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.optuna_storage import OptunaStorage

TARGET = "holdout_quality"
COMPARED = ("family", "test_r2", "cv_r2_mean", "cv_r2_sd", "fit_seconds", "prediction_std",
            "permutation_p_value")
COMPARISON_TABLE = dg.TableSchema(columns=[
    dg.TableColumn("family", "string"),
    dg.TableColumn("test_r2", "float", description="R^2 on the untouched test split"),
    dg.TableColumn("cv_r2_mean", "float", description="k-fold CV R^2 of the best trial"),
    dg.TableColumn("cv_r2_sd", "float"),
    dg.TableColumn("fit_seconds", "float"),
    dg.TableColumn("permutation_p_value", "float", description="test R^2 vs shuffled targets"),
])


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
        group_name="models",
        deps=[feature_matrix],
        kinds={"pytorch" if family == "neural_net" else family, "optuna"},
        pool="gpu" if family == "neural_net" else None,
        automation_condition=AFTER_POOL,
        partitions_def=cases,
    )
    def _model(
        context: dg.AssetExecutionContext,
        config: ModelSearchConfig,
        artefacts: ArtefactStore,
        compute: ComputeResource,
        optuna_storage: OptunaStorage,
    ) -> dg.MaterializeResult:
        artefacts = case_artefacts(context, artefacts)
        config, config_from = with_case_settings(config, artefacts, "models")
        context.log.info(f"config from {config_from}")
        now = lineage.verify(artefacts, f"model_{family}", MATRIX_RECORD[:1])
        registry = load_skip_registry(artefacts)
        matrix, features, record = load_matrix(artefacts)
        evidence = matrix["outside_window_evidence"].to_numpy()
        # Too few rows to rank comes first: model_comparison reads it as "nothing to rank".
        reason = ranking_skip_reason(evidence) or skipped(registry, family)
        if reason:
            artefacts.write_record(ModelSidecar.skipped(family, reason), *model_sidecar(family))
            lineage.stamp(artefacts, model_folder(family), now)
            context.log.warning(f"model_{family} skipped: {reason}")
            return dg.MaterializeResult(metadata={
                "status": "skipped", "reason": reason,
                "config": dg.MetadataValue.json(config.model_dump())})
        x = matrix.select(features).to_numpy().astype(np.float64)
        y = matrix[TARGET].to_numpy().astype(np.float64)
        # Candidates confirmed by train draws outside the sieve window need no model (they are
        # ranked first by their evidence); as training rows they would be extreme outliers.
        sure = confirmed(evidence, matrix.height)
        try:
            split = Split.carve(np.flatnonzero(~sure), config.seed)
            device = compute.torch_device() if family == "neural_net" else "cpu"
            study = make_study(config.seed, optuna_storage.storage(),
                               f"model_{family}-{context.partition_key}-{context.run.run_id}",
                               load_if_exists=True)
            t0 = time.perf_counter()
            found = search(family, x[split.train], y[split.train], config.n_trials,
                           config.folds, config.seed, study=study,
                           progress=lambda msg: context.log.info(f"{family}: {msg}"),
                           budget=config.budget(), device=device,
                           workers=config.fold_workers or None)
            params = found.best_params
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
            artefacts.write_json(update_registry(registry, family, False, repr(exc)),
                                 *SKIP_REGISTRY)
            raise
        path = save_model(model, artefacts.path(*model_file(family)))
        artefacts.write_json(update_registry(registry, family, True), *SKIP_REGISTRY)
        sidecar = ModelSidecar(
            family=family,
            status="ok",
            model_path=str(path),
            params=params,
            trainer_args=build_params(family, params),
            feature_schema_hash=json_digest(features),
            features=features,
            target=TARGET,
            matrix_scorer_digest=record["scorer_digest"],
            cv_r2_mean=found.best_cv_mean,
            cv_r2_sd=found.best_cv_sd,
            test_r2=test_r2,
            test_shapes={"target": list(y_test.shape), "prediction": list(pred.shape)},
            prediction_std=float(np.std(pred)),
            permutation_p_value=permutation_p_value(y_test, pred, test_r2, seed=config.seed),
            split=split.fingerprints(),
            confirmed_rows_excluded=int(sure.sum()),
            train_rows=split.train.tolist(),
            test_rows=split.test.tolist(),
            fit_rows=fit_rows.tolist(),
            train_loss=model.train_loss,
            device=device,
            fit_seconds=model.fit_seconds,
            search_seconds=time.perf_counter() - t0,
            trials_requested=found.trials_requested,
            trials_completed=len(found.completed),
            trials_failed=len(found.failed),
            trials_pruned=len(found.pruned),
            budget=config.budget().as_dict(),
            fold_workers=found.fold_workers,
            threads_per_fit=found.threads_per_fit,
        )
        fields = sidecar.to_dict()
        meta = {k: fields[k] for k in ("cv_r2_mean", "cv_r2_sd", "test_r2", "prediction_std",
                                       "permutation_p_value", "device", "fit_seconds",
                                       "trials_completed", "trials_failed",
                                       "feature_schema_hash")}
        meta["status"] = sidecar.status
        meta["config"] = dg.MetadataValue.json(config.model_dump())
        meta["config_from"] = config_from
        meta["params"] = dg.MetadataValue.json(params)
        history = getattr(model, "history", None)
        if history:
            meta["loss_curves"] = _loss_plot(history, family)
        if sidecar.prediction_std < 1e-9 and hasattr(model, "activation_stats"):
            stats = model.activation_stats(x[split.test][:2000])
            sidecar = dataclasses.replace(sidecar, activation_stats=stats)
            meta["activation_stats"] = dg.MetadataValue.json(stats)
            context.log.warning(f"{family}: predictions are constant; activation statistics "
                                "per layer are in the metadata")
        artefacts.write_record(sidecar, *model_sidecar(family))
        lineage.stamp(artefacts, model_folder(family), now)
        return dg.MaterializeResult(metadata=meta)

    return _model


MODEL_ASSETS = [_model_asset(f) for f in FAMILIES]


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


def _skipped_comparison(context: dg.AssetExecutionContext, artefacts: ArtefactStore,
                        now: lineage.Lineage, cars: dict[str, ModelSidecar], registry: dict,
                        reason: str) -> dg.MaterializeResult:
    """Nothing to compare (too few rows to rank): no winner, the reason, the run goes on."""
    not_compared = {f: c.reason or c.status for f, c in cars.items()}
    record = {"status": "skipped", "reason": reason, "rows": [], "winner": None,
              "winner_test_r2": None, "winner_permutation_p_value": None,
              "winner_permutation_p_raw": None, "families_compared": 0,
              "not_compared": not_compared, "skip_registry": registry,
              "pool_significant": load_pool_stats(artefacts).significant}
    artefacts.write_json(record, *COMPARISON)
    lineage.stamp(artefacts, COMPARISON[:1], now)
    context.log.warning(f"model_comparison skipped: {reason}")
    return dg.MaterializeResult(metadata={
        "status": "skipped",
        "reason": reason,
        "winner": None,
        "families_compared": 0,
        "skip_registry": dg.MetadataValue.json(registry),
        "not_compared": dg.MetadataValue.json(not_compared),
    })


@dg.asset(group_name="models", deps=MODEL_ASSETS, kinds={"polars"},
          automation_condition=AFTER_POOL, partitions_def=cases)
def model_comparison(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """The four families side by side on the test split, and the winner (none when the matrix
    is too small to rank: the predictions then come from the confirmed candidates)."""
    artefacts = case_artefacts(context, artefacts)
    now = lineage.verify(artefacts, "model_comparison", MATRIX_RECORD[:1])
    cars = load_sidecars(artefacts)
    # A family whose latest run failed keeps an earlier sidecar: never compared with this one.
    stale = {f for f in cars if not lineage.matches(artefacts, model_folder(f), now)}
    ok = [c for f, c in cars.items() if c.ok and f not in stale]
    registry = load_skip_registry(artefacts)
    too_small = ranking_skip_reason(load_evidence(artefacts))
    if too_small is not None:
        if ok:  # a model of an earlier, larger matrix: comparing it would mislead
            raise dg.Failure(description=(
                f"model_comparison: {too_small}, yet {', '.join(c.family for c in ok)} hold "
                "models of an earlier feature matrix; re-materialise the model families"))
        return _skipped_comparison(context, artefacts, now, cars, registry, too_small)
    if not ok:
        raise dg.Failure(description="model_comparison: no model family produced a model")
    rows = [{k: c.to_dict()[k] for k in COMPARED} for c in ok]
    rows.sort(key=lambda r: r["test_r2"], reverse=True)
    winner = rows[0]
    winner_p = family_wise_p(winner["permutation_p_value"], len(rows))
    record = {"status": "ok", "reason": None,
              "rows": rows, "winner": winner["family"], "winner_test_r2": winner["test_r2"],
              "winner_permutation_p_value": winner_p,
              "winner_permutation_p_raw": winner["permutation_p_value"],
              "families_compared": len(rows),
              "not_compared": {**{f: c.reason or c.status for f, c in cars.items() if not c.ok},
                               **{f: "built from an earlier history or settings"
                                  for f in stale}},
              "skip_registry": registry,
              "pool_significant": load_pool_stats(artefacts).significant}
    artefacts.write_json(record, *COMPARISON)
    lineage.stamp(artefacts, COMPARISON[:1], now)
    table = [dg.TableRecord({c.name: r[c.name] for c in COMPARISON_TABLE.columns})
             for r in rows]
    return dg.MaterializeResult(metadata={
        "status": "ok",
        "winner": winner["family"],
        "winner_test_r2": winner["test_r2"],
        "winner_permutation_p_value": winner_p,
        "winner_permutation_p_raw": winner["permutation_p_value"],
        "families_compared": len(rows),
        "table": dg.MetadataValue.table(records=table, schema=COMPARISON_TABLE),
        "comparison_plot": _comparison_plot(rows),
        "skip_registry": dg.MetadataValue.json(registry),
        "not_compared": dg.MetadataValue.json(record["not_compared"]),
    })

"""Predictions: next draws from confirmed candidates and the top-ranked survivors, behind a
holdout backtest per source and a signal gate (a source that does not beat chance is withheld).

With no winner (too few survivors to rank) only the confirmed source remains; an empty pool
abstains with the reason (``gpu_executors.models.forecast``).
"""

import dagster as dg
import numpy as np
from pydantic import Field, model_validator

from gpu_executors.io.hashing import file_sha256
from gpu_executors.models.forecast import forecast
from gpu_executors.models.persistence import load_model
from gpu_executors.models.records import ModelSidecar
from gpu_executors.significance import FINDING_ALPHA
from prng_assets import lineage
from prng_assets.artefact_keys import (
    COMPARISON,
    DRAWS_TABLE,
    LINEAR_STATE,
    MATRIX_RECORD,
    POOL_TABLE,
    PREDICTIONS,
    model_sidecar,
)
from prng_assets.assets.models import model_comparison
from prng_assets.automation import AFTER_POOL
from prng_assets.case_config import with_case_settings
from prng_assets.loaders import case_artefacts, load_history, load_matrix
from prng_assets.partitions import cases
from resources.artefacts import ArtefactStore


class PredictionsConfig(dg.Config):
    top_k: int = Field(default=20, description="Candidates to predict from.")
    next_draws: int = Field(default=5, description="Future draws predicted per candidate.")
    alpha: float = Field(default=FINDING_ALPHA, description="Significance the backtest must reach.")

    @model_validator(mode="after")
    def _check(self) -> "PredictionsConfig":
        if self.top_k < 1 or self.next_draws < 1 or not 0 < self.alpha < 1:
            raise ValueError("need top_k >= 1, next_draws >= 1 and 0 < alpha < 1")
        return self


@dg.asset(group_name="predictions", deps=[model_comparison], kinds={"polars"},
          automation_condition=AFTER_POOL, partitions_def=cases)
def predictions(
    context: dg.AssetExecutionContext, config: PredictionsConfig, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Next draws of the top-ranked survivors, behind a holdout backtest and a signal gate."""
    artefacts = case_artefacts(context, artefacts)
    config, config_from = with_case_settings(config, artefacts, "predictions")
    context.log.info(f"config from {config_from}")
    now = lineage.verify(artefacts, "predictions", POOL_TABLE[:1], MATRIX_RECORD[:1],
                         COMPARISON[:1])
    comparison = artefacts.read_json(*COMPARISON)
    winner = comparison["winner"]  # None: too few survivors to rank, confirmed source only
    matrix, _features, matrix_record = load_matrix(artefacts)
    if file_sha256(artefacts.path(*POOL_TABLE)) != matrix_record["inputs"]["survivor_pool_sha256"]:
        raise dg.Failure(description="predictions: the survivor pool changed after the feature "
                                     "matrix was built; re-materialise feature_matrix")
    scores = test_rows = None
    if winner is not None:
        car = artefacts.read_record(ModelSidecar, *model_sidecar(winner))
        model = load_model(winner, car.model_path)
        scores = model.predict(matrix.select(car.features).to_numpy().astype(np.float64))
        test_rows = np.array(car.test_rows, dtype=np.int64)
    history = load_history(artefacts)
    out = forecast(matrix, artefacts.read_parquet(*POOL_TABLE), history,
                   scores, test_rows, top_k=config.top_k, next_draws=config.next_draws,
                   alpha=config.alpha, no_model=comparison.get("reason"))
    out = {**out, "winner": winner, "draws_table": str(artefacts.path(*DRAWS_TABLE)),
           "assumes": _assumes(artefacts, history.mode)}
    artefacts.write_json(out, *PREDICTIONS)
    lineage.stamp(artefacts, PREDICTIONS[:1], now)
    if out["status"] != "predict":
        context.log.warning(f"predictions: abstaining ({out['reason']})")
    return dg.MaterializeResult(metadata={
        "status": out["status"], "reason": out["reason"],
        "config": dg.MetadataValue.json(config.model_dump()), "config_from": config_from,
        "backtests": dg.MetadataValue.json(out["backtests"]),
        "confirmed_candidates": out["confirmed_candidates"], "winner": winner,
        "predictions": dg.MetadataValue.json(out["predictions"][:5]),
        "assumes": out["assumes"] or "nothing beyond each candidate's seed or state",
    })


def _assumes(artefacts: ArtefactStore, mode: str) -> str | None:
    """What the next draws assume beyond the candidate (linear mode: the solve's record says,
    e.g. V8's cache position and one process), or None."""
    if mode != "linear" or not artefacts.exists(*LINEAR_STATE):
        return None
    return artefacts.read_json(*LINEAR_STATE).get("prediction_assumes")

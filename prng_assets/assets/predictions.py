"""Predictions: next draws from confirmed candidates and the top-ranked survivors, behind a
holdout backtest per source and a signal gate (a source that does not beat chance is withheld).
"""

import dagster as dg
import numpy as np
from pydantic import Field, model_validator

from gpu_executors.io.hashing import file_sha256
from gpu_executors.models.evaluation import backtest, confirmed
from gpu_executors.models.persistence import load_model
from gpu_executors.models.records import ModelSidecar
from gpu_executors.ranking.predicted import Candidates, predicted_draws
from gpu_executors.significance import FINDING_ALPHA
from prng_assets.artefact_keys import (
    COMPARISON,
    DRAWS_TABLE,
    POOL_TABLE,
    PREDICTIONS,
    model_sidecar,
)
from prng_assets.assets.models import model_comparison
from prng_assets.automation import AUTOMATION
from prng_assets.loaders import load_history, load_matrix
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
          automation_condition=AUTOMATION)
def predictions(
    context: dg.AssetExecutionContext, config: PredictionsConfig, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Next draws of the top-ranked survivors, behind a holdout backtest and a signal gate."""
    comparison = artefacts.read_json(*COMPARISON)
    winner = comparison["winner"]
    car = artefacts.read_record(ModelSidecar, *model_sidecar(winner))
    matrix, _features, matrix_record = load_matrix(artefacts)
    model = load_model(winner, car.model_path)
    x = matrix.select(car.features).to_numpy().astype(np.float64)
    scores = model.predict(x)
    evidence = matrix["outside_window_evidence"].to_numpy()
    sure = confirmed(evidence, matrix.height)
    # Confirmed candidates first (strongest evidence first), then the model's order.
    order = np.lexsort((-scores, -np.where(sure, evidence, 0.0), ~sure))
    top = order[: config.top_k]
    history = load_history(artefacts)
    pool = artefacts.read_parquet(*POOL_TABLE)
    if file_sha256(artefacts.path(*POOL_TABLE)) != matrix_record["inputs"]["survivor_pool_sha256"]:
        raise dg.Failure(description="predictions: the survivor pool changed after the feature "
                                     "matrix was built; re-materialise feature_matrix")
    n_all = len(history.values)
    pred = predicted_draws(Candidates.from_frame(pool[top], mode=history.mode,
                                                 anchor=history.anchor),
                           n_all + config.next_draws)
    # Each source is backtested on its own, and only on candidates whose holdout the ranking
    # never learned from: the confirmed ones (evidence from train draws outside the window) and
    # the model's top test rows. A source whose backtest does not beat chance is withheld.
    test_rows = np.array(car.test_rows, dtype=np.int64)
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

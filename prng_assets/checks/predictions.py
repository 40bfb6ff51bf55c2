"""Checks on the predictions: they beat chance on the holdout, or the gate abstained."""

import dagster as dg

from prng_assets.artefact_keys import PREDICTIONS
from prng_assets.assets.predictions import predictions
from prng_assets.loaders import case_artefacts
from resources.artefacts import ArtefactStore


@dg.asset_check(asset=predictions,
                description="The predictions beat chance on the holdout (else the gate abstains).")
def predictions_beat_chance(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    out = artefacts.read_json(*PREDICTIONS)
    return dg.AssetCheckResult(
        passed=out["status"] == "predict", severity=dg.AssetCheckSeverity.WARN,
        metadata={"status": out["status"], "reason": out["reason"],
                  "sources_beating_chance": ", ".join(out["open_sources"]) or "none"})

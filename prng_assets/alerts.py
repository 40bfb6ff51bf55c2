"""Alerts on findings, not only failures: a pool that beats chance, predictions that open.

Unattended use means nobody reads the UI when a scan finds something. Two asset sensors watch the
materialisations of ``survivor_pool`` and ``predictions`` and post a finding (case, generator,
seed, offset, gap, p-value) to the same webhook as the failure alerts. They start stopped, like
every sensor, and send nothing without ``SEEDSIEVE_ALERT_WEBHOOK``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from prng_assets.assets.ingest import draw_history
from prng_assets.assets.predictions import predictions
from prng_assets.assets.sieve import sieve_settings, survivor_pool
from prng_assets.loaders import latest_metadata
from resources.notifications import Notifier


def _metadata(event: dg.EventLogEntry) -> dict[str, Any]:
    materialization = event.asset_materialization
    assert materialization is not None
    return {k: v.value for k, v in materialization.metadata.items()}


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, case: str | None) -> dict[str, Any]:
    try:
        return latest_metadata(instance, key, case) if case is not None else {}
    except dg.Failure:
        return {}


def _case(instance: dg.DagsterInstance, case: str | None) -> dict[str, Any]:
    """Which case, draw file and pair the finding is about (the case's latest ingest and
    settings)."""
    history = _latest(instance, draw_history.key, case)
    settings = _latest(instance, sieve_settings.key, case).get("settings") or {}
    return {
        "case": case,
        "source": history.get("source_path"),
        "draws_sha256": history.get("source_sha256"),
        "generator": settings.get("generator"),
        "draw": settings.get("draw"),
    }


def pool_finding(metadata: dict[str, Any], case: dict[str, Any]) -> dict[str, Any] | None:
    """The alert for a pool whose survivors beat the null, or None."""
    if not metadata.get("significant"):
        return None
    top = list(metadata.get("top_candidates") or [])
    return {
        "event": "finding",
        "finding": "survivors beat chance",
        **case,
        "p_value": metadata.get("tier_p_value"),
        "survivors": metadata.get("survivors"),
        "null_expected": metadata.get("null_expected"),
        "candidates": [{k: c[k] for k in ("seed", "offset", "gap")} for c in top],
    }


def predictions_finding(metadata: dict[str, Any], case: dict[str, Any]) -> dict[str, Any] | None:
    """The alert for predictions that opened (a source beat chance on the holdout), or None."""
    if metadata.get("status") != "predict":
        return None
    backtests = metadata.get("backtests") or {}
    p_values = [b["p_value"] for b in backtests.values() if "p_value" in b]
    picks = list(metadata.get("predictions") or [])
    return {
        "event": "finding",
        "finding": "predictions open",
        **case,
        "p_value": min(p_values) if p_values else None,
        "reason": metadata.get("reason"),
        "candidates": [
            {k: p[k] for k in ("seed", "offset", "gap", "source", "next_draws")} for p in picks
        ],
    }


def _alert(
    context: dg.SensorEvaluationContext, finding: dict[str, Any] | None, notifier: Notifier
) -> dg.SkipReason:
    """Send ``finding``; the tick's skip reason says what happened (an asset sensor runs no job)."""
    if finding is None:
        return dg.SkipReason("no finding in the latest materialisation")
    if not notifier.enabled:
        return dg.SkipReason(f"finding ({finding['finding']}) not sent: no webhook configured")
    sent = notifier.send(finding)
    context.log.info(f"finding alert ({finding['finding']}): {'sent' if sent else 'FAILED'}")
    return dg.SkipReason(f"finding alert {'sent' if sent else 'failed'}: {finding['finding']}")


def _finding_sensor(
    asset: dg.AssetsDefinition,
    name: str,
    description: str,
    finding: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None],
) -> dg.SensorDefinition:
    """An asset sensor on ``asset`` that posts ``finding(metadata, case)`` when there is one."""

    @dg.asset_sensor(asset_key=asset.key, name=name, description=description)
    def _sensor(
        context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, notifications: Notifier
    ) -> dg.SkipReason:
        case = asset_event.dagster_event.partition if asset_event.dagster_event else None
        return _alert(
            context, finding(_metadata(asset_event), _case(context.instance, case)),
            notifications,
        )

    return _sensor


pool_finding_alert = _finding_sensor(
    survivor_pool,
    "pool_finding_alert",
    "Posts a finding when the survivor pool beats the null.",
    pool_finding,
)
predictions_finding_alert = _finding_sensor(
    predictions,
    "predictions_finding_alert",
    "Posts a finding when predictions open (a source beats chance).",
    predictions_finding,
)

ALERT_SENSORS = [pool_finding_alert, predictions_finding_alert]

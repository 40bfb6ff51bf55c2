"""Alerts on findings, not only failures: a pool that beats chance, predictions that open.

Unattended use means nobody reads the UI when a scan finds something. Two sensors read every
case's new materialisations of ``survivor_pool`` and ``predictions`` (a storage-id cursor, so
none is missed or sent twice) and post a finding (case, generator, seed, offset, gap, p-value)
to the same webhook as the failure alerts. They start stopped, like
every sensor, and send nothing without ``SEEDSIEVE_ALERT_WEBHOOK``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from gpu_executors.linear.identity import identity_keys
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
        "candidates": [{k: c[k] for k in identity_keys(c)} for c in top],
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
            {k: p[k] for k in (*identity_keys(p), "source", "next_draws")} for p in picks
        ],
    }


MAX_EVENTS_PER_TICK = 100  # a backlog is worked off over later ticks, oldest first


def _finding_sensor(
    asset: dg.AssetsDefinition,
    name: str,
    description: str,
    finding: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None],
) -> dg.SensorDefinition:
    """A sensor on ``asset``'s materialisations, every case's, each one seen once: it posts
    ``finding(metadata, case)`` for every one that has a finding. (An asset sensor would see only
    the latest event per tick, and two cases' pools can land between two ticks.)"""

    @dg.sensor(name=name, description=description, minimum_interval_seconds=30)
    def _sensor(context: dg.SensorEvaluationContext, notifications: Notifier) -> dg.SensorResult:
        after = int(context.cursor) if context.cursor else None
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset.key, after_storage_id=after),
            limit=MAX_EVENTS_PER_TICK, ascending=True).records
        said = []
        for record in records:
            event = record.event_log_entry
            case = record.partition_key
            found = finding(_metadata(event), _case(context.instance, case))
            if found is None:
                continue
            if not notifications.enabled:
                said.append(f"{case}: finding ({found['finding']}) not sent: no webhook "
                            "configured")
                continue
            sent = notifications.send(found)
            context.log.info(f"{case}: finding alert ({found['finding']}): "
                             f"{'sent' if sent else 'FAILED'}")
            said.append(f"{case}: finding alert {'sent' if sent else 'failed'}: "
                        f"{found['finding']}")
        cursor = str(records[-1].storage_id) if records else context.cursor
        if not records:
            reason = f"no new materialisation of {asset.key.to_user_string()}"
        else:
            reason = "; ".join(said) or f"no finding in {len(records)} materialisation(s)"
        return dg.SensorResult(skip_reason=reason, cursor=cursor)

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

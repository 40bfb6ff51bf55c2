"""Alerts on findings: a pool beating chance or predictions opening posts case, pair and seeds."""

from __future__ import annotations

import dagster as dg

from prng_assets.alerts import pool_finding_alert, predictions_finding_alert
from prng_assets.assets.ingest import draw_history
from prng_assets.assets.predictions import predictions
from prng_assets.assets.sieve import sieve_settings, survivor_pool
from resources.notifications import Notifier

CASE = "mt"
SOURCE = "/inbox/mt.json"
SETTINGS = {"generator": "mt19937", "draw": "mod:1000"}
TOP = [{"seed": 1234567, "offset": 0, "gap": 0, "matches": 8}]
OPEN = {
    "status": "predict",
    "reason": "confirmed (1 candidates): hit rate 1.0000 vs chance 0.0010, p = 1e-300",
    "backtests": {"confirmed": {"p_value": 1e-300, "candidates": 1}, "model": {"p_value": 0.7}},
    "predictions": [
        {
            "rank": 1,
            "seed": 1234567,
            "offset": 0,
            "gap": 0,
            "source": "confirmed",
            "score": 0.0,
            "holdout_hits": 1.0,
            "next_draws": [1, 2, 3],
        }
    ],
}


def _report(
    instance: dg.DagsterInstance, key: dg.AssetKey, metadata: dict, case: str = CASE
) -> None:
    values = {
        k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
        for k, v in metadata.items()
    }
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=key, metadata=values, partition=case))


def _tick(sensor, instance, url: str | None, cursor: str | None = None):
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"notifications": Notifier(webhook_url=url)}
    )
    return sensor.evaluate_tick(ctx)


def _case(instance) -> None:
    _report(instance, draw_history.key, {"source_path": SOURCE, "source_sha256": "ab" * 32})
    _report(instance, sieve_settings.key, {"settings": SETTINGS})
    # another case, ingested later: the alert must still name the finding's own case
    _report(instance, draw_history.key, {"source_path": "/inbox/other.json",
                                         "source_sha256": "cd" * 32}, case="other")
    _report(instance, sieve_settings.key, {"settings": {"generator": "minstd",
                                                        "draw": "mod:1000"}}, case="other")


def test_a_pool_beating_chance_posts_the_case_pair_and_seeds(instance, webhook) -> None:
    url, received = webhook
    _case(instance)
    _report(
        instance,
        survivor_pool.key,
        {
            "significant": False,
            "tier_p_value": 0.4,
            "survivors": 3,
            "null_expected": 3.1,
            "top_candidates": TOP,
        },
    )
    quiet = _tick(pool_finding_alert, instance, url)
    assert received == [] and "no finding" in quiet.skip_message

    _report(
        instance,
        survivor_pool.key,
        {
            "significant": True,
            "tier_p_value": 1e-12,
            "survivors": 1,
            "null_expected": 0.004,
            "top_candidates": TOP,
        },
    )
    found = _tick(pool_finding_alert, instance, url, quiet.cursor)
    assert "sent" in found.skip_message
    (event,) = [r["body"] for r in received]
    assert event == {
        "event": "finding",
        "finding": "survivors beat chance",
        "case": CASE,
        "source": SOURCE,
        "draws_sha256": "ab" * 32,
        "generator": "mt19937",
        "draw": "mod:1000",
        "p_value": 1e-12,
        "survivors": 1,
        "null_expected": 0.004,
        "candidates": [{"seed": 1234567, "offset": 0, "gap": 0}],
    }


def test_open_predictions_post_the_seeds_and_next_draws(instance, webhook) -> None:
    url, received = webhook
    _case(instance)
    _report(instance, predictions.key, {**OPEN, "status": "abstain"})
    abstained = _tick(predictions_finding_alert, instance, url)
    assert received == []
    _report(instance, predictions.key, OPEN)
    _tick(predictions_finding_alert, instance, url, abstained.cursor)
    (event,) = [r["body"] for r in received]
    assert (event["finding"], event["case"], event["generator"]) == (
        "predictions open",
        CASE,
        "mt19937",
    )
    assert event["p_value"] == 1e-300
    assert event["candidates"] == [
        {"seed": 1234567, "offset": 0, "gap": 0, "source": "confirmed", "next_draws": [1, 2, 3]}
    ]


def test_without_a_webhook_the_finding_is_named_in_the_tick(instance) -> None:
    _case(instance)
    _report(instance, predictions.key, OPEN)
    result = _tick(predictions_finding_alert, instance, None)
    assert result.skip_message == "mt: finding (predictions open) not sent: no webhook configured"


def test_findings_of_two_cases_between_two_ticks_are_both_sent(instance, webhook) -> None:
    """Every case's materialisation is read once, even when several land between two ticks."""
    url, received = webhook
    _case(instance)
    first = _tick(pool_finding_alert, instance, url)
    assert "no new materialisation" in first.skip_message
    significant = {"significant": True, "tier_p_value": 1e-12, "survivors": 1,
                   "null_expected": 0.004, "top_candidates": TOP}
    _report(instance, survivor_pool.key, significant)
    _report(instance, survivor_pool.key, {**significant, "top_candidates": [
        {"seed": 42, "offset": 1, "gap": 2, "matches": 8}]}, case="other")
    both = _tick(pool_finding_alert, instance, url, first.cursor)
    assert [(r["body"]["case"], r["body"]["candidates"][0]["seed"]) for r in received] == [
        ("mt", 1234567), ("other", 42)]
    assert received[1]["body"]["generator"] == "minstd"  # the other case's own pair
    again = _tick(pool_finding_alert, instance, url, both.cursor)
    assert len(received) == 2 and "no new materialisation" in again.skip_message

"""The code location loads, validates, and rejects run config it does not know."""

from __future__ import annotations

import dagster as dg
import pytest

from prng_assets.assets.ingest import draw_history
from prng_assets.definitions import defs


def test_definitions_validate_loadable() -> None:
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_has_the_ingest_stage() -> None:
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"draw_history", "sieve_settings", "survivors", "survivor_pool"} <= keys
    assert defs.resolve_sensor_def("draw_file_sensor") is not None
    for job in ("prepare", "scan_seed_blocks", "pool"):
        assert defs.resolve_job_def(job) is not None


def test_unknown_run_config_key_is_rejected(instance, artefacts, demo_history) -> None:
    """The original silently dropped overrides it did not know; Dagster must refuse them."""
    with pytest.raises(dg.DagsterInvalidConfigError, match="sample_szie"):
        dg.materialize(
            [draw_history],
            instance=instance,
            resources={"artefacts": artefacts},
            run_config={
                "ops": {"draw_history": {"config": {"path": str(demo_history), "sample_szie": 5}}}
            },
        )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("holdout_fraction", 1.5, "holdout_fraction"),
        ("window", 0, "window"),
        ("modulus", 1, "modulus"),
        ("format", "xml", "format"),
    ],
)
def test_bad_config_values_fail_before_reading(
    instance, artefacts, demo_history, key, value, message
) -> None:
    with pytest.raises(Exception, match=message):
        dg.materialize(
            [draw_history],
            instance=instance,
            resources={"artefacts": artefacts},
            run_config={
                "ops": {"draw_history": {"config": {"path": str(demo_history), key: value}}}
            },
        )

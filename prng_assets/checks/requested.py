"""What a run asked an asset for: the run config of the case's latest materialisation, read
from the instance's run record (never from what the asset recorded it used)."""

import dagster as dg


def requested_config(context: dg.AssetCheckExecutionContext, asset: dg.AssetsDefinition
                     ) -> tuple[str, dict]:
    """The run id of the case's latest materialisation of ``asset`` and the config its run gave
    the asset (empty when the run gave none: automation, or the defaults)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset.key,
                              asset_partitions=[context.partition_key]), limit=1).records
    if not records:
        raise dg.Failure(description=f"{asset.key.to_user_string()} has not been materialised "
                                     f"for case {context.partition_key}")
    run = context.instance.get_run_by_id(records[0].run_id)
    ops = (run.run_config if run else {}).get("ops") or {}
    return records[0].run_id, (ops.get(asset.key.path[-1]) or {}).get("config") or {}


def config_defaults(config_class: type[dg.Config]) -> dict:
    """The config class's field defaults (read from its fields, not through its methods)."""
    return {name: f.default_factory() if f.default_factory else f.default  # type: ignore[call-arg]
            for name, f in config_class.model_fields.items()}

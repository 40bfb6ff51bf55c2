"""``make demo``: write the bundled scenario, materialise every asset, print what happened."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg

from gpu_executors.synth import planted_history, read_truth, write_history

# The bundled scenario: java_lcg draws mod 1000 from a planted seed, 3 words skipped before the
# first draw and 2 between draws. Small enough for the CPU sieve to find in the demo's seed range.
DEMO = {
    "generator": "java_lcg",
    "draw": "mod:1000",
    "seed": 9_876_543,
    "n": 400,
    "offset": 3,
    "gap": (2, 2),
}
DEMO_PATH = Path("data/demo/history.json")


def write_demo_scenario(path: Path = DEMO_PATH) -> Path:
    values, truth = planted_history(**DEMO)
    return write_history(path, values, truth)


def summarise(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        meta = {k: v.value for k, v in mat.metadata.items()}
        if mat.asset_key.to_user_string() == "draw_history":
            lines.append(
                f"draw_history: {meta['n_draws']} draws ({meta['n_train']} train, "
                f"{meta['n_holdout']} holdout), modulus {meta['modulus']}, "
                f"{meta['first_date']}..{meta['last_date']}, sha256 {meta['source_sha256'][:12]}"
            )
        else:
            lines.append(f"{mat.asset_key.to_user_string()}: materialised")
    evals = result.get_asset_check_evaluations()
    passed = [e.check_name for e in evals if e.passed]
    failed = [e.check_name for e in evals if not e.passed]
    lines.append(
        f"checks: {len(passed)} passed"
        + (f", FAILED: {', '.join(failed)}" if failed else f" ({', '.join(passed)})")
    )
    return lines


def main() -> int:
    from prng_assets.definitions import defs

    path = write_demo_scenario()
    truth = read_truth(path)
    print(
        f"scenario: {path} - {truth.generator} {truth.draw}, planted seed {truth.seed}, "
        f"offset {truth.offset}, gap {truth.gap_range[0]}"
    )
    instance = dg.DagsterInstance.get()
    result = defs.resolve_job_def("pipeline").execute_in_process(
        run_config={
            "ops": {"draw_history": {"config": {"path": str(path)}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        },
        instance=instance,
        raise_on_error=False,
    )
    print("\n".join(summarise(result)))
    print(
        f"run {result.run_id} {'succeeded' if result.success else 'FAILED'}; "
        "open the UI with `make ui` to see it."
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())

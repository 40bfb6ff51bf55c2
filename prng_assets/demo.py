"""``make demo``: write the bundled scenario, run Step 1 on it, print what was found."""

import sys
from pathlib import Path

import dagster as dg

from gpu_executors.synth import planted_history, read_truth, write_history
from prng_assets.assets.sieve import seed_blocks

# The bundled scenario: java_lcg draws mod 1000 from a planted seed, 3 words skipped before the
# first draw and 2 between draws. The seed lies in the default scanned space (2^22 seeds in 16
# blocks), which the CPU sieve covers in seconds.
DEMO = {"generator": "java_lcg", "draw": "mod:1000", "seed": 3_141_592, "n": 400,
        "offset": 3, "gap": (2, 2)}
DEMO_PATH = Path("data/demo/history.json")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def write_demo_scenario(path: Path = DEMO_PATH) -> Path:
    values, truth = planted_history(**DEMO)
    return write_history(path, values, truth)


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    mats = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in mats[-1].metadata.items()} if mats else {}


def run_demo(
    defs: dg.Definitions, instance: dg.DagsterInstance, path: Path
) -> tuple[list[str], bool]:
    """Materialise every asset on ``path``: the head, each seed block, then the pool.

    Returns the summary lines and whether every run succeeded.
    """
    results = []
    prep = defs.resolve_job_def("prepare").execute_in_process(
        run_config={"ops": {"draw_history": {"config": {"path": str(path)}}}, **QUIET},
        instance=instance, raise_on_error=False)
    results.append(prep)
    lines = []
    hist = _meta(prep, "draw_history")
    if hist:
        lines.append(
            f"draw_history: {hist['n_draws']} draws ({hist['n_train']} train, "
            f"{hist['n_holdout']} holdout), modulus {hist['modulus']}, "
            f"{hist['first_date']}..{hist['last_date']}, sha256 {hist['source_sha256'][:12]}")
    settings = _meta(prep, "sieve_settings")
    if settings:
        s = settings["settings"]
        lines.append(
            f"sieve_settings: {s['generator']} {s['draw']}, window {s['window']}, offsets "
            f"{s['offset_min']}..{s['offset_max']}, gaps {s['gap_min']}..{s['gap_max']}, "
            f"max_misses {s['max_misses']} ({settings.get('trials_completed', 0)} Optuna "
            f"trials, best evidence {settings.get('best_evidence', float('nan')):.1f})")
    if prep.success:
        scan = defs.resolve_job_def("scan_seed_blocks")
        keys = seed_blocks.get_partition_keys()
        seconds = candidates = 0.0
        for key in keys:
            r = scan.execute_in_process(partition_key=key, run_config=QUIET, instance=instance,
                                        raise_on_error=False)
            results.append(r)
            m = _meta(r, "survivors")
            seconds += m.get("seconds", 0.0)
            candidates += m.get("candidates_scanned", 0)
        lines.append(f"survivors: {len(keys)} seed blocks, {candidates:,.0f} candidates in "
                     f"{seconds:.1f} s of scanning")
        pool = defs.resolve_job_def("pool").execute_in_process(run_config=QUIET,
                                                               instance=instance,
                                                               raise_on_error=False)
        results.append(pool)
        p = _meta(pool, "survivor_pool")
        if p:
            found = ", ".join(f"seed {c['seed']} (offset {c['offset']}, gap {c['gap']}, "
                              f"{c['matches']} matches)" for c in p["top_candidates"])
            verdict = "beats chance" if p["significant"] else "NOT distinguishable from chance"
            lines.append(f"survivor_pool: {p['survivors']} survivor(s) against "
                         f"{p['null_expected']:.3g} expected by chance (p = {p['p_value']:.3g}): "
                         f"{verdict}")
            lines.append(f"recovered: {found or 'nothing'}")
    passed, failed = [], []
    for r in results:
        for e in r.get_asset_check_evaluations():
            (passed if e.passed else failed).append(e.check_name)
    lines.append(f"checks: {len(passed)} passed"
                 + (f", FAILED: {', '.join(failed)}" if failed else ""))
    ok = all(r.success for r in results)
    lines.append(f"{len(results)} runs {'succeeded' if ok else 'did NOT all succeed'}; "
                 "`make ui` shows them.")
    return lines, ok


def main() -> int:
    from prng_assets.definitions import defs

    path = write_demo_scenario()
    truth = read_truth(path)
    print(f"scenario: {path} - {truth.generator} {truth.draw}, planted seed {truth.seed}, "
          f"offset {truth.offset}, gap {truth.gap_range[0]}")
    lines, ok = run_demo(defs, dg.DagsterInstance.get(), path)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

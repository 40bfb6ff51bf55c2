"""``make demo``: write the bundled scenario, run every step on it, print what was found."""

import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from gpu_executors.linear.identity import describe
from gpu_executors.prng.synth import planted_history, read_truth, write_history
from prng_assets import case_runs
from prng_assets.checks.kinds import CheckKind, kind_of
from prng_assets.partitions import BLOCKS, DEMO_CASE

# The bundled scenario: java_lcg draws mod 1000 from a planted seed, 3 words skipped before the
# first draw and 2 between draws. The seed lies in the default scanned space (2^22 seeds in 16
# blocks), which the CPU sieve covers in seconds.
DEMO = {"generator": "java_lcg", "draw": "mod:1000", "seed": 3_141_592, "n": 400,
        "offset": 3, "gap": (2, 2)}
DEMO_PATH = Path("data/demo/history.json")
WARNINGS_ONLY = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# A deliberately loose sieve (at least 2 of 10 window draws, offsets 0..8, gaps 0..4), the
# original system's regime: thousands of chance survivors and the planted one among them, so
# the ranking has a pool to rank. The pool's match tiers still single the planted seed out.
DEMO_SIEVE = {"search": False, "window": 10, "offset_min": 0, "offset_max": 8, "gap_min": 0,
              "gap_max": 4, "max_misses": 8}
# The ranking, sized for a demo: 40 scorer trials, 6 trials x 3 folds per model family.
DEMO_ML = {"optimal_scorer_config": {"config": {"n_trials": 40}},
           **{f"model_{f}": {"config": {"n_trials": 6, "folds": 3}}
              for f in ("neural_net", "xgboost", "lightgbm", "catboost")}}


def write_demo_scenario(path: Path = DEMO_PATH) -> Path:
    values, truth = planted_history(**DEMO)
    return write_history(path, values, truth)


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    mats = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in mats[-1].metadata.items()} if mats else {}


def run_demo(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    path: Path,
    sieve: dict | None = None,
    ml: dict | None = None,
    case: str = DEMO_CASE,
) -> tuple[list[str], bool]:
    """Materialise every asset of ``case`` on ``path``: the head, the seed blocks, the pool, then
    the ranking and predictions (skipped when ``ml`` is None).

    Returns the summary lines and whether every run succeeded.
    """
    results = []
    prep = case_runs.prepare(defs, instance, case, case_runs.head_config(path, sieve),
                             WARNINGS_ONLY)
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
        how = (f"{settings['trials_completed']} Optuna trials completed, "
               f"{settings.get('trials_pruned', 0)} pruned (nothing survived), best evidence "
               f"{settings['best_evidence']:.1f}" if settings["searched"]
               else "given directly, search: false")
        lines.append(
            f"sieve_settings: {s['generator']} {s['draw']}, window {s['window']}, offsets "
            f"{s['offset_min']}..{s['offset_max']}, gaps {s['gap_min']}..{s['gap_max']} "
            f"{s.get('gap_mode', 'constant')}, max_misses {s['max_misses']} ({how})")
    if prep.success:
        r = case_runs.scan(defs, instance, case, extra=WARNINGS_ONLY)
        results.append(r)
        m = _meta(r, "survivors")
        lines.append(f"survivors: {BLOCKS.count} seed blocks, "
                     f"{m.get('candidates_scanned', 0):,.0f} candidates in "
                     f"{m.get('seconds', 0.0):.1f} s of scanning")
        pool = case_runs.pool(defs, instance, case, WARNINGS_ONLY)
        results.append(pool)
        p = _meta(pool, "survivor_pool")
        if p:
            tier = p.get("best_tier") or {}
            beyond = [c for c in p["top_candidates"]
                      if p["significant"] and c["matches"] >= tier.get("min_matches", 0)]
            found = ", ".join(f"{describe(c)}: {c['matches']} matches" for c in beyond)
            verdict = "beats chance" if p["significant"] else "NOT distinguishable from chance"
            lines.append(f"survivor_pool: {p['survivors']} survivor(s) against "
                         f"{p['null_expected']:.3g} expected by chance (p = {p['p_value']:.3g}): "
                         f"{verdict}")
            if tier:
                lines.append(f"  best match tier: {tier['observed']} survivor(s) with >= "
                             f"{tier['min_matches']} matches against {tier['null_expected']:.3g} "
                             f"expected (p = {p['tier_p_value']:.3g}, Bonferroni over tiers)")
            lines.append(f"recovered: {found or 'nothing beyond chance'}")
            if ml is not None and pool.success:
                ranked = case_runs.rank(defs, instance, case, ml, WARNINGS_ONLY)
                results.append(ranked)
                lines.extend(_ml_lines(ranked))
    lines.append(check_summary(e for r in results for e in r.get_asset_check_evaluations()))
    ok = all(r.success for r in results)
    lines.append(f"{len(results)} runs {'succeeded' if ok else 'did NOT all succeed'}; "
                 "`make ui` shows them.")
    return lines, ok


def check_summary(evaluations: Iterable[dg.AssetCheckEvaluation]) -> str:
    """One line that keeps "no signal found" apart from "something is wrong": a failed finding
    check is an answer, a failed integrity check is a bug or bad data whatever its severity."""
    passed, no_finding, wrong = [], [], []
    for e in evaluations:
        if e.passed:
            passed.append(e.check_name)
        elif kind_of(e.check_name) is CheckKind.FINDING:
            no_finding.append(e.check_name)
        else:
            wrong.append(f"{e.check_name} ({e.severity.value.lower()})")
    return (f"checks: {len(passed)} passed"
            + (f"; no finding (no signal, as reported above): {', '.join(no_finding)}"
               if no_finding else "")
            + (f"; SOMETHING IS WRONG (a bug or bad data): {', '.join(wrong)}"
               if wrong else ""))


def _ml_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    sc = _meta(result, "optimal_scorer_config")
    if sc.get("status") == "skipped":
        lines.append(f"optimal_scorer_config: skipped - {sc['reason']}")
    elif sc:
        lines.append(f"optimal_scorer_config: {sc['trials_completed']}/{sc['trials_requested']} "
                     f"trials, best rho {sc['best_value']:+.3f}; validated rho "
                     f"{sc['validated_rho']:+.3f} (p = {sc['validated_p_value']:.3g}): "
                     f"{sc['verdict']}")
    fm = _meta(result, "feature_matrix")
    if fm:
        lines.append(f"feature_matrix: {fm['rows']} survivors x {fm['features']} features in "
                     f"{fm['seconds']:.1f} s; holdout hits {fm['holdout_hits_mean']:.4f} on "
                     f"average vs chance {fm['holdout_hits_chance']:.4f}")
    mc = _meta(result, "model_comparison")
    if mc.get("status") == "skipped":
        lines.append(f"model_comparison: skipped, no winner - {mc['reason']}")
    elif mc:
        lines.append(f"model_comparison: winner {mc['winner']}, test R^2 "
                     f"{mc['winner_test_r2']:+.4f} (permutation p = "
                     f"{mc['winner_permutation_p_value']:.3g} as the best of "
                     f"{mc['families_compared']}; {mc['winner_permutation_p_raw']:.3g} alone)")
    pr = _meta(result, "predictions")
    if pr:
        if pr["status"] == "predict":
            lines.append(f"predictions: {pr['reason']}")
            for pick in pr["predictions"][:3]:
                lines.append(f"  #{pick['rank']} {describe(pick)}, {pick['source']}: next "
                             f"draws {pick['next_draws']}")
        else:
            lines.append(f"predictions: ABSTAIN - {pr['reason']}")
    return lines


def main() -> int:
    from prng_assets.definitions import defs

    path = write_demo_scenario()
    truth = read_truth(path)
    print(f"scenario: {path} - {truth.generator} {truth.draw}, planted seed {truth.seed}, "
          f"offset {truth.offset}, gap {truth.gap_range[0]}")
    lines, ok = run_demo(defs, dg.DagsterInstance.get(), path, DEMO_SIEVE, DEMO_ML)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""What a failed check means: no signal was found (a finding) or something is wrong (integrity).

A failed FINDING check is an honest answer ("no seed beats chance"); a failed INTEGRITY check is
a bug or bad data, whatever its severity. The demo and the UI must not mix the two, so every
check is classified here, in one table (the check modules stay as they are), and
``with_kinds`` writes the kind into each check's description and definition metadata, which
the UI shows. A check missing from the table fails ``test_every_check_has_a_kind``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import dagster as dg


class CheckKind(StrEnum):
    FINDING = "finding"  # failed: no signal found (an answer, not an error)
    INTEGRITY = "integrity"  # failed: a bug or bad data


FINDING, INTEGRITY = CheckKind.FINDING, CheckKind.INTEGRITY
KINDS: dict[str, CheckKind] = {
    # ingest
    "draw_values_in_range": INTEGRITY,
    "draw_dates_unique": INTEGRITY,
    "draw_history_enough_for_window": INTEGRITY,
    # sieve
    "all_seed_blocks_scanned": INTEGRITY,
    "survivors_beat_null": FINDING,
    "settings_reached_sieve": INTEGRITY,
    "gpu_survivors_reverified": INTEGRITY,
    "reverse_pass_is_backward": INTEGRITY,
    "truth_recovered": INTEGRITY,  # a planted candidate in scope and not found: the sieve is broken
    "pool_survivors_recomputed": INTEGRITY,
    "sieve_settings_as_requested": INTEGRITY,
    "sieve_trials_differ": INTEGRITY,
    "sieve_trials_all_completed": INTEGRITY,
    "sieve_best_settings_complete": INTEGRITY,
    "sieve_trials_found_evidence": FINDING,  # nothing survived any trial: chosen blind
    # scorer
    "scorer_trials_differ": INTEGRITY,
    "scorer_trials_all_completed": INTEGRITY,
    "scorer_best_config_complete": INTEGRITY,
    "scorer_validated_rho_positive": FINDING,
    "scorer_trial_samples_differ": INTEGRITY,
    "scorer_validated_rho_reproduced": INTEGRITY,
    # features
    "feature_matrix_uses_optimal_config": INTEGRITY,
    "feature_matrix_rebuilt_from_train": INTEGRITY,
    "feature_matrix_no_leakage": INTEGRITY,
    "feature_matrix_finite": INTEGRITY,
    "feature_matrix_constant_features": INTEGRITY,  # beyond those constant by design: a lost field
    # models
    "models_r2_sane": INTEGRITY,
    "models_shapes_equal": INTEGRITY,
    "models_predictions_vary": INTEGRITY,
    "models_training_loss_is_mse": INTEGRITY,
    "models_permutation_p_reproduced": INTEGRITY,
    "models_test_split_disjoint": INTEGRITY,
    "models_no_leakage_signature": INTEGRITY,
    "models_not_overfit": FINDING,  # CV skill that does not carry to the test rows: no real signal
    "winner_beats_permutation": FINDING,
    # predictions
    "predictions_beat_chance": FINDING,
    "predictions_backtest_reproduced": INTEGRITY,
}


def kind_of(check_name: str) -> CheckKind:
    """The check's kind; an unclassified check counts as integrity (a failure is never
    passed off as "no finding" by default)."""
    return KINDS.get(check_name, CheckKind.INTEGRITY)


def _labelled(spec: dg.AssetCheckSpec) -> dg.AssetCheckSpec:
    kind = KINDS.get(spec.name)
    if kind is None:
        return spec
    description = spec.description or ""
    if not description.startswith(f"[{kind}]"):
        description = f"[{kind}] {description}".rstrip()
    return spec._replace(description=description, metadata={**spec.metadata, "kind": str(kind)})


def with_kinds(checks: Iterable[dg.AssetChecksDefinition],
               partitions: Mapping[dg.AssetKey, dg.PartitionsDefinition | None] | None = None,
               ) -> list[dg.AssetChecksDefinition]:
    """The checks with their kind in their description and metadata (what the UI shows), each
    partitioned like its asset when ``partitions`` names it.

    Why partitioned: automation's ``all_deps_blocking_checks_passed`` reads an unpartitioned
    check's latest evaluation against the asset's latest materialization of *any* partition, so
    two cases whose runs overlap could leave each other's checks "not passed" and stall the
    pipeline for both. A partitioned check is judged per case."""
    partitions = partitions or {}
    out = []
    for check in checks:
        specs = {name: _labelled(spec)._replace(partitions_def=partitions.get(spec.asset_key))
                 for name, spec in check.check_specs_by_output_name.items()}
        out.append(dg.AssetChecksDefinition.create(
            keys_by_input_name=check.keys_by_input_name,
            node_def=check.node_def,
            check_specs_by_output_name=specs,
            can_subset=check.can_subset,
            resource_defs=check.resource_defs,
        ))
    return out

"""Gap modes in the sieve settings and the window optimiser: "both" scans constant and variable
gaps and weighs their survivors together against the joint null; the default bounds are the
widest the null model allows."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import optuna
import pytest

from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.settings import (
    SEARCHED,
    SearchBounds,
    SieveSettings,
    loosest_null,
    scan_blocks,
    suggest_settings,
    tier_nulls,
)
from gpu_executors.sieve.strategies import GapMode, GapStrategy
from gpu_executors.significance import FINDING_ALPHA
from tests.gpu_executors.sieve.test_sieve import plant

GEN, DRAW, SEED = "lcg32", "mod:1000", 2_900_054_321


def _settings(mode: GapMode, **kw) -> SieveSettings:
    return SieveSettings(GEN, DRAW, window=10, offset_max=3, gap_min=0, gap_max=4,
                         gap_mode=mode, **kw)


def test_both_mode_finds_a_constant_gap_seed() -> None:
    train = np.array(plant(GEN, DRAW, SEED, 12, 2, 3))
    ranges = [(SEED - 300, SEED + 300)]
    both = scan_blocks(_settings(GapMode.BOTH), train, ranges, cpu_scan)
    const = scan_blocks(_settings(GapMode.CONSTANT), train, ranges, cpu_scan)
    var = scan_blocks(_settings(GapMode.VARIABLE), train, ranges, cpu_scan)
    assert const["survivors"] == 1, "the planted (seed, offset 2, gap 3)"
    # A constant gap is also a variable-gap sequence: both scans keep the seed, as two rows.
    assert var["survivors"] == 1
    assert both["by_mode"] == {"constant": const["by_mode"]["constant"],
                               "variable": var["by_mode"]["variable"]}
    assert both["survivors"] == 2
    assert both["null_expected"] == pytest.approx(const["null_expected"] + var["null_expected"])
    assert both["evidence"] > 10
    # the joint null per match tier is the sum of the two scans' tiers
    tiers = tier_nulls(_settings(GapMode.BOTH), train, {False: 4000, True: 1000})
    c = tier_nulls(_settings(GapMode.CONSTANT), train, 4000)
    v = tier_nulls(_settings(GapMode.VARIABLE), train, 1000)
    assert tiers == pytest.approx({k: c[k] + v[k] for k in c})


def test_default_bounds_are_the_widest_that_single_out_a_seed() -> None:
    """Over 2^32 seeds with draws mod 1000, the loosest setting of the default bounds keeps
    fewer than FINDING_ALPHA chance survivors; one more gap would not; the former bounds
    (window from 6, gaps 0-4) could not with variable gaps."""
    bounds = SearchBounds()
    assert loosest_null(bounds) < FINDING_ALPHA
    wider = dataclasses.replace(bounds, gap=(bounds.gap[0], bounds.gap[1] + 1))
    assert loosest_null(wider) > FINDING_ALPHA
    former = SearchBounds(window=(6, 16), offset=(0, 8), gap=(0, 4))
    assert loosest_null(former) > 0.5
    assert loosest_null(dataclasses.replace(former, gap_modes=(GapMode.CONSTANT,))) < 0.01


def test_the_gap_mode_is_a_searched_dimension() -> None:
    assert "gap_mode" in SEARCHED
    base = SieveSettings(GEN, DRAW)
    bounds = SearchBounds()
    params = {"window": 9, "gap_min": 1, "gap_max": 5, "max_misses": 1, "offset_max": 2,
              "gap_mode": "both"}
    chosen = suggest_settings(optuna.trial.FixedTrial(params), base, bounds)
    assert chosen.gap_mode is GapMode.BOTH and chosen.variable_gap
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        seen.add(suggest_settings(trial, base, bounds).gap_mode)
        study.tell(trial, 0.0)
    assert seen == set(GapMode)
    state = suggest_settings(optuna.trial.FixedTrial({**params, "gap_mode": "constant",
                                                      "anchor": 0}),
                             dataclasses.replace(base, mode="state"), bounds)
    assert state.gap_mode is GapMode.CONSTANT
    with pytest.raises(ValueError, match="state scans use a constant gap"):
        SieveSettings(GEN, DRAW, mode="state", gap_mode="variable").validate()


def test_settings_round_trip_and_read_older_records() -> None:
    s = _settings(GapMode.BOTH, gap_strategies=("greedy", "steady"))
    d = json.loads(json.dumps(s.to_dict()))
    assert d["gap_mode"] == "both" and d["gap_strategies"] == ["steady", "greedy"]
    assert SieveSettings.from_dict(d) == s
    old = {k: v for k, v in d.items() if k not in ("gap_mode", "gap_strategies")}
    legacy = SieveSettings.from_dict({**old, "variable_gap": True})
    assert legacy.gap_mode is GapMode.VARIABLE
    assert legacy.gap_strategies == tuple(GapStrategy)
    assert SieveSettings.from_dict({**old, "variable_gap": False}).gap_mode is GapMode.CONSTANT
    with pytest.raises(ValueError, match="unknown gap mode"):
        SieveSettings(GEN, DRAW, gap_mode="sometimes")
    with pytest.raises(ValueError, match="gap modes"):
        SearchBounds(gap_modes=()).validate()

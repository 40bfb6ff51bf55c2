"""Every feature column equals a slow plain numpy/Python reference, and features read the train
draws only (the feature kernels are cached on disk).
"""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from gpu_executors.ranking.features import feature_columns, temporal_windows
from gpu_executors.ranking.schema import BATTERY_COLUMNS, FEATURE_SCHEMA, ScorerConfig


def _ols_slope(y: list[float]) -> float:
    if len(y) < 2:
        return 0.0
    return float(np.polyfit(np.arange(len(y)), y, 1)[0])


def reference_features(
    p: np.ndarray, t: np.ndarray, low: int, m_all: int, window: int, cfg: ScorerConfig
) -> dict[str, float]:
    """Every feature of one row, slowly, straight from the definitions."""
    n = t.shape[0]
    a, b = p - low, t - low
    f: dict[str, float] = {}
    eq = p == t
    f["train_match_rate"] = eq.mean()
    w0 = min(window, n)
    k = int(eq[w0:].sum())
    n_out = n - w0
    f["outside_window_match_rate"] = k / n_out if n_out else 0.0
    sf = stats.binom.sf(k - 1, n_out, 1 / m_all) if n_out else 1.0
    f["outside_window_evidence"] = 320.0 if sf <= 0 else min(320.0, max(0.0, -math.log10(sf)))
    rates = []
    for s, m in enumerate(cfg.residue_mods, 1):
        ra, rb = a % m, b % m
        d = np.abs(ra - rb)
        d = np.minimum(d, m - d)
        rates.append((ra == rb).mean())
        f[f"residue_{s}_match_rate"] = rates[-1]
        f[f"residue_{s}_near_rate"] = (d <= math.floor(cfg.keep_fraction * m / 2)).mean()
        pp = np.maximum(np.bincount(ra, minlength=m) / n, 1e-10)
        qq = np.maximum(np.bincount(rb, minlength=m) / n, 1e-10)
        kl = float(np.sum(pp * np.log(pp / qq)))
        f[f"residue_{s}_kl"] = kl
        f[f"residue_{s}_coherence"] = 1 / (1 + kl)
    f["lane_agreement"] = np.mean(rates)
    f["lane_consistency"] = np.std(rates)
    digits = [(a // 10**e % 10 == b // 10**e % 10).mean() for e in range(3)]
    f["ones_digit_agreement"], f["tens_digit_agreement"], f["hundreds_digit_agreement"] = digits
    f["digit_agreement_sum"] = sum(digits)
    # temporal windows, straight from the rule
    big_t, big_k = cfg.temporal_window, cfg.temporal_windows
    if n < big_t:
        wins = [(0, n)]
    else:
        stride = max(1, (n - big_t) // big_k)
        wins = [(i * stride, min(i * stride + big_t, n)) for i in range(big_k)]
        wins = [(s, e) for s, e in wins if e - s >= big_t / 2]
    r_exact = [eq[s:e].mean() for s, e in wins]
    r_res1 = [
        ((a[s:e] % cfg.residue_mods[0]) == (b[s:e] % cfg.residue_mods[0])).mean() for s, e in wins
    ]
    f["temporal_mean"] = np.mean(r_exact)
    f["temporal_std"] = np.std(r_exact)
    f["temporal_min"] = min(r_exact)
    f["temporal_max"] = max(r_exact)
    f["temporal_trend"] = _ols_slope(r_exact)
    f["temporal_confident_share"] = np.mean([r >= cfg.min_confidence for r in r_res1])
    r = p - t
    f["pred_mean"] = a.mean() / m_all
    f["pred_std"] = p.std() / m_all
    f["pred_min"] = (p.min() - low) / m_all
    f["pred_max"] = (p.max() - low) / m_all
    f["residual_mean"] = r.mean() / m_all
    f["residual_std"] = r.std() / m_all
    f["residual_abs_mean"] = np.abs(r).mean() / m_all
    f["residual_max_abs"] = np.abs(r).max() / m_all
    battery = [k for k in FEATURE_SCHEMA if k.startswith(("fft_", "autocorr_", "cusum_", "pop"))]
    if n < 8:
        return f | dict.fromkeys(battery, 0.0)
    x = p.astype(float) - p.mean()
    spec = np.sort(np.abs(np.fft.rfft(x))[1:])
    f["fft_peak"] = spec[-1] / (math.sqrt(n) * m_all)
    f["fft_secondary_peak"] = spec[-2] / (math.sqrt(n) * m_all)
    f["fft_spectral_concentration"] = spec[-1] / spec.sum() if spec.sum() > 0 else 0.0
    dspec = np.abs(np.fft.rfft(np.diff(p).astype(float)))[1:]
    f["fft_diff_peak"] = dspec.max() / (math.sqrt(n - 1) * m_all)
    f["fft_diff_concentration"] = dspec.max() / dspec.sum() if dspec.sum() > 0 else 0.0
    denom = float(np.sum(x * x))
    ac = [
        float(np.sum(x[:-k] * x[k:])) / denom if denom > 0 and k < n else 0.0 for k in range(1, 11)
    ]
    for k, v in enumerate(ac, 1):
        f[f"autocorr_lag_{k:02d}"] = v
    f["autocorr_decay"] = float(np.polyfit(np.arange(1, 11), np.abs(ac), 1)[0])
    f["autocorr_significant_lags"] = float(sum(abs(v) > 2 / math.sqrt(n) for v in ac))
    # cusum of the centered values, exactly: n * S_t = n * cumsum(a)_t - (t + 1) * sum(a)
    total, run, scaled = int(a.sum()), 0, []
    for i, v in enumerate(a.tolist()):
        run += v
        scaled.append(n * run - (i + 1) * total)
    excursions = np.abs(np.cumsum(a - a.mean()))
    f["cusum_max_excursion"] = excursions.max() / (m_all * math.sqrt(n))
    f["cusum_mean_excursion"] = excursions.mean() / (m_all * math.sqrt(n))
    signs = [1 if s > 0 else -1 for s in scaled if s != 0]
    f["cusum_zero_crossings"] = float(sum(u != v for u, v in itertools.pairwise(signs)))
    bits = max(1, (m_all - 1).bit_length())
    pops = np.array([bin(int(v)).count("1") for v in a])
    f["popcount_mean"] = pops.mean() / bits
    f["popcount_std"] = pops.std() / bits
    return f


def _rows(rng: np.random.Generator, train: np.ndarray, low: int, m_all: int) -> np.ndarray:
    """Planted (== train), random, constant, half-right and residue-only rows."""
    n = train.shape[0]
    half = train.copy()
    half[n // 2 :] = rng.integers(low, low + m_all, n - n // 2)
    shifted = (train - low + m_all // 2) % m_all + low  # no exact matches, same shape
    return np.stack(
        [
            train,
            rng.integers(low, low + m_all, n),
            rng.integers(low, low + m_all, n),
            np.full(n, low + 3),
            half,
            shifted,
        ]
    ).astype(np.int64)


CASES = {
    "default": (0, 1000, 300, 20, ScorerConfig(temporal_window=50, temporal_windows=4)),
    "low1_mod36": (1, 36, 257, 8, ScorerConfig((4, 9, 36), 0.3, 40, 3, 0.5)),
    "no_lookup_table": (0, 100_000, 120, 300, ScorerConfig()),  # window > n: nothing outside
    "short": (5, 50, 6, 2, ScorerConfig((2, 5, 10), 0.5, 10, 2, 0.0)),  # battery columns 0
}


@pytest.mark.parametrize("case", list(CASES))
def test_features_equal_reference(case):
    low, m_all, n, window, cfg = CASES[case]
    rng = np.random.default_rng(list(CASES).index(case))
    train = rng.integers(low, low + m_all, n).astype(np.int64)
    pred = _rows(rng, train, low, m_all)
    got = feature_columns(pred, train, low, m_all, window, cfg)
    assert list(got) == list(FEATURE_SCHEMA)
    for i in range(pred.shape[0]):
        want = reference_features(pred[i], train, low, m_all, window, cfg)
        assert set(want) == set(FEATURE_SCHEMA)
        for name in FEATURE_SCHEMA:
            col = got[name]
            assert col.dtype == np.float64 and col.shape == (pred.shape[0],)
            assert np.isfinite(col).all(), name
            np.testing.assert_allclose(
                col[i], want[name], rtol=1e-9, atol=1e-12, err_msg=f"{case} row {i} {name}"
            )


def test_planted_candidate_features():
    low, m_all, n, window, cfg = CASES["default"]
    train = np.random.default_rng(3).integers(0, m_all, n).astype(np.int64)
    got = feature_columns(train[None, :], train, low, m_all, window, cfg)
    assert got["train_match_rate"][0] == 1.0
    assert got["outside_window_match_rate"][0] == 1.0
    assert got["outside_window_evidence"][0] == 320.0  # 280 exact matches at p = 1/1000
    for s in (1, 2, 3):
        assert got[f"residue_{s}_match_rate"][0] == 1.0
        assert got[f"residue_{s}_near_rate"][0] == 1.0
        assert got[f"residue_{s}_kl"][0] == 0.0
        assert got[f"residue_{s}_coherence"][0] == 1.0
    assert got["residual_abs_mean"][0] == 0.0 and got["temporal_min"][0] == 1.0


def test_near_rate_is_about_keep_fraction_under_chance():
    rng = np.random.default_rng(11)
    train = rng.integers(0, 1000, 2000)
    pred = rng.integers(0, 1000, (50, 2000))
    cfg = ScorerConfig(residue_mods=(125, 500, 1000), keep_fraction=0.2)
    got = feature_columns(pred, train, 0, 1000, 8, cfg)
    for s in (1, 2, 3):
        assert abs(got[f"residue_{s}_near_rate"].mean() - 0.2) < 0.01


def test_spectral_false_leaves_only_the_battery_out():
    rng = np.random.default_rng(3)
    train = rng.integers(0, 1000, 300)
    pred = rng.integers(0, 1000, (20, 300))
    full = feature_columns(pred, train, 0, 1000, 8, ScorerConfig())
    lean = feature_columns(pred, train, 0, 1000, 8, ScorerConfig(), spectral=False)
    for name, values in full.items():
        if name in BATTERY_COLUMNS:
            assert (lean[name] == 0).all()
        else:
            np.testing.assert_array_equal(lean[name], values)


def test_features_never_read_past_the_train_draws():
    assert list(inspect.signature(feature_columns).parameters) == [
        "pred",
        "train",
        "low",
        "modulus",
        "window",
        "config",
        "spectral",  # a flag that only skips the configuration-free battery
    ]
    low, m_all, n, window, cfg = CASES["default"]
    rng = np.random.default_rng(5)
    train = rng.integers(0, m_all, n).astype(np.int64)
    longer = np.concatenate(
        [_rows(rng, train, low, m_all), rng.integers(0, m_all, (6, 80))], axis=1
    )
    a = feature_columns(longer, train, low, m_all, window, cfg)
    b = feature_columns(longer[:, :n], train, low, m_all, window, cfg)
    longer[:, n:] = rng.integers(0, m_all, (6, 80))  # a different "holdout"
    c = feature_columns(longer, train, low, m_all, window, cfg)
    for name in FEATURE_SCHEMA:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        np.testing.assert_array_equal(a[name], c[name], err_msg=name)


def test_temporal_windows_rule():
    cfg = ScorerConfig(temporal_window=100, temporal_windows=5)
    assert temporal_windows(2000, cfg) == [(i * 380, i * 380 + 100) for i in range(5)]
    assert temporal_windows(60, cfg) == [(0, 60)]
    # stride 1: windows from 1..4 shrink; those shorter than T/2 are skipped
    assert temporal_windows(102, cfg) == [(0, 100), (1, 101), (2, 102), (3, 102), (4, 102)]
    assert temporal_windows(100, ScorerConfig(temporal_window=100, temporal_windows=60))[-1] == (
        50,
        100,
    )

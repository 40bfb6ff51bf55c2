"""The feature set's definition: its knobs (``ScorerConfig``) and every column it produces.

Feature names are stable across scorer configurations: residue features are named by slot
(``residue_1_*`` .. ``residue_3_*``), not by modulus, so a model trained under one
``ScorerConfig`` reads the same columns as another and a configuration search compares like with
like. ``keep_fraction`` is the share of a residue circle counted as "near": two residues are near
when their circular distance is at most ``floor(keep_fraction * m / 2)``, so under chance the near
rate is about ``keep_fraction`` whatever ``m`` is (scale-invariant).

The column positions (``C_*``) live here, next to the names they index, so that the compiled
feature and spectrum kernels and every reader agree on one layout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields

import numpy as np

N_SLOTS = 3  # residue slots of a ScorerConfig
N_LAGS = 10  # autocorrelation lags

@dataclass(frozen=True)
class ScorerConfig:
    """The knobs of the feature set (not of the targets)."""

    residue_mods: tuple[int, int, int] = (8, 125, 1000)
    keep_fraction: float = 0.1
    temporal_window: int = 100
    temporal_windows: int = 5
    min_confidence: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "residue_mods", tuple(self.residue_mods))

    def validate(self) -> None:
        """Raise ValueError naming the rule broken."""
        mods = self.residue_mods
        if len(mods) != N_SLOTS:
            raise ValueError(f"residue_mods needs exactly {N_SLOTS} moduli, got {len(mods)}")
        for m in mods:
            if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 2:
                raise ValueError(f"residue_mods must be integers >= 2, got {m!r}")
        if not 0.0 < self.keep_fraction < 1.0:
            raise ValueError(f"keep_fraction must be in (0, 1), got {self.keep_fraction}")
        if self.temporal_window < 2:
            raise ValueError(f"temporal_window must be >= 2, got {self.temporal_window}")
        if self.temporal_windows < 1:
            raise ValueError(f"temporal_windows must be >= 1, got {self.temporal_windows}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")

    def to_dict(self) -> dict:
        return {
            "residue_mods": [int(m) for m in self.residue_mods],
            "keep_fraction": float(self.keep_fraction),
            "temporal_window": int(self.temporal_window),
            "temporal_windows": int(self.temporal_windows),
            "min_confidence": float(self.min_confidence),
        }

    def digest(self) -> str:
        """First 16 hex digits of the sha256 of the sorted JSON of ``to_dict()``."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: dict) -> ScorerConfig:
        """Inverse of ``to_dict``; an unknown key is a ValueError, missing keys take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ScorerConfig keys {unknown}; valid: {sorted(known)}")
        kw = dict(d)
        if "residue_mods" in kw:
            kw["residue_mods"] = tuple(int(m) for m in kw["residue_mods"])
        config = cls(**kw)
        config.validate()
        return config



def _residue_schema() -> dict[str, str]:
    out = {}
    for k in range(1, N_SLOTS + 1):
        m = f"m{k} = residue_mods[{k - 1}]"
        out[f"residue_{k}_match_rate"] = (
            f"share of train draws with (pred-low)%m == (train-low)%m; {m}"
        )
        out[f"residue_{k}_near_rate"] = (
            f"share with circular residue distance <= floor(keep_fraction*m/2); {m}"
        )
        out[f"residue_{k}_kl"] = f"KL(hist_m(pred) || hist_m(train)), probabilities >= 1e-10; {m}"
        out[f"residue_{k}_coherence"] = f"1 / (1 + residue_{k}_kl)"
    return out


FEATURE_SCHEMA: dict[str, str] = {
    "train_match_rate": "share of train draws predicted exactly",
    "outside_window_match_rate": "exact-match share of train draws after the first `window` "
    "(those the sieve did not require); 0 when there are none",
    "outside_window_evidence": "-log10 binomial P(>= k matches | n, 1/modulus) outside the "
    "window, capped at 320",
    **_residue_schema(),
    "lane_agreement": "mean of the three residue match rates",
    "lane_consistency": "population std of the three residue match rates",
    "ones_digit_agreement": "share of train draws whose (value-low) ones digits agree",
    "tens_digit_agreement": "share whose (value-low) tens digits agree",
    "hundreds_digit_agreement": "share whose (value-low) hundreds digits agree",
    "digit_agreement_sum": "sum of the three digit agreements",
    "temporal_mean": "mean exact-match rate over the temporal windows",
    "temporal_std": "population std of the per-window exact-match rates",
    "temporal_min": "lowest per-window exact-match rate",
    "temporal_max": "highest per-window exact-match rate",
    "temporal_trend": "OLS slope of the per-window match rate over window index (0: one window)",
    "temporal_confident_share": "share of windows whose residue_1 match rate >= min_confidence",
    "pred_mean": "mean of (pred-low) / modulus",
    "pred_std": "population std of pred / modulus",
    "pred_min": "min of (pred-low) / modulus",
    "pred_max": "max of (pred-low) / modulus",
    "residual_mean": "mean of (pred-train) / modulus",
    "residual_std": "population std of (pred-train) / modulus",
    "residual_abs_mean": "mean of |pred-train| / modulus",
    "residual_max_abs": "max of |pred-train| / modulus",
    "fft_peak": "largest |rfft| of the centered prediction, DC excluded, / (sqrt(n) * modulus)",
    "fft_secondary_peak": "second largest such |rfft| / (sqrt(n) * modulus)",
    "fft_spectral_concentration": "fft peak / sum of |rfft| without DC",
    "fft_diff_peak": "largest |rfft| of diff(pred), DC excluded, / (sqrt(n-1) * modulus)",
    "fft_diff_concentration": "diff peak / sum of |rfft(diff)| without DC",
    **{
        f"autocorr_lag_{k:02d}": f"sample autocorrelation of the centered prediction at lag {k}"
        for k in range(1, N_LAGS + 1)
    },
    "autocorr_decay": "OLS slope of |autocorrelation| over lags 1..10",
    "autocorr_significant_lags": "count of lags 1..10 with |autocorrelation| > 2/sqrt(n)",
    "cusum_max_excursion": "max |cumsum(pred - mean)| / (modulus * sqrt(n))",
    "cusum_mean_excursion": "mean |cumsum(pred - mean)| / (modulus * sqrt(n))",
    "cusum_zero_crossings": "count of sign changes of cumsum(pred - mean) (zeros skipped)",
    "popcount_mean": "mean popcount of (pred-low) / bit length of (modulus-1)",
    "popcount_std": "population std of popcount(pred-low) / bit length of (modulus-1)",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_SCHEMA)
_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
# Column positions the compiled kernel writes (numba reads these globals as constants).
C_MATCH = _COL["train_match_rate"]
C_OUTSIDE = _COL["outside_window_match_rate"]
C_EVIDENCE = _COL["outside_window_evidence"]
C_RESIDUE = _COL["residue_1_match_rate"]  # 4 columns per slot, slots contiguous
C_LANE = _COL["lane_agreement"]
C_DIGITS = _COL["ones_digit_agreement"]
C_TEMPORAL = _COL["temporal_mean"]
C_DIST = _COL["pred_mean"]
C_FFT = _COL["fft_peak"]
C_AUTOCORR = _COL["autocorr_lag_01"]
C_CUSUM = _COL["cusum_max_excursion"]
C_POPCOUNT = _COL["popcount_mean"]
# The battery: columns that ignore the scorer configuration (``feature_columns(spectral=False)``
# leaves them at 0 so that a caller trying many configurations computes them once).
BATTERY_COLUMNS: tuple[str, ...] = (
    *FEATURE_NAMES[C_FFT : C_FFT + 5], *FEATURE_NAMES[C_AUTOCORR : C_AUTOCORR + 12],
    *FEATURE_NAMES[C_CUSUM : C_CUSUM + 3], *FEATURE_NAMES[C_POPCOUNT : C_POPCOUNT + 2])
N_FEATURES = len(FEATURE_NAMES)

TARGET_SCHEMA: dict[str, str] = {
    "holdout_hits": "share of holdout draws predicted exactly (chance: about 1/modulus)",
    "holdout_quality": "0.5*hits + 0.25*mean lane match + 0.25*mean closeness, fixed "
    "(no lanes: 0.5*hits + 0.5*mean closeness); see target_columns",
}


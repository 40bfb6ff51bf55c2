"""The one R^2 and the input checks: no broadcasting past a shape mismatch, no NaN."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from gpu_executors.models.validation import check_xy, r2


def test_r2_refuses_mismatched_shapes_and_non_finite():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 1\)"):
        r2(y, y.reshape(-1, 1))
    with pytest.raises(ValueError, match="equal shape"):
        r2(y, y[:3])
    with pytest.raises(ValueError, match="NaN"):
        r2(y, np.array([1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(ValueError, match="constant"):
        r2(np.ones(4), y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        r2(y[:1], y[:1])
    assert r2(y, y) == 1.0
    assert r2(y, np.full(4, y.mean())) == 0.0


def test_r2_equals_the_textbook_formula():
    rng = np.random.default_rng(3)
    for n in (2, 7, 400, 20_001):
        t = rng.standard_normal(n) * 1e-3
        p = t + rng.standard_normal(n) * 1e-3
        hand = 1.0 - float(np.sum((t - p) ** 2)) / float(np.sum((t - t.mean()) ** 2))
        assert r2(t, p) == pytest.approx(hand, rel=1e-12) == r2_score(t, p)


def test_check_xy_refuses_columns_mismatches_and_non_finite():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="1-D"):
        check_xy(X, np.zeros((5, 1)))
    with pytest.raises(ValueError, match="4 rows but X has 5"):
        check_xy(X, np.zeros(4))
    with pytest.raises(ValueError, match="2-D"):
        check_xy(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="X contains NaN"):
        check_xy(np.full((5, 2), np.inf), np.zeros(5))
    big = np.full((5, 2), 1e308)  # the sum overflows; every value is still finite
    np.testing.assert_array_equal(check_xy(big, np.zeros(5))[0], big)

"""Shared data for the model tests: small (400 x 8) so each module runs in seconds."""

from __future__ import annotations

import os

# Busy-waiting OpenMP threads crawl when the cores are shared; only effective before they load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import optuna
import pytest


@pytest.fixture(scope="module", autouse=True)
def _quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8))
    y = (2.0 * np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * rng.standard_normal(400)) * 1e-3
    return X, y

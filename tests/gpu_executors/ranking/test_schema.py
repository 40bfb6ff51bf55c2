"""``ScorerConfig``: validation names the rule broken, and its digest is pinned and sensitive."""

from __future__ import annotations

import numpy as np
import pytest

from gpu_executors.ranking.features import feature_columns
from gpu_executors.ranking.schema import ScorerConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"residue_mods": (8, 1, 1000)}, "residue_mods"),
        ({"residue_mods": (8, 125)}, "exactly 3"),
        ({"keep_fraction": 0.0}, "keep_fraction"),
        ({"keep_fraction": 1.0}, "keep_fraction"),
        ({"temporal_window": 1}, "temporal_window"),
        ({"temporal_windows": 0}, "temporal_windows"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"min_confidence": -0.1}, "min_confidence"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScorerConfig(**kwargs).validate()
    with pytest.raises(ValueError, match=message):
        feature_columns(
            np.zeros((1, 10), np.int64), np.zeros(10, np.int64), 0, 10, 2, ScorerConfig(**kwargs)
        )


def test_config_digest_stable_and_sensitive():
    base = ScorerConfig()
    base.validate()
    assert base.digest() == "e432d3905fb6db37"  # pinned: a change here orphans stored models
    assert ScorerConfig.from_dict(base.to_dict()) == base
    assert ScorerConfig.from_dict(base.to_dict()).digest() == base.digest()
    assert ScorerConfig(residue_mods=[8, 125, 1000]).digest() == base.digest()
    variants = [
        ScorerConfig(residue_mods=(8, 125, 999)),
        ScorerConfig(keep_fraction=0.2),
        ScorerConfig(temporal_window=101),
        ScorerConfig(temporal_windows=4),
        ScorerConfig(min_confidence=0.2),
    ]
    digests = {v.digest() for v in variants} | {base.digest()}
    assert len(digests) == len(variants) + 1
    with pytest.raises(ValueError, match="unknown ScorerConfig keys"):
        ScorerConfig.from_dict(base.to_dict() | {"surprise": 1})
    with pytest.raises(ValueError, match="keep_fraction"):
        ScorerConfig.from_dict({"keep_fraction": 2.0})

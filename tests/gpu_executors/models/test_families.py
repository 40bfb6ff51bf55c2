"""The families' search spaces and the searched-name mapping, and the registry.

The original system's refit ignored the tuned architecture because Optuna's names never reached
the trainer: every searched name must map, explicitly, and unknown or missing ones are refused.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gpu_executors.models.budget import Budget
from gpu_executors.models.families import (
    FAMILIES,
    Family,
    ModelFamily,
    build_params,
    get_family,
    suggest_params,
)
from gpu_executors.models.search import make_study
from tests.gpu_executors.models.cheap import CHEAP
from tests.paths import ROOT


@pytest.mark.parametrize("family", FAMILIES)
def test_suggested_names_are_real_trial_params(family):
    study = make_study(seed=1)
    for _ in range(5):
        trial = study.ask()
        params = suggest_params(trial, family)
        assert params == trial.params
        build_params(family, params)  # every searched name maps
        if family == "neural_net":
            widths = [params[f"layer_{i}"] for i in range(params["n_layers"])]
            assert widths == sorted(widths, reverse=True) and widths[-1] >= 32
            assert params["batch_size"] in (0, 256, 512, 1024)
        study.tell(trial, 0.0)


def test_build_params_maps_searched_names_explicitly():
    nn = dict(CHEAP["neural_net"], n_layers=3, layer_2=16)
    assert build_params("neural_net", nn) == {
        "hidden": (64, 32, 16),
        "dropout": 0.2,
        "learning_rate": 3e-3,
        "batch_size": 256,
        "max_epochs": 50,
        "patience": 10,
    }
    assert build_params("xgboost", CHEAP["xgboost"])["colsample_bytree"] == 0.9
    assert build_params("catboost", CHEAP["catboost"]) == CHEAP["catboost"]
    with pytest.raises(ValueError, match="unknown"):
        build_params("xgboost", dict(CHEAP["xgboost"], gamma=1.0))
    with pytest.raises(ValueError, match="missing"):
        build_params("lightgbm", {k: v for k, v in CHEAP["lightgbm"].items() if k != "subsample"})
    with pytest.raises(ValueError, match="layer_2"):  # n_layers says 3, only two widths given
        build_params("neural_net", dict(CHEAP["neural_net"], n_layers=3))
    with pytest.raises(ValueError, match="n_layers"):
        build_params("neural_net", {k: v for k, v in nn.items() if k != "n_layers"})
    with pytest.raises(ValueError, match="unknown model family"):
        build_params("svm", {})


def test_registry_finds_each_family_by_its_enum_value():
    assert FAMILIES == ("neural_net", "xgboost", "lightgbm", "catboost")
    for name in FAMILIES:
        impl = get_family(name)
        assert isinstance(impl, ModelFamily)
        assert impl.name is Family(name) and get_family(Family(name)) is impl
    extensions = [get_family(f).extension for f in FAMILIES]
    assert extensions == [".pt", ".ubj", ".txt", ".cbm"]


def test_leaf_cap_counts_each_familys_leaves_per_tree():
    b = Budget(tree_max_leaves=640)
    kwargs = {"n_estimators": 300, "max_depth": 9}
    assert get_family("lightgbm").cap_rounds(dict(kwargs), b) == 640 // 31  # at most 31 leaves
    assert get_family("xgboost").cap_rounds(dict(kwargs), b) == 1  # 2^9 leaves a tree
    assert get_family("neural_net").cap_rounds({}, b) is None
    assert Budget().tree_round_cap(1024) is None


def test_importing_the_package_loads_no_model_library():
    script = (
        "import sys, json\n"
        "import gpu_executors.models.families, gpu_executors.models.persistence\n"
        "import gpu_executors.models.search, gpu_executors.models.evaluation\n"
        "from gpu_executors.models.families import get_family, FAMILIES\n"
        "[get_family(f) for f in FAMILIES]\n"
        "heavy = ('torch', 'xgboost', 'lightgbm', 'catboost', 'dagster', 'optuna')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == []

"""Native-format files, no pickle: a fresh interpreter loads every family and predicts
identically (the original system could not reload its models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gpu_executors.models.families import FAMILIES, get_family
from gpu_executors.models.fitting import fit
from gpu_executors.models.persistence import load_model, save_model
from tests.gpu_executors.models.cheap import CHEAP
from tests.paths import ROOT

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def test_fresh_process_reloads_every_family_identically(tmp_path, data):
    X, y = data
    paths = {}
    expected = {}
    for family in FAMILIES:
        m = fit(family, CHEAP[family], X[:300], y[:300], seed=2)
        paths[family] = save_model(m, tmp_path / f"model_{family}")
        assert paths[family].suffix == get_family(family).extension
        expected[family] = m.predict(X)
    np.save(tmp_path / "X.npy", X)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temp files left behind: {leftovers}"

    script = (
        "import sys, json, numpy as np\n"
        "from pathlib import Path\n"
        "from gpu_executors.models.persistence import load_model\n"
        "d = Path(sys.argv[1]); X = np.load(d / 'X.npy')\n"
        "params = {}\n"
        "for fam, path in json.loads(sys.argv[2]).items():\n"
        "    m = load_model(fam, path)\n"
        "    np.save(d / f'pred_{fam}.npy', m.predict(X))\n"
        "    params[fam] = m.params\n"
        "(d / 'params.json').write_text(json.dumps(params))\n"
        "assert 'dagster' not in sys.modules, 'gpu_executors must not import dagster'\n"
    )
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
    proc = subprocess.run(
        [python, "-c", script, str(tmp_path), json.dumps({k: str(v) for k, v in paths.items()})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    params = json.loads((tmp_path / "params.json").read_text())
    for family in FAMILIES:
        got = np.load(tmp_path / f"pred_{family}.npy")
        assert got.shape == (len(X),)
        assert np.allclose(got, expected[family], rtol=1e-6, atol=0), family
        if family == "lightgbm":  # its file keeps floats to 6 significant digits
            assert params[family]["max_depth"] == CHEAP[family]["max_depth"]
        else:
            assert params[family] == CHEAP[family]


def test_load_finds_the_extension_and_refuses_a_missing_file(tmp_path, data):
    X, y = data
    m = fit("xgboost", CHEAP["xgboost"], X[:100], y[:100])
    save_model(m, tmp_path / "model")
    again = load_model("xgboost", tmp_path / "model")  # without its extension
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    assert again.info["path"] == tmp_path / "model.ubj"
    with pytest.raises(FileNotFoundError, match="no catboost model"):
        load_model("catboost", tmp_path / "model")

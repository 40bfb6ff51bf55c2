"""Case settings files: each bad file refused with its own message, good ones become run config."""

from __future__ import annotations

from pathlib import Path

import pytest

from prng_assets.case_settings import (
    CaseSettings,
    CaseSettingsError,
    load,
    settings_for,
    settings_path,
)

GOOD = """
# the README's mt19937 example
[history]
modulus = 1000
holdout_fraction = 0.25

[sieve]
generator = "mt19937"
draw = "mod:1000"
seed_stop = 16777216
search = false
window = 10
"""


def _write(folder: Path, text: str, name: str = "mt.seedsieve.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_good_file_becomes_the_run_config_of_both_assets(tmp_path: Path) -> None:
    settings = load(_write(tmp_path, GOOD))
    draw_file = tmp_path / "mt.json"
    assert settings.run_config(draw_file) == {
        "ops": {
            "draw_history": {
                "config": {"modulus": 1000, "holdout_fraction": 0.25, "path": str(draw_file)}
            },
            "sieve_settings": {
                "config": {
                    "generator": "mt19937",
                    "draw": "mod:1000",
                    "seed_stop": 16777216,
                    "search": False,
                    "window": 10,
                }
            },
        }
    }


def test_digest_ignores_comments_and_layout_but_not_values(tmp_path: Path) -> None:
    a = load(_write(tmp_path, GOOD, "a.seedsieve.toml"))
    b = load(_write(tmp_path, "\n\n" + GOOD.replace("# the README's", "# another"), "b.toml"))
    c = load(_write(tmp_path, GOOD.replace("window = 10", "window = 11"), "c.toml"))
    assert a.digest == b.digest != c.digest


def test_the_pair_may_be_left_to_identify(tmp_path: Path) -> None:
    auto = load(_write(tmp_path, '[history]\nmodulus = 1000\n[sieve]\ngenerator = "auto"\n'))
    assert auto.sections["sieve"] == {"generator": "auto"}
    both = load(_write(tmp_path, '[sieve]\ngenerator = "mt19937,pcg32"\ndraw = "auto"\n'))
    assert both.sections["sieve"]["draw"] == "auto"


def test_own_file_over_folder_default_over_defaults(tmp_path: Path) -> None:
    draw_file = tmp_path / "mt.json"
    assert settings_path(draw_file) is None
    assert settings_for(draw_file) == CaseSettings(None, {})
    shared = _write(tmp_path, '[sieve]\ngenerator = "xorshift32"\n', "seedsieve.toml")
    assert settings_path(draw_file) == shared
    own = _write(tmp_path, GOOD)
    assert settings_path(draw_file) == own
    assert settings_path(tmp_path / "other.csv") == shared


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        ("", None, "empty: give at least one setting"),
        ("   \n# only a comment\n", None, "no settings: give at least one section"),
        ("[sieve\ngenerator = 1", None, "not TOML: "),
        (
            "[ranking]\ntop_k = 5\n",
            "[ranking]",
            "unknown section; valid: [history], [sieve], [scorer], [models], [predictions]",
        ),
        ("[predictions]\ntop = 5\n", "[predictions] top", "unknown key (did you mean 'top_k'?)"),
        ("[predictions]\nalpha = 2.0\n", "[predictions]", "0 < alpha < 1"),
        ("[scorer]\nsample_size = 3\n", "[scorer]", "sample_size 3 must be at least 20"),
        ("[models]\nfolds = 1\n", "[models]", "folds >= 2"),
        ("sieve = 3\n", "sieve", "must be a [sieve] section, not a value"),
        (
            "[sieve]\ngenrator = 'mt19937'\n",
            "[sieve] genrator",
            "unknown key (did you mean 'generator'?); valid: anchor,",
        ),
        ("[history]\npath = 'x.json'\n", "[history] path", "set by the case itself"),
        ("[sieve]\nwindow = 'ten'\n", "[sieve] window", "valid integer"),
        (
            "[sieve]\ngenerator = 'mt19938'\n",
            "[sieve] generator",
            "unknown generator 'mt19938' (did you mean 'mt19937'?)",
        ),
        ("[sieve]\ndraw = 'mod'\n", "[sieve] draw", "expected mod:M"),
        (
            "[sieve]\ngenerator = 'mt19937,pcg33'\n",
            "[sieve] generator",
            "unknown generator 'pcg33' (did you mean 'pcg32'?)",
        ),
        (
            "[sieve]\ngenerator = 'msvc_rand'\ndraw = 'nextint:10'\n",
            "[sieve] draw",
            "needs words of at least 31 bits",
        ),
        (
            "[history]\nmodulus = 100\n[sieve]\ngenerator = 'mt19937'\ndraw = 'mod:1000'\n",
            "[sieve] draw",
            "gives values in [0, 999], but [history] modulus 100",
        ),
        ("[history]\nholdout_fraction = 1.5\n", "[history]", "holdout_fraction 1.5 must be in"),
        ("[sieve]\nwindow = 0\n", "[sieve]", "window"),
        ("[sieve]\nmode = 'linear'\ngenerator = 'mt19937'\n", "[sieve]", "set search = false"),
        (
            "[sieve]\nmode = 'linear'\nsearch = false\nwindow = 700\n",
            "[sieve]",
            "'java_lcg' is not linear over GF(2)",
        ),
    ],
)
def test_each_bad_file_gets_its_own_message(tmp_path: Path, text, key, rule) -> None:
    path = _write(tmp_path, text)
    before = path.read_bytes()
    with pytest.raises(CaseSettingsError) as caught:
        load(path)
    error = caught.value
    assert error.path == path and error.key == key
    assert rule in error.rule
    assert str(error).startswith(f"{path}: ")
    assert path.read_bytes() == before


RANKING = """
[sieve]
generator = "mt19937"
draw = "mod:1000"

[scorer]
n_trials = 7

[models]
n_trials = 3
folds = 2

[predictions]
top_k = 4
next_draws = 3
"""


def test_ranking_sections_are_not_run_config_but_recorded(tmp_path: Path) -> None:
    """The assets automation runs take no run config: their sections reach them through the
    case's recorded settings (case_config), not the sensor's run."""
    settings = load(_write(tmp_path, RANKING))
    ops = settings.run_config(tmp_path / "mt.json")["ops"]
    assert set(ops) == {"draw_history", "sieve_settings"}
    assert settings.sections["predictions"] == {"top_k": 4, "next_draws": 3}


def test_case_sections_under_the_run_config(tmp_path: Path) -> None:
    """The case's [section] over the defaults; a run-config value other than its default wins."""
    from prng_assets.artefact_keys import CASE_SETTINGS
    from prng_assets.assets.models import ModelSearchConfig
    from prng_assets.assets.predictions import PredictionsConfig
    from prng_assets.case_config import with_case_settings
    from resources.artefacts import ArtefactStore

    store = ArtefactStore(root=str(tmp_path / "art"))
    plain, source = with_case_settings(PredictionsConfig(), store, "predictions")
    assert plain == PredictionsConfig() and "sets no [predictions]" in source
    settings = load(_write(tmp_path, RANKING))
    store.write_json({"path": str(settings.path), "digest": settings.digest,
                      "sections": settings.sections}, *CASE_SETTINGS)
    config, source = with_case_settings(PredictionsConfig(), store, "predictions")
    assert (config.top_k, config.next_draws, config.alpha) == (4, 3, PredictionsConfig().alpha)
    assert source == f"[predictions] of {settings.path}"
    config, source = with_case_settings(PredictionsConfig(top_k=9), store, "predictions")
    assert (config.top_k, config.next_draws) == (9, 3)
    assert source.endswith("run config for top_k")
    models, _ = with_case_settings(ModelSearchConfig(), store, "models")
    assert (models.n_trials, models.folds, models.seed) == (3, 2, 0)


def test_a_linear_case_file_is_accepted(tmp_path: Path) -> None:
    text = ("[history]\nmodulus = 1000\n[sieve]\nmode = 'linear'\ngenerator = 'python_random'\n"
            "draw = 'mod:1000'\nsearch = false\nwindow = 7000\n")
    sieve = load(_write(tmp_path, text)).run_config(tmp_path / "py.json")["ops"]["sieve_settings"]
    assert sieve["config"]["mode"] == "linear" and sieve["config"]["window"] == 7000

"""The command line as users type it: synth, crack, and one `dagster asset materialize`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import GENERATORS
from gpu_executors.prng.synth import read_truth
from prng_assets.cli import main
from tests.paths import ROOT


def test_synth_planted_and_truth_sidecar(tmp_path: Path, capsys) -> None:
    out = tmp_path / "h.json"
    rc = main(
        [
            "synth",
            "--generator",
            "mt19937",
            "--draw",
            "mod:1000",
            "--seed",
            "1234567890",
            "--n",
            "6",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    records = json.loads(out.read_text())
    # php_mt_seed's README example: mt_srand(1234567890), mt_rand() % 1000 -> 298 751 134 991
    assert [r["draw"] for r in records[:4]] == [298, 751, 134, 991]
    assert {"date", "session", "draw"} <= set(records[0])
    truth = read_truth(out)
    assert (truth.generator, truth.seed, truth.offset, truth.kind) == (
        "mt19937",
        1234567890,
        0,
        "planted",
    )


def test_synth_variable_gap_records_the_gaps(tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    assert (
        main(
            [
                "synth",
                "--generator",
                "xorshift32",
                "--draw",
                "mod:100",
                "--seed",
                "77",
                "--offset",
                "2",
                "--gap",
                "1:4",
                "--n",
                "30",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    truth = read_truth(out)
    assert len(truth.gaps) == 29 and all(1 <= g <= 4 for g in truth.gaps)
    assert len(set(truth.gaps)) > 1


def test_synth_random_control(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["synth", "--random", "--modulus", "1000", "--n", "5000", "--out", str(out)]) == 0
    values = [r["draw"] for r in json.loads(out.read_text())]
    assert len(values) == 5000 and min(values) >= 0 and max(values) < 1000
    assert len(set(values)) > 900
    assert read_truth(out).kind == "random"


def test_crack_finds_php_mt_seed_example(capsys) -> None:
    rc = main(
        [
            "crack",
            "--generator",
            "mt19937",
            "--draw",
            "mod:1000",
            "--seeds",
            "1234560000:1234570000",
            "--json",
            "298",
            "751",
            "134",
            "991",
        ]
    )
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert [s["seed"] for s in payload["survivors"]] == [1234567890]
    assert payload["survivors"][0]["matches"] == 4
    assert payload["candidates_scanned"] == 10000
    assert 0 < payload["null_expected"] < 1e-6
    assert {"seconds", "backend"} <= set(payload)


def test_crack_imports_only_what_a_scan_needs() -> None:
    """The crack path loads no Dagster, torch, model library or scipy.stats: each costs seconds
    of start-up on every run (the kernels themselves come from the on-disk cache)."""
    script = (
        "import sys\n"
        "from prng_assets.cli import main\n"
        "rc = main(['crack', '--generator', 'mt19937', '--draw', 'mod:1000', '--seeds',\n"
        "           '1234567000:1234568000', '--json', '298', '751', '134', '991'])\n"
        "heavy = ['dagster', 'torch', 'triton', 'xgboost', 'lightgbm', 'catboost', 'sklearn',\n"
        "         'optuna', 'matplotlib', 'scipy.stats']\n"
        "print(rc, [m for m in heavy if m in sys.modules])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"seed": 1234567890' in proc.stdout
    assert proc.stdout.strip().endswith("0 []"), proc.stdout[-500:]


def test_warm_loads_what_is_cached() -> None:
    """``seedsieve warm`` on a pair already warm (``make test`` warms the suite's pairs; else the
    first run here compiles it) loads every kernel and compiles none. That a fresh cache is
    compiled into and then loaded from is ``test_kernel_cache``'s subject."""
    cmd = [sys.executable, "-m", "prng_assets.cli", "warm", "--generator", "mt19937",
           "--draw", "mod:1000", "--jobs", "1"]  # fmt: skip
    for _ in range(2):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kernel cache: " in proc.stdout
    assert "mt19937 mod:1000:" in proc.stdout and "all from the cache" in proc.stdout
    assert "(0 compiled)" in proc.stdout


def test_warm_reports_a_bad_pairs_file_by_line(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("# comment\nmt19937 mod:1000\n\nnot_a_generator mod:10\n")
    proc = subprocess.run(
        [sys.executable, "-m", "prng_assets.cli", "warm", "--pairs-file", str(pairs)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"{pairs}, line 4: unknown generator 'not_a_generator'" in proc.stderr


def test_crack_reads_a_draws_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "h.json"
    main(
        [
            "synth",
            "--generator",
            "java_lcg",
            "--draw",
            "mod:1000",
            "--seed",
            "4242",
            "--offset",
            "1",
            "--gap",
            "2",
            "--n",
            "8",
            "--out",
            str(out),
        ]
    )
    capsys.readouterr()
    rc = main(
        [
            "crack",
            "--generator",
            "java_lcg",
            "--draw",
            "mod:1000",
            "--seeds",
            "4000:5000",
            "--offset",
            "0:3",
            "--gap",
            "0:3",
            "--json",
            "--draws-file",
            str(out),
        ]
    )
    assert rc == 0
    found = json.loads(capsys.readouterr().out)["survivors"]
    assert [(s["seed"], s["offset"], s["gap"]) for s in found] == [(4242, 1, 2)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generator", "mt19937", "--draw", "mod:1000"], "no draws"),
        (["--generator", "mt19937", "--draw", "mod:1000", "1000"], "outside"),
        (["--generator", "mt19937", "--draw", "mod:1000", "--seeds", "9:3", "1"], "inverted"),
        (
            ["--generator", "mt19937", "--draw", "mod:1000", "--seeds", "0:4294967297", "1"],
            "beyond",
        ),
        (["--generator", "nope", "--draw", "mod:1000", "1"], "valid: dotnet_random, glibc_rand"),
        (["--generator", "mt19937", "--draw", "modulo:7", "1"], "valid: mod:M"),
        (["--generator", "mt19937", "--draw", "mod:1000", "--gap", "4:2", "1"], "inverted"),
        (["--generator", "msvc_rand", "--draw", "nextint:10", "1"], "31 bits"),
        (["--generator", "mt19937", "--draw", "mod:1000", "x"], "integers"),
        (["--generator", "mt19937", "1"], "--draw is needed"),
        (["--generator", "auto", "1"], "needs --draw or --modulus"),
        (["--generator", "auto", "--draw", "mod:10", "--modulus", "10", "1"], "not both"),
        (["--generator", "mt19937,nope", "--draw", "mod:10", "1"], "unknown generator 'nope'"),
        (["--generator", "msvc_rand", "--modulus", "10", "--draw", "mod:10", "1"], "--modulus"),
    ],
)
def test_crack_bad_arguments_exit_2(args: list[str], message: str, capsys) -> None:
    """argparse's own contract: the usage line, then one error line naming the rule; exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(["crack", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("usage: seedsieve crack")
    assert err[-1].startswith("seedsieve crack: error: ") and message in err[-1]


def test_dagster_cli_recovers_the_demo_seed(tmp_path: Path, demo_history: Path) -> None:
    """The real CLI, as a user runs it: the case added, its head, two seed blocks, its pool.

    (A CLI partition range needs a single-run backfill policy; a full backfill is the UI's or
    the daemon's job, and `make demo` runs every block in process.)
    """
    home = tmp_path / "home"
    home.mkdir()
    art = tmp_path / "artefacts"
    # Two blocks of 2^21 seeds: the pool's coverage check blocks a pool of part of the space.
    env = {**os.environ, "DAGSTER_HOME": str(home), "SEEDSIEVE_ARTEFACTS": str(art),
           "SEEDSIEVE_BACKEND": "cpu", "SEEDSIEVE_BLOCK_BITS": "21"}
    in_process: dict = {}  # steps run in the run's process by default (prng_assets/jobs.py)
    # Six trials: within the former, narrower offset and gap bounds (the default bounds are
    # wider, and six trials of them may all miss the planted offset 3, gap 2).
    search = {"n_trials": 6, "offset_bounds": [0, 8], "gap_bounds": [0, 4]}
    head = {"ops": {"draw_history": {"config": {"path": str(demo_history)}},
                    "sieve_settings": {"config": search}}, **in_process}
    added = subprocess.run([sys.executable, "-m", "prng_assets.cli", "case", "add", "demo"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert added.returncode == 0 and added.stdout == "added: demo\n", added.stderr[-3000:]
    steps = [
        ["--select", "draw_history,sieve_settings", "--partition", "demo",
         "--config-json", json.dumps(head)],
        # 3_141_592 >> 21 = 1: block "1" holds the planted seed; "0" is a block without it.
        ["--select", "survivors", "--partition", "demo|1", "--config-json",
         json.dumps(in_process)],
        ["--select", "survivors", "--partition", "demo|0", "--config-json",
         json.dumps(in_process)],
        ["--select", "survivor_pool", "--partition", "demo", "--config-json",
         json.dumps(in_process)],
    ]
    for args in steps:
        proc = subprocess.run(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
             "prng_assets.definitions", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "RUN_SUCCESS" in proc.stderr
    case = art / "cases" / "demo"
    pool = pl.read_parquet(case / "survivor_pool" / "pool.parquet")
    # one row per scan that keeps it: two when the chosen gap mode is "both"
    assert pool["seed"].unique().to_list() == [3_141_592]
    settings = json.loads((case / "sieve_settings" / "settings.json").read_text())["settings"]
    assert pool.height == (2 if settings["gap_mode"] == "both" else 1)
    stats = json.loads((case / "survivor_pool" / "stats.json").read_text())
    assert (stats["partitions_covered"], stats["partitions_missing"]) == (2, 0)


def test_check_settings_reports_each_file(tmp_path, capsys) -> None:
    good = tmp_path / "mt.seedsieve.toml"
    good.write_text('[sieve]\ngenerator = "mt19937"\ndraw = "mod:1000"\n')
    bad = tmp_path / "seedsieve.toml"
    bad.write_text("[sieve]\nwindow = 'ten'\n")
    assert main(["check-settings", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok: {good} (settings sha256 ")
    assert "[sieve] generator = 'mt19937', draw = 'mod:1000'" in out
    assert main(["check-settings", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"refused: {bad}: [sieve] window: Input should be a valid integer")


MT_1234567 = ["531", "679", "524", "454", "501", "962", "528", "941", "528", "29"]


def _crack_json(capsys, *args: str) -> dict:
    assert main(["crack", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_crack_names_the_generator_among_several(capsys) -> None:
    """mt19937 seed 1234567's draws: of three pairs only mt19937 beats chance after correction."""
    found = _crack_json(capsys, "--generator", "mt19937,php_mt_rand_legacy,xorshift32",
                        "--draw", "mod:1000", "--seeds", "1234000:1235000", *MT_1234567)
    assert (found["correction"], found["tried"]) == ("Bonferroni", 3)
    assert found["identified"] == ["mt19937 mod:1000"]
    best = found["pairs"][0]
    assert best["generator"] == "mt19937" and best["survivors"] == 1
    assert best["p_adjusted"] == pytest.approx(min(1.0, 3 * best["p_value"]))
    assert [(s["seed"], s["offset"], s["gap"]) for s in found["survivors"]["mt19937 mod:1000"]] \
        == [(1234567, 0, 0)]


def test_crack_auto_names_nothing_on_random_draws(capsys) -> None:
    noise = ["17", "873", "402", "66", "990", "311", "508", "245", "731", "154"]
    found = _crack_json(capsys, "--generator", "mt19937,xorshift32", "--modulus", "1000",
                        "--seeds", "0:20000", *noise)
    draws = {p["draw"] for p in found["pairs"]}
    # intn, int63n and dotnet_next pair only with go_rand and dotnet_random: not tried here
    assert draws == {"mod:1000", "nextint:1000", "randint:1000", "randrange:1000", "mt_rand:0:999"}
    assert found["identified"] == [] and found["survivors"] == {}
    assert found["verdict"].startswith(f"no pair beats chance (Bonferroni over {found['tried']}")


def test_crack_java_offset_range_gives_one_seed_per_offset(capsys) -> None:
    """nextInt(7): an unknown offset in 0..3 costs no extra search; the planted seed is the one
    at its offset, and each other offset has its own seed reaching the same state."""
    gen, spec = GENERATORS["java_random"], parse_draw("nextint:7")
    draws = generate_draws(gen, spec, 123456789012, 20, offset=2).tolist()
    found = _crack_json(capsys, "--generator", "java_random", "--draw", "nextint:7",
                        "--offset", "0:4", *map(str, draws))
    assert found["route"] == "residue" and found["complete"]
    assert sorted(r["offset"] for r in found["survivors"]) == [0, 1, 2, 3]
    assert {"seed": 123456789012, "offset": 2} in [
        {"seed": r["seed"], "offset": r["offset"]} for r in found["survivors"]]


def test_crack_java_bound_three_prunes_by_default_and_says_so(capsys) -> None:
    """30 x nextInt(3): the exact walk would take hours, so the crack prunes it at 0.1% and
    prints that chance; --miss-probability sets it, and must be a probability."""
    gen, spec = GENERATORS["java_random"], parse_draw("nextint:3")
    draws = [str(v) for v in generate_draws(gen, spec, 190237740512345, 30).tolist()]
    args = ["crack", "--generator", "java_random", "--draw", "nextint:3", *draws]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "seed = 190237740512345  offset 0" in out
    assert "pruned lattice walk (the exact walk: ~" in out and "probability ~0.001" in out
    found = _crack_json(capsys, *args[1:], "--miss-probability", "0.01")
    assert found["pruning_miss_probability"] == 0.01 and found["complete"]
    assert 190237740512345 in [r["seed"] for r in found["survivors"]]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--miss-probability", "1"])
    assert exc.value.code == 2 and "must be in [0, 1)" in capsys.readouterr().err


def test_crack_java_too_few_draws_lists_and_counts(capsys) -> None:
    """8 draws of nextInt(7) cannot pin a 48-bit seed: a listing, its reason and the expected
    count, exit 0 (an answer, not an interruption)."""
    gen, spec = GENERATORS["java_random"], parse_draw("nextint:7")
    draws = generate_draws(gen, spec, 987654321, 8).tolist()
    assert main(["crack", "--generator", "java_random", "--draw", "nextint:7",
                 *map(str, draws)]) == 0
    out = capsys.readouterr().out
    assert "incomplete: stopped after" in out and "other seed(s) expected" in out

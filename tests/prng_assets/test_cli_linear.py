"""``seedsieve crack --mode linear`` as users type it."""

from __future__ import annotations

import json
import os

import pytest

from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import GENERATORS
from prng_assets.cli import main


def test_crack_linear_predicts_the_next_draws(capsys) -> None:
    seed = int.from_bytes(os.urandom(4)) or 1
    vals = [int(v) for v in generate_draws(GENERATORS["xorshift128"], parse_draw("mod:1000"),
                                           seed, 80)]
    rc = main(["crack", "--mode", "linear", "--generator", "xorshift128", "--draw", "mod:1000",
               "--predict", "20", "--json", *map(str, vals[:60])])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["solved"] and out["predictions"] == vals[60:]
    assert out["state"]["state"][0] == seed


@pytest.mark.parametrize(("args", "message"), [
    (["--generator", "java_random", "--draw", "mod:1000", "1"], "handles mt19937"),
    (["--generator", "mt19937", "--draw", "mod:999", "1"], "odd M"),
    (["--generator", "mt19937", "--draw", "mod:1000", "--seeds", "0:9", "1"], "seed scans"),
    (["--generator", "v8_math_random", "--draw", "floor:1000", "1000"], "outside"),
])
def test_crack_linear_bad_arguments_exit_2(args: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["crack", "--mode", "linear", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


def test_linear_only_names_are_refused_by_scans(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["crack", "--generator", "v8_math_random", "--draw", "floor:1000", "1"])
    assert "--mode linear only" in capsys.readouterr().err

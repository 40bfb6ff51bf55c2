"""The acceptance cases: draws printed by the real Go, Mono and Ruby runtimes from a fresh random
seed, then ``seedsieve crack`` finds that seed.

Each test scans a 2^16-seed window placed at random around the seed the runtime's seed acts as
(``scan_seed``), so it stays fast; the whole seed space is the same scan, only longer. A missing
runtime skips the test with the package to install.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from gpu_executors.prng.bitgen import dotnet, go_rand
from gpu_executors.prng.bitgen.mt19937 import ruby_scan_seed
from prng_assets.cli import main

pytestmark = pytest.mark.reference

N_DRAWS = 20
WINDOW = 1 << 16
_rng = random.SystemRandom()

GO_PROGRAM = """package main

import (
\t"fmt"
\t"math/rand"
\t"os"
\t"strconv"
)

func main() {
\tseed, _ := strconv.ParseInt(os.Args[1], 10, 64)
\tr := rand.New(rand.NewSource(seed))
\tfor i := 0; i < N_DRAWS; i++ {
\t\tfmt.Println(r.Intn(1000))
\t}
}
""".replace("N_DRAWS", str(N_DRAWS))

CS_PROGRAM = """using System;
public static class Draws {
    public static void Main(string[] args) {
        var r = new Random(int.Parse(args[0]));
        for (int i = 0; i < N_DRAWS; i++) Console.WriteLine(r.Next(1000));
    }
}
""".replace("N_DRAWS", str(N_DRAWS))

RUBY_PROGRAM = f"r = Random.new(Integer(ARGV[0])); {N_DRAWS}.times {{ puts r.rand(1000) }}"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found on PATH: no real runtime to draw from ({package})")
    return path


def _output(cmd: list[str], cwd: Path) -> list[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}"
    draws = proc.stdout.split()
    assert len(draws) == N_DRAWS
    return draws


def _crack(capsys, seed: int, space_bits: int, draws: list[str], *how: str) -> dict:
    """``crack --json`` with ``how`` over a 2^16-seed window holding ``seed`` at a random place."""
    start = min(max(0, seed - _rng.randrange(WINDOW)), (1 << space_bits) - WINDOW)
    rc = main(["crack", *how, "--seeds", f"{start}:{start + WINDOW}", "--json", *draws])
    assert rc == 0
    return json.loads(capsys.readouterr().out)


def test_go_intn_seed_is_recovered(tmp_path: Path, capsys) -> None:
    """Go: rand.New(rand.NewSource(s)).Intn(1000) x 20 for a random int64 s (negative half the
    time): the scan finds s mod (2^31 - 1), the seed every int64 seed acts as."""
    go = _tool("go", "apt-get install golang-go")
    seed = _rng.randrange(-(2**63), 2**63)
    (tmp_path / "draws.go").write_text(GO_PROGRAM)
    draws = _output([go, "run", "draws.go", str(seed)], tmp_path)
    found = _crack(capsys, go_rand.scan_seed(seed), 31, draws,
                   "--generator", "go_rand", "--draw", "intn:1000")
    assert [(s["seed"], s["offset"], s["gap"]) for s in found["survivors"]] == [
        (go_rand.scan_seed(seed), 0, 0)
    ], f"Go seed {seed}"
    assert found["p_value"] < 1e-40


def test_dotnet_next_seed_is_recovered_and_its_draw_named(tmp_path: Path, capsys) -> None:
    """.NET (Mono): new Random(s).Next(1000) x 20 for a random int s: the scan finds |s|, and
    ``--modulus 1000`` names dotnet_next:1000 among the draws dotnet_random accepts (msvc_rand
    mod:1000, one cheap pair, makes the list the CLI asks for when no draw is given)."""
    mcs = _tool("mcs", "apt-get install mono-mcs")
    mono = _tool("mono", "apt-get install mono-runtime")
    seed = _rng.randrange(-(2**31), 2**31)
    (tmp_path / "Draws.cs").write_text(CS_PROGRAM)
    subprocess.run([mcs, "-out:Draws.exe", "Draws.cs"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    draws = _output([mono, "Draws.exe", str(seed)], tmp_path)
    found = _crack(capsys, dotnet.scan_seed(seed), 31, draws,
                   "--generator", "dotnet_random,msvc_rand", "--modulus", "1000")
    assert {(p["generator"], p["draw"]) for p in found["pairs"]} == {
        ("dotnet_random", "mod:1000"),
        ("dotnet_random", "nextint:1000"),
        ("dotnet_random", "dotnet_next:1000"),
        ("msvc_rand", "mod:1000"),
    }
    assert found["identified"] == ["dotnet_random dotnet_next:1000"], f".NET seed {seed}"
    survivors = found["survivors"]["dotnet_random dotnet_next:1000"]
    assert [(s["seed"], s["offset"], s["gap"]) for s in survivors] == [
        (dotnet.scan_seed(seed), 0, 0)
    ]


def test_ruby_rand_seed_is_recovered(tmp_path: Path, capsys) -> None:
    """Ruby: Random.new(s).rand(1000) x 20 for a random 32-bit s: ruby_random with randint:1000
    (Ruby's limited_rand) finds s."""
    ruby = _tool("ruby", "apt-get install ruby")
    seed = _rng.randrange(2**32)
    draws = _output([ruby, "-e", RUBY_PROGRAM, str(seed)], tmp_path)
    found = _crack(capsys, ruby_scan_seed(seed), 32, draws,
                   "--generator", "ruby_random", "--draw", "randint:1000")
    assert [(s["seed"], s["offset"], s["gap"]) for s in found["survivors"]] == [(seed, 0, 0)]
    assert found["p_value"] < 1e-40

"""Kernels compiled once per machine: loaded kernels equal fresh ones, never stale, read-only OK.

Each test runs the code in fresh Python processes against its own cache folder
(``SEEDSIEVE_KERNEL_CACHE``), since what is tested is what one process leaves for the next.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from gpu_executors.kernel_cache import source_digest
from gpu_executors.prng.draws import DRAW_KINDS, check_compatible, parse_draw
from gpu_executors.prng.generators import GENERATORS
from tests.paths import ROOT

# One draw per kind, each within every generator's range that the kind accepts.
DRAWS = ("mod:1000", "nextint:1000", "randint:1000", "randrange:1000", "mt_rand:1:1000",
         "intn:1000", "int63n:1000", "dotnet_next:1000", "dotnet_range:1:1001")
assert {parse_draw(d).kind for d in DRAWS} == set(DRAW_KINDS)


def _compatible(gen, draw: str) -> bool:
    try:
        check_compatible(gen, parse_draw(draw))
    except ValueError:
        return False
    return True


def _pairs() -> list[tuple[str, str]]:
    """Every generator once, the draw kinds taken in turn (a kind not yet seen first), then a
    pair for each kind still missing (those only one generator takes, such as Go's two)."""
    out: list[tuple[str, str]] = []
    for i, (name, gen) in enumerate(GENERATORS.items()):
        turn = [DRAWS[(i + k) % len(DRAWS)] for k in range(len(DRAWS))]
        seen = {parse_draw(d).kind for _, d in out}
        fits = [d for d in turn if _compatible(gen, d)]
        fresh = [d for d in fits if parse_draw(d).kind not in seen]
        if fits:
            out.append((name, (fresh or fits)[0]))
    for draw in DRAWS:
        if parse_draw(draw).kind not in {parse_draw(d).kind for _, d in out}:
            out.append(next((n, draw) for n, g in GENERATORS.items() if _compatible(g, draw)))
    return out


PAIRS = _pairs()
assert {g for g, _ in PAIRS} == set(GENERATORS)
assert {parse_draw(d).kind for _, d in PAIRS} == set(DRAW_KINDS)


def scan_pair(generator: str, draw: str) -> dict:
    """A planted seed (offset 1, gaps 1) scanned with a variable gap 0..2 around it, with how
    many kernels this process compiled and loaded for the pair. Runs in a fresh process (a
    spawned pool worker)."""
    from gpu_executors.prng.draws import generate_draws
    from gpu_executors.sieve.cpu import cpu_scan
    from gpu_executors.sieve.spec import ScanSpec
    from gpu_executors.warm import kernel_counts

    before = kernel_counts()
    gen, spec, seed = GENERATORS[generator], parse_draw(draw), 4242
    obs = tuple(int(v) for v in generate_draws(gen, spec, seed, 5, offset=1, gaps=1))
    scan = ScanSpec(
        generator, draw, obs, seed - 40, seed + 40, offset_stop=3, gap_max=2, variable_gap=True
    )
    rows = cpu_scan(scan).survivors.select("seed", "offset", "gaps", "matches").rows()
    after = kernel_counts()
    return {
        "survivors": sorted(map(list, rows)),
        "compiled": after[0] - before[0],
        "loaded": after[1] - before[1],
    }


def _scan_in_fresh_processes() -> dict[tuple[str, str], dict]:
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        found = pool.map(scan_pair, *zip(*PAIRS, strict=True))
        return dict(zip(PAIRS, found, strict=True))


def _python(code: str, *, env: dict[str, str], cwd: Path = ROOT) -> str:
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["SEEDSIEVE_KERNEL_CACHE"] = str(cache)
    env.update(extra)
    return env


def test_loaded_kernels_find_what_fresh_ones_found(tmp_path: Path, monkeypatch) -> None:
    """For every generator and every draw function: the processes that compile and the
    processes that only load from the cache find the same survivors, the planted seed among
    them."""
    monkeypatch.setenv("SEEDSIEVE_KERNEL_CACHE", str(tmp_path / "cache"))
    fresh = _scan_in_fresh_processes()
    loaded = _scan_in_fresh_processes()
    for pair in PAIRS:
        new, old = fresh[pair], loaded[pair]
        assert new["compiled"] > 0, pair
        assert (old["compiled"], old["loaded"] > 0) == (0, True), f"{pair}: compiled again"
        assert old["survivors"] == new["survivors"], pair
        assert [4242, 1] in [row[:2] for row in new["survivors"]], pair


WORDS = textwrap.dedent(
    """
    import json
    from gpu_executors.prng.generators import GENERATORS
    from gpu_executors.warm import kernel_counts
    words = GENERATORS["xorshift32"].outputs(7, 4).tolist()
    print(json.dumps({"words": words, "compiled": kernel_counts()[0]}))
    """
)


def _package_copy(tmp_path: Path) -> Path:
    """A copy of ``gpu_executors`` to edit, importable from the returned folder."""
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "gpu_executors", site / "gpu_executors", ignore=shutil.ignore_patterns("__pycache__")
    )
    return site


def test_a_changed_source_is_never_served_from_the_cache(tmp_path: Path) -> None:
    """numba alone would serve the cached ``words`` loop after xorshift32's step changed (the
    loop's own file did not change); the cache folder keyed by the sources does not."""
    site = _package_copy(tmp_path)
    env = _env(tmp_path / "cache", PYTHONPATH=str(site))
    first = json.loads(_python(WORDS, env=env, cwd=site))
    again = json.loads(_python(WORDS, env=env, cwd=site))
    assert again == {**first, "compiled": 0}  # unchanged source: loaded, same words

    module = site / "gpu_executors" / "prng" / "bitgen" / "xorshift.py"
    text = module.read_text()
    assert text.count("U64(13)") == 1, "the test edits xorshift32's first shift"
    module.write_text(text.replace("U64(13)", "U64(12)"))
    changed = json.loads(_python(WORDS, env=env, cwd=site))
    assert changed["compiled"] > 0
    assert changed["words"] != first["words"]

    module.write_text(text)  # back to the original: its folder is still there
    restored = json.loads(_python(WORDS, env=env, cwd=site))
    assert restored == {**first, "compiled": 0}


# numba names compiled code after a function's qualified name and a counter local to each
# process. Process A compiles mt19937 mod:1000's predict kernel, its draw named with uid U; process
# B compiles minstd mod:2^31's draw with its counter set to give it the same U, then loads A's
# kernel from the cache. Were both draws named alike, B would link A's kernel to minstd's draw
# (as a CI run once did: mt19937 predicted minstd's words).
COMPILE_MT = textwrap.dedent(
    """
    import itertools, json
    import numpy as np
    from numba.core.bytecode import FunctionIdentity
    FunctionIdentity._unique_ids = itertools.count(5000)
    from gpu_executors.prng.draws import make_drawer, parse_draw
    from gpu_executors.prng.generators import get_generator
    from gpu_executors.ranking.predicted import Candidates, predicted_draws
    seeds, offsets, gaps = np.array([1219232174], np.uint64), np.ones(1, int), np.zeros(1, int)
    one = Candidates("mt19937", "mod:1000", seeds, offsets, gaps)
    drawer = make_drawer(get_generator("mt19937"), parse_draw("mod:1000"))
    pred = predicted_draws(one, 5).tolist()
    (uid,) = [result.fndesc.uid for result in drawer.overloads.values()]
    print(json.dumps({"pred": pred, "uid": uid}))
    """
)
LOAD_MT_AFTER_MINSTD = textwrap.dedent(
    """
    import itertools, json, sys
    import numpy as np
    from numba.core.bytecode import FunctionIdentity
    from gpu_executors.prng.draws import make_drawer, parse_draw
    from gpu_executors.prng.generators import get_generator
    from gpu_executors.ranking.predicted import Candidates, predicted_draws
    from gpu_executors.warm import kernel_counts
    minstd = get_generator("minstd")
    FunctionIdentity._unique_ids = itertools.count(int(sys.argv[1]))
    make_drawer(minstd, parse_draw(f"mod:{2**31}"))(minstd.seeded(1))
    seeds, offsets, gaps = np.array([1219232174], np.uint64), np.ones(1, int), np.zeros(1, int)
    one = Candidates("mt19937", "mod:1000", seeds, offsets, gaps)
    before = kernel_counts()
    pred = predicted_draws(one, 5).tolist()
    after = kernel_counts()
    counts = {"compiled": after[0] - before[0], "loaded": after[1] - before[1]}
    print(json.dumps({"pred": pred, **counts}))
    """
)


def test_kernels_of_different_pairs_never_share_a_compiled_name(tmp_path: Path) -> None:
    env = _env(tmp_path / "cache")
    compiled = json.loads(_python(COMPILE_MT, env=env))
    # numpy's RandomState(1219232174), one word skipped:
    assert compiled["pred"] == [[704, 318, 994, 701, 917]]
    code = LOAD_MT_AFTER_MINSTD.replace("sys.argv[1]", str(compiled["uid"]))
    # Twice: the second time minstd's own kernels load from the cache too (with the names alike,
    # only that run went wrong).
    for _ in range(2):
        loaded = json.loads(_python(code, env=env))
        assert (loaded["compiled"], loaded["loaded"]) == (0, 1), "not loaded: nothing was tested"
        assert loaded["pred"] == compiled["pred"]


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_a_read_only_install_works_and_is_never_written(tmp_path: Path) -> None:
    """Kernels go to the user's cache folder, never beside the sources; when that folder cannot
    be written either, a temporary one is used and the scan still runs."""
    site = _package_copy(tmp_path)
    before = _files(site)
    for path in [site, *site.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        env = _env(tmp_path / "cache", PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
        first = json.loads(_python(WORDS, env=env, cwd=tmp_path))
        second = json.loads(_python(WORDS, env=env, cwd=tmp_path))
        assert second == {**first, "compiled": 0}
        assert any(p.suffix == ".nbi" for p in _files(tmp_path / "cache"))

        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        env = _env(blocker / "cache", PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
        unwritable = json.loads(_python(WORDS, env=env, cwd=tmp_path))
        assert unwritable["words"] == first["words"]
        assert _files(site) == before, "something was written into the install"
    finally:
        for path in [site, *site.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_source_digest_covers_every_source_file(tmp_path: Path) -> None:
    site = _package_copy(tmp_path)
    package = site / "gpu_executors"
    digest = source_digest(package)
    assert source_digest(package) == digest
    (package / "sieve" / "walkers.py").write_text(
        (package / "sieve" / "walkers.py").read_text() + "\n# a comment\n"
    )
    edited = source_digest(package)
    assert edited != digest
    (package / "new_module.py").write_text("")
    assert source_digest(package) not in (digest, edited)


def test_specialise_refuses_names_the_template_lacks() -> None:
    from gpu_executors.prng import sequences
    from gpu_executors.specialise import specialise

    with pytest.raises(NameError, match="no placeholder for not_a_name"):
        specialise(sequences, "test-refuses", not_a_name=1)

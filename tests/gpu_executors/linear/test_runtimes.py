"""Acceptance: states recovered from real runtimes' unseeded draws, and from an MT19937 state
taken from os.urandom; each prediction is checked against what the runtime drew next."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gpu_executors.linear.solve import crack_linear
from gpu_executors.prng.draws import parse_draw
from gpu_executors.prng.generators import GENERATORS

NODE = shutil.which("node")
PYTHON3 = shutil.which("python3") or sys.executable


def run(*cmd: str) -> list[int]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [int(v) for v in out.split()]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_math_random_floor_1000() -> None:
    """Node 20's unseeded Math.random: 40 draws of floor(r * 1000), then the next 30.

    The smallest count that worked in repeated runs was 16 to 18 (README): 40 leaves room for
    the held-back check."""
    script = "for (let i = 0; i < 70; i++) console.log(Math.floor(Math.random() * 1000))"
    vals = run(NODE, "-e", script)
    r = crack_linear("v8_math_random", "floor:1000", vals[:40], predict=30)
    assert r.solved, r.reason
    assert r.held_back > 0 and r.held_back_matched == r.held_back
    assert r.predictions == vals[40:]


def python_draws(expr: str, n: int) -> list[int]:
    return run(PYTHON3, "-c", f"import random\nfor _ in range({n}): print({expr})")


def test_python_getrandbits_32() -> None:
    vals = python_draws("random.getrandbits(32)", 724)
    r = crack_linear("python_random", "getrandbits:32", vals[:624], predict=100)
    assert r.solved and r.rank == r.unknowns, r.reason
    assert r.predictions == vals[624:]


def test_python_getrandbits_10() -> None:
    """About 2,500 draws are the least (README); 3,000 leave a held-back check."""
    vals = python_draws("random.getrandbits(10)", 3100)
    r = crack_linear("python_random", "getrandbits:10", vals[:3000], predict=100)
    assert r.solved, r.reason
    assert r.held_back_matched == r.held_back == 300
    assert r.predictions == vals[3000:]


def test_mt19937_mod_1000_from_an_urandom_state() -> None:
    """8,000 draws: 6,850 to 7,000 pin the state (README), 800 are held back and replayed."""
    gen = GENERATORS["mt19937"]
    state = gen.new_state()
    state[:624] = np.frombuffer(os.urandom(2496), np.uint32)
    state[624] = 624 - int.from_bytes(os.urandom(2)) % 624  # anywhere in a block
    words = [int(gen.next(state)) for _ in range(8100)]
    vals = [w % 1000 for w in words]
    r = crack_linear("mt19937", "mod:1000", vals[:8000], predict=100)
    assert r.solved, r.reason
    assert r.held_back_matched == r.held_back == 800
    assert r.predictions == vals[8000:]
    assert r.earlier_words is not None


def test_earlier_draws_of_a_seeded_mt_and_its_seed() -> None:
    """numpy's RandomState(seed): 7,000 draws mod 1000 from the 300th on give back the seed
    and the 10 draws before the first one seen."""
    seed = int.from_bytes(os.urandom(4))
    words = [int(w) for w in np.random.RandomState(seed).randint(0, 2**32, 7310, np.uint64)]
    vals = [w % 1000 for w in words]
    r = crack_linear("mt19937", "mod:1000", vals[300:7300], predict=10)
    assert r.solved, r.reason
    assert (r.seed, r.seed_offset) == (seed, 300)
    assert r.earlier_draws == vals[290:300] and r.predictions == vals[7300:]


def test_rejected_words_are_located_and_counted() -> None:
    """randrange(1000) rejects 2.3% of the words it draws: xorshift128 pins its state within
    a few draws, so each hidden word is located as soon as the equations contradict."""
    from gpu_executors.prng.draws import generate_draws

    gen = GENERATORS["xorshift128"]
    seed = int.from_bytes(os.urandom(4)) or 1
    vals = [int(v) for v in generate_draws(gen, parse_draw("randrange:1000"), seed, 700)]
    r = crack_linear("xorshift128", "randrange:1000", vals[:600], predict=100)
    assert r.solved, r.reason
    # a word hidden before the system can contradict (the first ~5 draws) forces a restart
    assert r.rejected_words > 0 and r.matched == 600 - r.first_draw
    assert r.predictions == vals[600:]


def test_random_draws_are_not_solved() -> None:
    """Draws from no generator: the equations contradict, and the result says so."""
    vals = [int(v) for v in np.frombuffer(os.urandom(400), np.uint16) % 1000]
    r = crack_linear("xorshift128", "mod:1000", vals)
    assert not r.solved and "contradict" in r.reason


def test_python_randrange_1000_is_refused_with_the_numbers() -> None:
    """randrange(1000) hides 2.3% of MT's words: ~47 before ~2,000 draws can contradict,
    beyond what locating hidden words can do; the route says so instead of guessing."""
    vals = python_draws("random.randrange(1000)", 3000)
    with pytest.raises(ValueError, match=r"about 47 hidden words"):
        crack_linear("python_random", "randrange:1000", vals)


def test_numpy_unseeded_randomstate_randint_1024() -> None:
    """numpy's legacy RandomState from entropy: randint(0, 1024) keeps the low 10 bits (its
    mask rejects nothing there); 4,000 draws, then the next 100."""
    rs = np.random.RandomState()
    vals = [int(v) for v in rs.randint(0, 1024, size=4100)]
    r = crack_linear("mt19937", "randint:1024", vals[:4000], predict=100)
    assert r.solved, r.reason
    assert r.rejected_words == 0 and r.held_back_matched == r.held_back == 400
    assert r.predictions == vals[4000:]

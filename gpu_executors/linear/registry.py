"""The generators the linear route handles, by name, each as its candidate models.

Registry generators keep their registry names (numpy's ``RandomState(s)`` and C++'s
``std::mt19937`` are ``mt19937``); V8's ``Math.random`` lives here only. A generator whose
position in a block is unknown (V8's 64-value cache) has one candidate model per position.
"""

from __future__ import annotations

from collections.abc import Callable

from gpu_executors.linear.model import LinearModel
from gpu_executors.linear.mt19937 import MT19937Model
from gpu_executors.linear.v8 import CACHE, V8MathRandom
from gpu_executors.linear.xorshift import Xorshift32Model, Xorshift64StarModel, Xorshift128Model
from gpu_executors.prng.generators import GENERATORS


def _registry(cls: type, name: str) -> Callable[[], list[LinearModel]]:
    return lambda: [cls(GENERATORS[name])]


LINEAR_GENERATORS: dict[str, Callable[[], list[LinearModel]]] = {
    **{name: _registry(MT19937Model, name)
       for name in ("mt19937", "python_random", "php_mt_rand", "php_mt_rand_legacy")},
    "xorshift32": _registry(Xorshift32Model, "xorshift32"),
    "xorshift64": _registry(Xorshift64StarModel, "xorshift64"),
    "xorshift128": _registry(Xorshift128Model, "xorshift128"),
    # a fresh process starts with a full cache: that position is tried first
    "v8_math_random": lambda: [V8MathRandom(c) for c in range(CACHE, 0, -1)],
}


def linear_models(name: str) -> list[LinearModel]:
    """The candidate models of ``name``, or a ValueError naming what the route handles."""
    make = LINEAR_GENERATORS.get(name)
    if make is None:
        why = ("is not linear over GF(2)" if name in GENERATORS
               else "is not a generator")
        raise ValueError(f"{name!r} {why}: the linear route handles "
                         f"{', '.join(LINEAR_GENERATORS)}")
    return make()


def linear_only(name: str) -> bool:
    """A generator the linear route solves but no seed scan can run (V8's ``Math.random``: its
    seed is a process's entropy, and the registry has no kernel for it): ``mode = "linear"``
    is the only way a case may use it."""
    return name in LINEAR_GENERATORS and name not in GENERATORS


def linear_only_refusal(name: str, how: str) -> str:
    """Why ``how`` (e.g. "mode 'seed'", "a generator list") cannot use the linear-only
    generator ``name``."""
    return (f"{name} has no seed scan ({how}): its state is solved, not searched; use "
            f"mode = \"linear\" with generator = \"{name}\" alone, search = false and a "
            f"window of train draws")


def legacy_range(name: str) -> bool:
    gen = GENERATORS.get(name)
    return bool(gen and gen.php_legacy_range)

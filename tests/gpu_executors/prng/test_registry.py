"""The generator registry: every bit generator module is registered, and capabilities are data.

A generator written in a ``bitgen`` module but missing from its module's ``FAMILY``, or a family
module missing from the registry, fails here rather than silently never being scanned.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from gpu_executors.prng import bitgen
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.generators import GENERATORS, get_generator


def _bitgen_modules() -> list:
    return [
        importlib.import_module(f"{bitgen.__name__}.{info.name}")
        for info in pkgutil.iter_modules(bitgen.__path__)
    ]


def test_registry_lists_every_generator_module_defines() -> None:
    """Every Generator defined at module level in bitgen/ is in its FAMILY and in the registry."""
    defined = 0
    for module in _bitgen_modules():
        gens = [v for v in vars(module).values() if isinstance(v, Generator)]
        family = getattr(module, "FAMILY", ())
        assert set(map(id, gens)) == set(map(id, family)), f"{module.__name__}: FAMILY incomplete"
        for gen in gens:
            assert GENERATORS.get(gen.name) is gen, f"{gen.name} ({module.__name__}) not registered"
        defined += len(gens)
    assert defined == len(GENERATORS)


def test_registry_keys_are_generator_names() -> None:
    assert all(name == gen.name for name, gen in GENERATORS.items())


def test_get_generator_unknown_lists_valid() -> None:
    with pytest.raises(KeyError, match=r"unknown generator 'nope'; valid: .*java_lcg"):
        get_generator("nope")


def test_capabilities() -> None:
    """The capability fields that replaced name lists in the sieve and the CLI."""

    def having(flag: str) -> set[str]:
        return {name for name, g in GENERATORS.items() if getattr(g, flag)}

    assert having("java48") == {"java_lcg", "java_random"}
    assert having("mt_genrand") == {"mt19937", "php_mt_rand", "php_mt_rand_legacy", "ruby_random"}
    assert having("mt_legacy_twist") == {"php_mt_rand_legacy"}
    assert having("php_legacy_range") == {"php_mt_rand_legacy"}
    assert having("dotnet_sample") == {"dotnet_random"}
    assert having("go_lazy") == {"go_rand"}


def test_single_word_generators_pack() -> None:
    """Single-word generators pack their whole state; the others have no scalar step."""
    for gen in GENERATORS.values():
        single = gen.step1 is not None
        assert single == (gen.state_bits is not None) == (gen.pack is not None), gen.name
        if single:
            assert gen.state_size == 1 and gen.seed1 is not None and gen.prev is not None

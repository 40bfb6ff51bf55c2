"""The generator registry: every bit generator by name, in one place.

The generators themselves live in ``bitgen/``, one module per family. To add one: write it in
its family's module (or a new module under ``bitgen/``) and list it in that module's ``FAMILY``;
a new module is also listed once in ``_FAMILIES`` below. The registry's order is the order in
which ``auto`` tries generators, so it is kept stable.
"""

from __future__ import annotations

from types import ModuleType

from gpu_executors.prng.bitgen import (
    dotnet,
    glibc,
    go_rand,
    lcg,
    mt19937,
    pcg,
    philox,
    sfc,
    xorshift,
    xoshiro,
)
from gpu_executors.prng.bitgen.base import Generator

_FAMILIES: tuple[ModuleType, ...] = (
    lcg,
    xorshift,
    pcg,
    mt19937,
    glibc,
    xoshiro,
    sfc,
    philox,
    go_rand,
    dotnet,
)


def _by_name(families: tuple[ModuleType, ...]) -> dict[str, Generator]:
    out: dict[str, Generator] = {}
    for module in families:
        for gen in module.FAMILY:
            if gen.name in out:
                raise ValueError(f"generator {gen.name!r} registered twice")
            out[gen.name] = gen
    return out


GENERATORS: dict[str, Generator] = _by_name(_FAMILIES)


def get_generator(name: str) -> Generator:
    """The named generator, or a KeyError that lists the valid names."""
    try:
        return GENERATORS[name]
    except KeyError:
        valid = ", ".join(sorted(GENERATORS))
        raise KeyError(f"unknown generator {name!r}; valid: {valid}") from None

"""Lazy Triton: device code is written as plain functions and jitted all at once, at first use.

So that importing the executor needs neither triton nor torch (a CPU-only install), device
functions and kernels are marked with ``jit_later`` and stay plain functions until
``jit_marked`` imports triton, jits each one and rebinds it (and ``tl``) in the globals of every
module that defines a marked function. Kernels look their callees up in those globals when they
compile (or, interpreted, when they run), so after the rebinding they call the jitted versions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_MARKED: list[Callable] = []


def jit_later(fn: Callable) -> Callable:
    """Mark ``fn`` for ``triton.jit`` at first use; returns it unchanged."""
    _MARKED.append(fn)
    return fn


def interpret_requested() -> bool:
    """Whether ``TRITON_INTERPRET`` asks for Triton's CPU interpreter."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() not in ("", "0", "false")


def _scalar_params(fn: Callable) -> list[str]:
    """A kernel's scalar arguments: neither pointers nor (upper-case) constexprs."""
    code = fn.__code__
    return [
        p
        for p in code.co_varnames[: code.co_argcount]
        if not p.endswith("_ptr") and not p.isupper()
    ]


def jit_marked() -> dict[str, Any]:
    """Import triton, jit every marked function and rebind it where it is defined or imported.

    Returns the jitted functions by name. Call once (``kernels.build`` caches it): whether the
    interpreter is used is fixed by ``TRITON_INTERPRET`` at that moment.
    """
    import triton
    import triton.language as tl

    jitted: dict[int, Any] = {}
    for fn in _MARKED:
        if fn.__name__.endswith("_kernel"):
            # One compile per (generator, draw kind): scalars must not fork specialisations.
            jitted[id(fn)] = triton.jit(fn, do_not_specialize=_scalar_params(fn))
        else:
            jitted[id(fn)] = triton.jit(fn)
    for namespace in {id(fn.__globals__): fn.__globals__ for fn in _MARKED}.values():
        namespace["tl"] = tl
        for name, value in list(namespace.items()):
            if callable(value) and id(value) in jitted:
                namespace[name] = jitted[id(value)]
    return {fn.__name__: jitted[id(fn)] for fn in _MARKED}

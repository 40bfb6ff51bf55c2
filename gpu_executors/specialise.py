"""Kernel templates specialised per (generator, draw) as real modules, so numba caches them.

A kernel that calls a generator's ``next`` and a draw function must be compiled for that pair.
Closures made per pair cannot be cached on disk (numba keys a closure's entry on its captured
dispatchers, which differ in every process). Instead, a *template* is an ordinary module whose
kernels call module-level names (``nxt``, ``draw``, ...) that hold placeholders; :func:`specialise`
copies the template's file into the kernel cache under a name of its own per binding, runs that
copy as a module and binds the names. Its kernels are module-level functions in a real file: numba
caches each one there, and a later process loads it instead of compiling. The copy is the
template's text exactly, so a traceback into it reads like the template; the cache folder is keyed
by the sources (``kernel_cache``), so a copy never outlives the template it came from.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from gpu_executors.io.atomic import atomic_write
from gpu_executors.kernel_cache import locate

_lock = threading.Lock()
_made: dict[str, ModuleType] = {}


def unbound(*_args: Any) -> None:
    """The placeholder a template gives each name that ``specialise`` binds."""
    raise RuntimeError("a kernel template was called without being specialised")


def module_name(template: ModuleType, key: str) -> str:
    """A flat, importable name for ``template`` bound for ``key``."""
    slug = re.sub(r"[^0-9A-Za-z]+", "_", key).strip("_")
    return f"seedsieve_kernels__{template.__name__.replace('.', '_')}__{slug}"


def specialise(template: ModuleType, key: str, **bindings: Any) -> ModuleType:
    """``template`` run as its own module named after ``key``, with ``bindings`` as globals.

    Made once per process and key; every name bound must exist in the template.
    """
    name = module_name(template, key)
    with _lock:
        made = _made.get(name)
        if made is not None:
            return made
        missing = sorted(set(bindings) - set(vars(template)))
        if missing:
            raise NameError(f"{template.__name__} has no placeholder for {', '.join(missing)}")
        path = _copy_of(template, name)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # numba re-imports a cached kernel's module by name when it loads the kernel.
        sys.modules[name] = module
        spec.loader.exec_module(module)
        vars(module).update(bindings)
        _made[name] = module
        return module


def made() -> list[ModuleType]:
    """The modules specialised in this process so far."""
    with _lock:
        return list(_made.values())


def _copy_of(template: ModuleType, name: str) -> Path:
    """The template's source as ``<kernel cache>/modules/<name>.py``, written once."""
    source = Path(template.__file__ or "").read_bytes()
    path = locate().modules / f"{name}.py"
    try:
        if path.read_bytes() == source:
            return path  # unchanged: rewriting would reset numba's timestamp check
    except OSError:
        pass
    atomic_write(path, lambda tmp: tmp.write_bytes(source))
    return path

"""Models saved and loaded in each library's native format, never pickled.

The original system could not reload its models; here every family writes its own format
atomically (.pt as plain tensors, .ubj, .txt, .cbm), with the searched params inside the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from gpu_executors.models.families import Family, get_family
from gpu_executors.models.fitting import FittedModel


def save_model(model: FittedModel, path_without_ext: str | os.PathLike[str]) -> Path:
    """Save in the family's native format; returns the final path (with its extension)."""
    impl = get_family(model.family)
    base = Path(path_without_ext)
    return impl.save(model.model, model.params, base.with_name(base.name + impl.extension))


def load_model(
    family: str | Family, path: str | os.PathLike[str], device: str = "cpu"
) -> FittedModel:
    """Load a model written by :func:`save_model` (``path`` with or without its extension)."""
    impl = get_family(family)
    path = Path(path)
    with_ext = path.with_name(path.name + impl.extension)
    if not path.exists() and with_ext.exists():
        path = with_ext
    if not path.is_file():
        raise FileNotFoundError(f"no {impl.name} model at {path}")
    native, params = impl.load(path, device)
    return FittedModel(impl.name, params, native, info={"path": path})

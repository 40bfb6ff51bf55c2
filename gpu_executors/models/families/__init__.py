"""The regressor families and their registry.

Adding a family: write ``families/<name>.py`` exposing ``FAMILY`` (a :class:`ModelFamily`), and
add ``<NAME> = "<name>"`` to :class:`Family`. Family modules are imported on first use, and they
import their libraries only inside their methods, so this package loads nothing heavy.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

from gpu_executors.models.families.base import Family, ModelFamily

if TYPE_CHECKING:
    import optuna

FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)


@functools.cache
def _load(family: Family) -> ModelFamily:
    return importlib.import_module(f"{__name__}.{family.value}").FAMILY


def get_family(name: str | Family) -> ModelFamily:
    """The family called ``name``; ``ValueError`` for a name no family has."""
    try:
        family = Family(name)
    except ValueError:
        raise ValueError(f"unknown model family {name!r}; expected one of {FAMILIES}") from None
    return _load(family)


def suggest_params(trial: optuna.Trial, family: str | Family) -> dict[str, Any]:
    """Draw one configuration of ``family``; every name returned is a real trial parameter."""
    return get_family(family).suggest(trial)


def build_params(family: str | Family, params: dict[str, Any]) -> dict[str, Any]:
    """Searched names -> the trainer's own arguments, explicitly, one by one.

    neural_net -> ``MLPConfig`` fields (``hidden`` from ``n_layers`` + ``layer_i``); xgboost /
    lightgbm -> sklearn-API estimator arguments (``colsample`` -> ``colsample_bytree``); catboost ->
    ``CatBoostRegressor`` arguments. Unknown or missing keys raise ``ValueError``.
    """
    return get_family(family).build(dict(params))


__all__ = ["FAMILIES", "Family", "ModelFamily", "build_params", "get_family", "suggest_params"]

"""The MLP's architecture and training settings, apart from torch so choosing them is cheap.

The scorer search builds one per trial and the Dagster code location imports this module; torch
is imported only where a network is trained (``mlp``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any


def _int_field(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"MLPConfig.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"MLPConfig.{name} must be >= {minimum}, got {value}")
    return int(value)


def _float_field(name: str, value: Any, low: float, high: float, *, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"MLPConfig.{name} must be a number, got {value!r}")
    v = float(value)
    too_low = v <= low if low_open else v < low
    if not math.isfinite(v) or too_low or v >= high:
        side = "(" if low_open else "["
        raise ValueError(f"MLPConfig.{name} must be in {side}{low}, {high}), got {value!r}")
    return v


@dataclass(frozen=True)
class MLPConfig:
    """Architecture and training settings; validated on construction so a bad trial fails early."""

    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1
    learning_rate: float = 1e-3
    batch_size: int = 0  # 0 = full batch
    max_epochs: int = 200
    patience: int = 20
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "cpu"
    max_steps: int | None = None  # cap on optimiser steps: a tiny batch cannot make a fit slow

    def __post_init__(self) -> None:
        if isinstance(self.hidden, str | bytes) or not hasattr(self.hidden, "__iter__"):
            raise ValueError(f"MLPConfig.hidden must be a sequence of widths, got {self.hidden!r}")
        hidden = tuple(_int_field("hidden[i]", h, 1) for h in self.hidden)
        if not hidden:
            raise ValueError("MLPConfig.hidden must name at least one hidden layer")
        fix = object.__setattr__
        fix(self, "hidden", hidden)
        fix(self, "dropout", _float_field("dropout", self.dropout, 0.0, 1.0, low_open=False))
        fix(
            self,
            "learning_rate",
            _float_field("learning_rate", self.learning_rate, 0.0, math.inf, low_open=True),
        )
        fix(self, "batch_size", _int_field("batch_size", self.batch_size, 0))
        fix(self, "max_epochs", _int_field("max_epochs", self.max_epochs, 1))
        fix(self, "patience", _int_field("patience", self.patience, 1))
        fix(
            self,
            "weight_decay",
            _float_field("weight_decay", self.weight_decay, 0.0, math.inf, low_open=False),
        )
        fix(self, "seed", _int_field("seed", self.seed, 0))
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"MLPConfig.device must be a device string, got {self.device!r}")
        if self.max_steps is not None:
            fix(self, "max_steps", _int_field("max_steps", self.max_steps, 1))

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (hidden as a list), so a weights_only checkpoint can hold it."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MLPConfig:
        return cls(**{**d, "hidden": tuple(d["hidden"])})

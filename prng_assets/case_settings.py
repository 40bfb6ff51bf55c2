"""A case's settings: the TOML file that says how one draw file is read and scanned.

A draw file ``NAME.EXT`` takes its settings from ``NAME.seedsieve.toml`` beside it, else from the
folder's ``seedsieve.toml``, else the defaults. Each section is the run config of the asset it
sets, under the same keys, so a settings file, ``dagster asset materialize`` and the Launchpad
say the same thing: ``[history]`` is ``draw_history``'s config (less ``path``: the draw file is
the case), ``[sieve]`` is ``sieve_settings``'s, and ``[scorer]``, ``[models]`` (every model
family) and ``[predictions]`` set the assets automation runs (``case_config``). A file is checked
whole before any run starts:
an unknown section or key, a wrong type, an unknown generator, a draw function that cannot give
the history's values, an empty file or bad TOML is refused with the file and the key named.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import ValidationError

from gpu_executors.linear.registry import LINEAR_GENERATORS, linear_only, linear_only_refusal
from gpu_executors.linear.replay import draw_range
from gpu_executors.prng.draws import check_compatible, parse_draw
from gpu_executors.prng.generators import GENERATORS, get_generator
from prng_assets.assets.ingest import DrawHistoryConfig
from prng_assets.assets.models import ModelSearchConfig
from prng_assets.assets.predictions import PredictionsConfig
from prng_assets.assets.scorer import ScorerSearchConfig
from prng_assets.assets.sieve import SieveSettingsConfig

SUFFIX = ".seedsieve.toml"
FOLDER_DEFAULT = "seedsieve.toml"

# section -> (the asset it configures, its config class, keys a settings file may not set)
SECTIONS: dict[str, tuple[str, type[dg.Config], frozenset[str]]] = {
    "history": ("draw_history", DrawHistoryConfig, frozenset({"path"})),
    "sieve": ("sieve_settings", SieveSettingsConfig, frozenset()),
    "scorer": ("optimal_scorer_config", ScorerSearchConfig, frozenset()),
    "models": ("model_<family>", ModelSearchConfig, frozenset()),
    "predictions": ("predictions", PredictionsConfig, frozenset()),
}
# Sections of the assets automation runs: recorded by draw_history, read by those assets
# (``case_config``), since automation's runs carry no run config.
RECORDED = ("scorer", "models", "predictions")


class CaseSettingsError(ValueError):
    """A settings file that cannot be used: the file, the key (when one is to blame), the rule."""

    def __init__(self, path: Path, key: str | None, rule: str) -> None:
        self.path, self.key, self.rule = path, key, rule
        super().__init__(f"{path}: {key}: {rule}" if key else f"{path}: {rule}")


@dataclass(frozen=True)
class CaseSettings:
    """Validated settings of one case; ``path`` is None when the defaults apply."""

    path: Path | None
    sections: dict[str, dict[str, Any]]

    @property
    def digest(self) -> str:
        """sha256 of the settings as parsed (comments and layout do not count)."""
        text = json.dumps(self.sections, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def run_config(self, draw_file: Path) -> dict[str, Any]:
        """The run config of the assets these settings set, reading ``draw_file``."""
        ops: dict[str, Any] = {
            "draw_history": {"config": {**self.sections.get("history", {}), "path": str(draw_file)}}
        }
        if self.sections.get("sieve"):
            ops["sieve_settings"] = {"config": dict(self.sections["sieve"])}
        return {"ops": ops}


def settings_path(draw_file: Path) -> Path | None:
    """The settings file that applies to ``draw_file``, or None (the defaults)."""
    own = draw_file.with_name(draw_file.name.rsplit(".", 1)[0] + SUFFIX)
    if own.exists():
        return own
    shared = draw_file.with_name(FOLDER_DEFAULT)
    return shared if shared.exists() else None


def settings_for(draw_file: Path) -> CaseSettings:
    """The checked settings of ``draw_file`` (raises :class:`CaseSettingsError`)."""
    path = settings_path(draw_file)
    return CaseSettings(None, {}) if path is None else load(path)


def load(path: Path) -> CaseSettings:
    """Read and check one settings file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseSettingsError(path, None, f"unreadable ({exc})") from None
    if not text.strip():
        raise CaseSettingsError(path, None, "empty: give at least one setting, or delete the file")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseSettingsError(path, None, f"not TOML: {exc}") from None
    return CaseSettings(path, check(path, raw))


def check(path: Path, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``raw`` (parsed TOML) checked against the assets' config classes, section by section."""
    if not raw:
        raise CaseSettingsError(path, None, "no settings: give at least one section")
    sections: dict[str, dict[str, Any]] = {}
    for name, body in raw.items():
        if name not in SECTIONS:
            valid = ", ".join(f"[{s}]" for s in SECTIONS)
            raise CaseSettingsError(path, f"[{name}]", f"unknown section; valid: {valid}")
        if not isinstance(body, dict):
            raise CaseSettingsError(path, name, f"must be a [{name}] section, not a value")
        _, config_class, reserved = SECTIONS[name]
        allowed = set(config_class.model_fields) - reserved
        for key in body:
            if key in reserved:
                raise CaseSettingsError(
                    path, f"[{name}] {key}", "set by the case itself (the draw file beside it)"
                )
            if key not in allowed:
                valid = ", ".join(sorted(allowed))
                rule = f"unknown key{_did_you_mean(key, allowed)}; valid: {valid}"
                raise CaseSettingsError(path, f"[{name}] {key}", rule)
        _check_names(path, name, body)
        try:
            config_class(**body)
        except ValidationError as exc:
            raise CaseSettingsError(path, *_first_error(name, exc)) from None
        sections[name] = dict(body)
    _check_agreement(path, sections)
    return sections


def _check_names(path: Path, section: str, body: dict[str, Any]) -> None:
    """The generator(s) and draw function by name, so their errors name their keys."""
    if section != "sieve":
        return
    generator = body.get("generator", SieveSettingsConfig.model_fields["generator"].default)
    names = [] if generator == "auto" or not isinstance(generator, str) else generator.split(",")
    mode = body.get("mode", SieveSettingsConfig.model_fields["mode"].default)
    for name in names:
        if linear_only(name):
            if mode != "linear" or len(names) > 1:
                how = f"mode {mode!r}" if len(names) == 1 else "a generator list"
                raise CaseSettingsError(path, "[sieve] generator",
                                        linear_only_refusal(name, how))
            continue
        if name not in GENERATORS:
            valid = [*GENERATORS, *(n for n in LINEAR_GENERATORS if linear_only(n))]
            hint = _did_you_mean(name, valid)
            rule = (f"unknown generator {name!r}{hint}; valid: {', '.join(GENERATORS)}, auto; "
                    f"mode linear also: {', '.join(n for n in valid if linear_only(n))}")
            raise CaseSettingsError(path, "[sieve] generator", rule)
    draw = body.get("draw")
    if isinstance(draw, str) and names and linear_only(names[0]):
        try:
            draw_range(names[0], draw)  # the linear route's draw functions (floor:N)
        except ValueError as exc:
            raise CaseSettingsError(path, "[sieve] draw", str(exc)) from None
    elif isinstance(draw, str) and draw != "auto":
        try:
            spec = parse_draw(draw)
            if len(names) == 1:
                check_compatible(get_generator(names[0]), spec)
        except ValueError as exc:
            raise CaseSettingsError(path, "[sieve] draw", str(exc)) from None


def _check_agreement(path: Path, sections: dict[str, dict[str, Any]]) -> None:
    """A draw function whose values cannot be the history's: [0, modulus) must be its range."""
    modulus = sections.get("history", {}).get("modulus")
    draw = sections.get("sieve", {}).get("draw", SieveSettingsConfig.model_fields["draw"].default)
    if modulus is None or draw == "auto":
        return
    generator = sections.get("sieve", {}).get("generator", "")
    if linear_only(generator):
        low, n_values = draw_range(generator, draw)
    else:
        spec = parse_draw(draw)
        low, n_values = spec.low, spec.n_values
    top = low + n_values
    if top != modulus:
        rule = (
            f"draw {draw} gives values in [{low}, {top - 1}], but [history] modulus "
            f"{modulus} says [0, {modulus - 1}]: they must agree (modulus = {top})"
        )
        raise CaseSettingsError(path, "[sieve] draw", rule)


def _did_you_mean(word: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _first_error(section: str, exc: ValidationError) -> tuple[str, str]:
    """(key, rule) of a pydantic error, the key as ``[section] name``."""
    error = exc.errors()[0]
    loc = ".".join(str(part) for part in error["loc"])
    key = f"[{section}] {loc}" if loc else f"[{section}]"
    message = str(error["msg"]).removeprefix("Value error, ")
    return key, message

"""Shared fixtures: an isolated Dagster instance and artefact root per test."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from resources.artefacts import ArtefactStore


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def artefacts(tmp_path: Path) -> ArtefactStore:
    return ArtefactStore(root=str(tmp_path / "artefacts"))


@pytest.fixture
def demo_history(tmp_path: Path) -> Path:
    from prng_assets.demo import write_demo_scenario

    return write_demo_scenario(tmp_path / "demo" / "history.json")

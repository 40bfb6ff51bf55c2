"""Shared fixtures: an isolated Dagster instance and artefact root per test, a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from resources.artefacts import ArtefactStore
from tests.net import webhook_server


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


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver on 127.0.0.1 in a thread: (url, received events)."""
    with webhook_server() as hook:
        yield hook

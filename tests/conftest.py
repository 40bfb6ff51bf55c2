"""Shared fixtures: an isolated Dagster instance and artefact root per test, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class _Hook(BaseHTTPRequestHandler):
    received: list[dict]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(  # type: ignore[attr-defined]
            {"path": self.path, "type": self.headers.get("Content-Type"), "body": json.loads(body)}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver on 127.0.0.1 in a thread: (url, received events)."""
    with webhook_server() as hook:
        yield hook


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict]]]:
    """The receiver itself, for fixtures of any scope."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", server.received  # type: ignore
    finally:
        server.shutdown()
        server.server_close()

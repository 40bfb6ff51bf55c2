"""Networking the tests share: a free port, a webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver on 127.0.0.1 in a thread, for fixtures of any scope: (url, received
    events)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", server.received  # type: ignore
    finally:
        server.shutdown()
        server.server_close()

"""Failure alerts: a JSON POST to a webhook (Slack/Teams/ntfy-style incoming hooks).

Alerting must never be the reason a run fails or hangs, so ``send`` has a short timeout, never
raises, and is a no-op when no URL is configured (the default on a laptop).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request

import dagster as dg

WEBHOOK_ENV = "SEEDSIEVE_ALERT_WEBHOOK"
log = logging.getLogger(__name__)


class Notifier(dg.ConfigurableResource):
    """Posts events as JSON to ``webhook_url``; ``None`` disables alerts."""

    webhook_url: str | None = None
    timeout_seconds: float = 5.0

    @classmethod
    def from_env(cls) -> Notifier:
        """The notifier the code location uses: the URL in ``SEEDSIEVE_ALERT_WEBHOOK``, if any."""
        return cls(webhook_url=os.environ.get(WEBHOOK_ENV) or None)

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)

    def send(self, event: dict) -> bool:
        """POST ``event``; True on a 2xx answer, False when disabled or on any failure."""
        if not self.webhook_url:
            return False
        body = json.dumps(event, default=str).encode()
        try:
            request = urllib.request.Request(
                self.webhook_url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": "seedsieve-alerts"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                ok = 200 <= response.status < 300
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning("alert to %s failed: %s", self.webhook_url, exc)
            return False
        except Exception as exc:  # never let alerting break the caller
            log.warning("alert to %s failed unexpectedly: %r", self.webhook_url, exc)
            return False
        if not ok:
            log.warning("alert to %s answered HTTP %s", self.webhook_url, response.status)
        return ok

"""What every job carries: step retries, a failure alert, and a maximum runtime."""

from __future__ import annotations

import dagster as dg

# Transient failures (a lost DB connection, a GPU reset, a busy filesystem) retry twice: 2 s, 4 s.
RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)

# Run monitoring (the daemon) fails a run older than this; the tag replaces the instance's
# run_monitoring.max_runtime_seconds for the job that carries it.
MAX_RUNTIME_TAG = "dagster/max_runtime"
DEFAULT_MAX_RUNTIME_SECONDS = 12 * 3600


def max_runtime_tags(seconds: int = DEFAULT_MAX_RUNTIME_SECONDS) -> dict[str, str]:
    """Job tags that bound a run's wall time (enforced by the daemon's run monitoring)."""
    if seconds < 1:
        raise ValueError(f"max runtime {seconds} s must be positive")
    return {MAX_RUNTIME_TAG: str(int(seconds))}


@dg.failure_hook(required_resource_keys={"notifications"})
def failure_alert(context: dg.HookContext) -> None:
    """Post the failed step (job, run, step, error) to the webhook; no-op without a URL."""
    exc = context.op_exception
    event = {
        "event": "step_failure",
        "job": context.job_name,
        "run_id": context.run_id,
        "step": context.step_key,
        "op": context.op.name,
        "error": f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error",
    }
    notifier = context.resources.notifications
    if notifier.send(event):
        context.log.info(f"failure alert sent for step {context.step_key}")

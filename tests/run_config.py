"""Run config the tests share."""

# Console logging at ERROR only: test runs stay quiet unless a step fails.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}

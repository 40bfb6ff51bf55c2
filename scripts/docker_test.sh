#!/usr/bin/env bash
# `make docker-test`: Docker for real. Starts dockerd when it is not running (root only), builds
# the images (scripts/docker_build.sh; no kernels compiled into them: the test's containers
# share one kernel folder, so the one pair the test scans compiles once), then runs
# tests/docker with SEEDSIEVE_DOCKER_TEST=1. Without a Docker engine it says why and exits 0,
# like the other tests that skip without their runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"

engine_up() { timeout 20 docker info >/dev/null 2>&1; }
if ! engine_up; then
  if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
    echo "starting dockerd"
    (dockerd >/tmp/seedsieve-dockerd.log 2>&1 &)
    for _ in $(seq 60); do engine_up && break; sleep 1; done
  fi
fi
if ! engine_up; then
  echo "docker-test skipped: no Docker engine (install docker.io and run as root to start one)"
  exit 0
fi
start=$SECONDS
WARM=0 PYTHON="$PY" scripts/docker_build.sh "${SEEDSIEVE_DOCKER_IMAGES:-both}"
echo "images built in $((SECONDS - start)) s"
SEEDSIEVE_DOCKER_TEST=1 "$PY" -m pytest -q -p no:cacheprovider tests/docker -s "$@"
echo "docker-test: $((SECONDS - start)) s in all"

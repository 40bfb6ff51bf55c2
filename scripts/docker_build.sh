#!/usr/bin/env bash
# Build the images on a machine that may have no registry: the full one (seedsieve:latest) and
# the scan worker (seedsieve-scan:latest), and print their sizes and build times.
#
#   scripts/docker_build.sh [full|scan|both]          (default both; needs a running dockerd)
#
# The base image is python:3.11-slim when a registry answers, else a local Debian one made by
# scripts/docker_base.sh (BASE_IMAGE overrides both). pip inside the build uses what pip uses
# here: a CA bundle (PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE or pip's `cert` setting) goes
# in as the build secret `pip_cert`, and local wheel folders or file:// indexes in pip's
# configuration (find-links, extra-index-url) are served on 127.0.0.1 for the build's duration
# (the build runs on the host network). TORCH_INDEX defaults to empty (pip's index plus those
# wheels); WARM=0 skips compiling the kernels into the images.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-both}"
PY="${PYTHON:-python3}"
export DOCKER_BUILDKIT=1

# BuildKit (for the pip_cert secret): a client with buildx, or one older than 23 whose
# DOCKER_BUILDKIT=1 talks to the engine's own BuildKit (Debian's docker.io client).
docker=""
for d in $(which -a docker); do
  if "$d" buildx version >/dev/null 2>&1; then docker=$d; break; fi
  major=$("$d" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
  if [ -n "$major" ] && [ "$major" -lt 23 ]; then docker=$d; break; fi
done
[ -n "$docker" ] || { echo "no docker client with BuildKit (install buildx)" >&2; exit 2; }

base="${BASE_IMAGE:-}"
if [ -z "$base" ]; then
  if timeout 60 "$docker" pull -q python:3.11-slim >/dev/null 2>&1; then
    base=python:3.11-slim
  else
    echo "no registry answered: building a local base image"
    base=seedsieve-base:bookworm
    scripts/docker_base.sh "$base"
  fi
fi

args=(--network host --build-arg "BASE_IMAGE=$base" --build-arg "WARM=${WARM:-1}"
      --build-arg "TORCH_INDEX=${TORCH_INDEX:-}")
[ -n "${TORCH_SPEC:-}" ] && args+=(--build-arg "TORCH_SPEC=$TORCH_SPEC")

cert="${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-}}}"
[ -z "$cert" ] && cert=$("$PY" -m pip config get global.cert 2>/dev/null || true)
if [ -n "$cert" ] && [ -s "$cert" ]; then
  args+=(--secret "id=pip_cert,src=$cert")
fi

# Local folders pip is configured with become http URLs the build can reach.
servers=()
cleanup() { for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
# The URLs are build arguments, part of the layer cache's key: the same ports every build
# (from SEEDSIEVE_MIRROR_PORT up) keep the dependency layers cached.
next_port="${SEEDSIEVE_MIRROR_PORT:-38710}"
serve() {  # serve DIR [PATH]: DIR on the next free port; sets `url` to PATH under it
  local port
  port=$("$PY" -c '
import socket, sys
p = int(sys.argv[1])
while True:
    try:
        socket.create_server(("127.0.0.1", p)).close()
        break
    except OSError:
        p += 1
print(p)' "$next_port")
  next_port=$((port + 1))
  "$PY" -m http.server "$port" --bind 127.0.0.1 --directory "$1" >/dev/null 2>&1 &
  servers+=("$!")
  for _ in $(seq 50); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" \
      2>/dev/null && break
    sleep 0.1
  done
  url="http://127.0.0.1:$port/${2:-}"
}
local_dirs() {  # pip config KEY: the local folders it names, one per line
  "$PY" -m pip config list 2>/dev/null | sed -n "s/^[a-z]*\.$1='\(.*\)'$/\1/p" | tr ' ' '\n' \
    | sed -n 's#^file://##p; \#^/#p' | sort -u
}
links=()
for d in $(local_dirs find-links); do
  if [ -d "$d" ]; then serve "$d"; links+=("$url"); fi
done
indexes=()
# An index is served from its parent: its pages may link to files beside it (../../files/).
for d in $(local_dirs extra-index-url); do
  if [ -d "$d" ]; then serve "$(dirname "$d")" "$(basename "$d")/"; indexes+=("$url"); fi
done
[ "${#links[@]}" -gt 0 ] && args+=(--build-arg "PIP_FIND_LINKS=${links[*]}")
[ "${#indexes[@]}" -gt 0 ] && args+=(--build-arg "PIP_EXTRA_INDEX_URL=${indexes[*]}")

build() {  # build TARGET TAG
  local start=$SECONDS
  "$docker" build "${args[@]}" --target "$1" --build-arg "IMAGE_NAME=$2" -t "$2" . \
    >"/tmp/seedsieve-docker-build-$1.log" 2>&1 \
    || { tail -n 40 "/tmp/seedsieve-docker-build-$1.log" >&2; exit 1; }
  echo "$2: $("$docker" image inspect -f '{{.Size}}' "$2" | numfmt --to=iec), built in" \
       "$((SECONDS - start)) s (base $base)"
}
case "$which" in
  full) build full seedsieve:latest ;;
  scan) build scan seedsieve-scan:latest ;;
  both) build scan seedsieve-scan:latest; build full seedsieve:latest ;;
  *) echo "say full, scan or both" >&2; exit 2 ;;
esac

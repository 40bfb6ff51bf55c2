#!/usr/bin/env bash
# A Python 3.11 base image for the Dockerfile when no registry can be reached.
#
#   scripts/docker_base.sh [IMAGE]          (default seedsieve-base:bookworm; root, dockerd up)
#
# With a registry, use the Dockerfile's default base (python:3.11-slim) and skip this. Without
# one, `docker pull` cannot work, so the base is made here: debootstrap a minimal Debian
# bookworm (its python3 is 3.11) from the Debian mirror this machine's apt already uses (read
# from /etc/apt, so no host is named in the repository), add python3-venv and the CA
# certificates, and `docker import` the tree. An image that already exists is kept: delete it
# (`docker rmi`) to rebuild. Takes about a minute; the image is about 250 MB.
set -euo pipefail
image="${1:-seedsieve-base:bookworm}"
suite="${DEBIAN_SUITE:-bookworm}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image exists: kept"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap missing (apt-get install debootstrap)" >&2; exit 2; }

# The first Debian mirror apt is configured with: deb822 (.sources) or one-line (.list) files.
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' \
    | grep -v security | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '{print $2}' | grep -v security | head -n1 || true)
fi
[ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt: set DEBIAN_MIRROR" >&2; exit 2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Debian's apt caches and lists are not needed at run time; keep the image small.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$image" >/dev/null
echo "base image $image: $(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec)"

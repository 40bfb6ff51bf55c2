# The Seedsieve code location as an image: the gRPC code server by default, and the same image
# runs each Dagster run (DockerRunLauncher) and each step (docker_executor). Needs BuildKit
# (the default builder since Docker 23; DOCKER_BUILDKIT=1 before).
#
#   docker build -t seedsieve:latest .                                    # CPU torch
#   docker build -t seedsieve:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 \
#       --build-arg IMAGE_NAME=seedsieve:cuda .                           # CUDA wheels
#   docker build -t seedsieve:rocm --build-arg TORCH_INDEX=https://download.pytorch.org/whl/rocm6.4 \
#       --build-arg IMAGE_NAME=seedsieve:rocm .                           # ROCm wheels
#   docker build -t seedsieve-scan:latest --target scan \
#       --build-arg IMAGE_NAME=seedsieve-scan:latest .                    # no torch, no models
# (Pick the CUDA/ROCm index that carries TORCH_SPEC; see pytorch.org's install matrix. GPU
# wheels pull in Triton, which the GPU sieve needs; the CPU image has no Triton and scans on
# the CPU.) Without a registry, scripts/docker_build.sh makes a local base image and builds
# both targets. Compose file and instance profile: deploy/docker/.
#
# Build arguments: BASE_IMAGE (any image with Python 3.11 and its venv module); PIP_INDEX_URL,
# PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS (pip's own variables, for a mirror or a wheel folder);
# WARM (1: compile the README's kernels into the image). A CA bundle for pip goes in as the
# secret `pip_cert` (`--secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt`).
ARG BASE_IMAGE=python:3.11-slim

# --- the Python environment: a venv, so every base image looks the same to pip ---------------
FROM ${BASE_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
COPY deploy/docker/pip.sh deploy/docker/requirements.py /opt/build/

# --- the scan image's libraries: pyproject's dependencies less the model libraries -----------
FROM python AS scan-deps
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
COPY pyproject.toml /opt/build/
RUN --mount=type=secret,id=pip_cert \
    python /opt/build/requirements.py /opt/build/pyproject.toml scan > /opt/build/scan.txt \
    && /opt/build/pip.sh install -r /opt/build/scan.txt

# --- the full image's libraries: torch first, from the chosen wheel index, then the models ----
FROM scan-deps AS full-deps
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX="https://download.pytorch.org/whl/cpu"
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
# torch first, so the model libraries find it satisfied and pip never swaps in a multi-GB
# default build. An empty TORCH_INDEX means pip's own index (and PIP_FIND_LINKS).
RUN --mount=type=secret,id=pip_cert \
    /opt/build/pip.sh install "${TORCH_SPEC}" ${TORCH_INDEX:+--index-url "${TORCH_INDEX}"} \
    && python /opt/build/requirements.py /opt/build/pyproject.toml models > /opt/build/models.txt \
    && /opt/build/pip.sh install -r /opt/build/models.txt

# --- the sources, apart, so a code change rebuilds only the layers below ----------------------
FROM ${BASE_IMAGE} AS sources
WORKDIR /opt/seedsieve/app
COPY pyproject.toml README.md ./
COPY prng_assets ./prng_assets
COPY resources ./resources
COPY gpu_executors ./gpu_executors
COPY dagster.yaml workspace.yaml ./

# --- the scan image: seed blocks, pool, code server; no torch, no model families --------------
FROM scan-deps AS scan
ARG IMAGE_NAME="seedsieve-scan:latest"
ARG WARM=1
ENV DAGSTER_HOME=/opt/dagster/home \
    SEEDSIEVE_ARTEFACTS=/opt/seedsieve/artefacts \
    SEEDSIEVE_DOCKER_JOBS=1 \
    SEEDSIEVE_KERNEL_CACHE=/opt/seedsieve/kernels \
    DAGSTER_CURRENT_IMAGE=${IMAGE_NAME}
WORKDIR /opt/seedsieve/app
COPY --from=sources /opt/seedsieve/app ./
COPY deploy/docker/dagster.yaml deploy/docker/workspace.yaml ${DAGSTER_HOME}/
# --no-deps: the libraries are the layers above (pip check would miss torch and the models,
# which this image leaves out on purpose; the full image runs it).
RUN python -m pip install --no-deps .
# Not root: ROCm's device access comes from group_add: [video], CUDA's from the runtime.
RUN useradd --create-home --uid 10001 seedsieve \
    && mkdir -p /opt/seedsieve/artefacts /opt/seedsieve/data /opt/seedsieve/kernels \
    && chown -R seedsieve /opt/seedsieve/artefacts /opt/seedsieve/data /opt/seedsieve/kernels \
        ${DAGSTER_HOME}
USER seedsieve
# Kernels compiled once, into the image: the demo's and the README examples' pairs. numba keys
# each entry on the CPU as well, so a host with another CPU compiles its own on first use.
RUN if [ "${WARM}" = 1 ]; then seedsieve warm; fi
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-m", "prng_assets.definitions", "-h", "0.0.0.0", "-p", "4000"]

# --- the full image (the default target): everything, models included ------------------------
FROM full-deps AS full
ARG IMAGE_NAME="seedsieve:latest"
ARG WARM=1
ENV DAGSTER_HOME=/opt/dagster/home \
    SEEDSIEVE_ARTEFACTS=/opt/seedsieve/artefacts \
    SEEDSIEVE_DOCKER_JOBS=1 \
    SEEDSIEVE_KERNEL_CACHE=/opt/seedsieve/kernels \
    DAGSTER_CURRENT_IMAGE=${IMAGE_NAME}
WORKDIR /opt/seedsieve/app
COPY --from=sources /opt/seedsieve/app ./
COPY deploy/docker/dagster.yaml deploy/docker/workspace.yaml ${DAGSTER_HOME}/
# --no-deps: the libraries are the layers above; pip check says if one is missing.
RUN python -m pip install --no-deps . && python -m pip check
RUN useradd --create-home --uid 10001 seedsieve \
    && mkdir -p /opt/seedsieve/artefacts /opt/seedsieve/data /opt/seedsieve/kernels \
    && chown -R seedsieve /opt/seedsieve/artefacts /opt/seedsieve/data /opt/seedsieve/kernels \
        ${DAGSTER_HOME}
USER seedsieve
RUN if [ "${WARM}" = 1 ]; then seedsieve warm; fi
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-m", "prng_assets.definitions", "-h", "0.0.0.0", "-p", "4000"]

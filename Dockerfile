# The Seedsieve code location as an image: the gRPC code server by default, and the same image
# runs each Dagster run (DockerRunLauncher) and each step (docker_executor).
#
#   docker build -t seedsieve:latest .                                    # CPU torch
#   docker build -t seedsieve:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 \
#       --build-arg IMAGE_NAME=seedsieve:cuda .                           # CUDA wheels
#   docker build -t seedsieve:rocm --build-arg TORCH_INDEX=https://download.pytorch.org/whl/rocm6.4 \
#       --build-arg IMAGE_NAME=seedsieve:rocm .                           # ROCm wheels
# (Pick the CUDA/ROCm index that carries TORCH_SPEC; see pytorch.org's install matrix. GPU
# wheels pull in Triton, which the GPU sieve needs; the CPU image has no Triton and scans on
# the CPU.) Compose file and instance profile: deploy/docker/.
FROM python:3.11-slim

ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX="https://download.pytorch.org/whl/cpu"
ARG IMAGE_NAME="seedsieve:latest"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    SEEDSIEVE_ARTEFACTS=/opt/seedsieve/artefacts \
    SEEDSIEVE_DOCKER_JOBS=1 \
    SEEDSIEVE_KERNEL_CACHE=/opt/seedsieve/kernels \
    DAGSTER_CURRENT_IMAGE=${IMAGE_NAME}

# torch first, from the chosen wheel index, so `pip install .` finds it satisfied and never
# swaps in a multi-GB default build.
RUN pip install "${TORCH_SPEC}" --index-url "${TORCH_INDEX}"

WORKDIR /opt/seedsieve/app
COPY pyproject.toml README.md ./
COPY prng_assets ./prng_assets
COPY resources ./resources
COPY gpu_executors ./gpu_executors
RUN pip install .

COPY dagster.yaml workspace.yaml ./
COPY deploy/docker/dagster.yaml deploy/docker/workspace.yaml ${DAGSTER_HOME}/

# Not root: ROCm's device access comes from group_add: [video], CUDA's from the runtime.
RUN useradd --create-home --uid 10001 seedsieve \
    && mkdir -p /opt/seedsieve/artefacts /opt/seedsieve/data /opt/seedsieve/kernels \
    && chown -R seedsieve /opt/seedsieve/artefacts /opt/seedsieve/data /opt/seedsieve/kernels \
        ${DAGSTER_HOME}
USER seedsieve

# Kernels compiled once, into the image: the demo's and the README examples' pairs. numba keys
# each entry on the CPU as well, so a host with another CPU compiles its own on first use.
RUN seedsieve warm

EXPOSE 4000
CMD ["dagster", "code-server", "start", "-m", "prng_assets.definitions", "-h", "0.0.0.0", "-p", "4000"]

# shipsign's GitHub Action image: `runs.using: docker` in action.yml builds this file.
#
# Base: python:3.12-slim-bookworm pinned by the digest of its multi-platform index (Python 3.12.14,
# built 2026-08-25), as listed in docker-library/repo-info, repos/python/remote/3.12-slim-bookworm.md.
# To move it: `docker buildx imagetools inspect python:3.12-slim-bookworm` and replace the digest.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:0f5b26b9518d002b6173fd61daad821fa340635ebfec5bba471013f9ca114579

# --- builder: build shipsign's wheel, install it with its dependencies into a virtualenv -------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# --only-binary: every dependency comes as a published wheel; nothing is compiled (and the slim
# base has no compiler). --no-compile: no .pyc files, which keeps the layer small and the same
# from build to build; PYTHONDONTWRITEBYTECODE stops them being written at run time.
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -m venv --without-pip /opt/shipsign \
 && python -m pip --python /opt/shipsign/bin/python install --no-compile --only-binary=:all: \
      /dist/shipsign-*.whl

# --- the action: the base image and the virtualenv, nothing else -------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/shipsign/bin:$PATH
COPY --from=builder /opt/shipsign /opt/shipsign
# No USER and no WORKDIR: the runner starts the container as root (the default user) with
# --workdir /github/workspace, and needs root to reach the workspace and its command files.
ENTRYPOINT ["shipsign", "action"]

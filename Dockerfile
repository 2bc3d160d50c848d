# shipsign's GitHub Action image. The release workflow builds it once for linux/amd64 and
# linux/arm64, pushes it by digest, signs, verifies and only then tags it; action.yml names that
# image by digest (RELEASING.md). This file stays for users who build the Action from source.
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
# Hash-locked, generated from pyproject.toml by pip-compile (requirements/*.txt, checked for
# staleness in CI): the build backend, then the runtime dependencies. --require-hashes: a wheel
# whose bytes differ from the lock's is refused. --only-binary: nothing is compiled (and the slim
# base has no compiler). --no-compile: no .pyc files, which keeps the layer small and the same
# from build to build; PYTHONDONTWRITEBYTECODE stops them being written at run time.
COPY requirements/build.txt requirements/action.txt ./requirements/
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --only-binary=:all: --no-deps \
      -r requirements/build.txt \
 && python -m venv --without-pip /opt/shipsign \
 && python -m pip --python /opt/shipsign/bin/python install --no-compile --require-hashes \
      --only-binary=:all: --no-deps -r requirements/action.txt
COPY pyproject.toml README.md ./
COPY src ./src
# shipsign itself, built here with the locked backend; its dependencies are already in place.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /dist . \
 && python -m pip --python /opt/shipsign/bin/python install --no-compile --no-deps \
      /dist/shipsign-*.whl

# --- the action: the base image, git, and the virtualenv -----------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/shipsign/bin:$PATH
# git, and only git: `command: gate` lists a change with `git diff BASE...HEAD` (the `base` input,
# a run without a token, a pull request of more than 3000 files). From Debian's signed archive
# for the pinned base; no recommends; the package lists are not kept in the image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /opt/shipsign /opt/shipsign
# No USER and no WORKDIR: the runner starts the container as root (the default user) with
# --workdir /github/workspace, and needs root to reach the workspace and its command files.
ENTRYPOINT ["shipsign", "action"]

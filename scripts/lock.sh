#!/usr/bin/env bash
# Regenerate the Action image's hash-locked requirements from pyproject.toml with pip-compile
# (pip-tools, from PyPI): requirements/action.txt (runtime) and requirements/build.txt (the
# wheel's build backend). The Dockerfile installs both with --require-hashes; CI regenerates
# them and fails on any difference. Uses .venv when it exists, else a throw-away one.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
if [ ! -x "$py" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m venv "$tmp/venv"
  py=$tmp/venv/bin/python
fi
"$py" -m piptools --version >/dev/null 2>&1 \
  || "$py" -m pip install -q --disable-pip-version-check 'pip-tools>=7.4,<8'
common=(--quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url
  --no-emit-find-links)
"$py" -m piptools compile "${common[@]}" --output-file requirements/action.txt pyproject.toml
"$py" -m piptools compile "${common[@]}" --only-build-deps --build-deps-for wheel \
  --output-file requirements/build.txt pyproject.toml

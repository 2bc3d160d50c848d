#!/usr/bin/env bash
# Install everything shipsign's demo and tests need, on Debian, as root. Safe to run again:
# each step is skipped when what it installs is already there.
#   apt:  docker-registry (the test registry), skopeo (independent OCI client), apache2-utils
#         (htpasswd), openssl, git, Node.js + npm (the local Sigstore stack), python3-venv
#   npm:  tests/stack/sigstore (pinned by its package-lock.json)
#   pip:  shipsign itself, editable, with its test extras, into .venv
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '==> %s\n' "$*" >&2; }

need_apt=()
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v skopeo >/dev/null || need_apt+=(skopeo)
command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v git >/dev/null || need_apt+=(git)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if ! command -v python3 >/dev/null; then
  need_apt+=(python3 python3-venv python3-pip)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  need_apt+=(python3-venv python3-pip)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# docker-registry's package starts a system service on port 5000; the stack starts its own
# instances on free ports, so the service is not needed.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  say "warning: Node.js $(node --version) found; the Sigstore stack is tested on Node.js 20"
fi

stamp=tests/stack/sigstore/node_modules/.shipsign-lock
want=$(sha256sum tests/stack/sigstore/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "npm ci (tests/stack/sigstore)"
  npm ci --prefix tests/stack/sigstore --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$stamp"
fi

py=.venv/bin/python
if [ ! -x "$py" ]; then
  say "python3 -m venv .venv"
  python3 -m venv .venv
fi
stamp=.venv/.shipsign-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "pip install -e '.[test]' into .venv"
  "$py" -m pip install -q --disable-pip-version-check --upgrade pip \
    2> >(grep -v '^WARNING: Location' >&2)
  "$py" -m pip install -q --disable-pip-version-check -e '.[test]' \
    2> >(grep -v '^WARNING: Location' >&2)
  echo "$want" > "$stamp"
fi

#!/usr/bin/env bash
# Install everything shipsign's demo and tests need, on Debian, as root. Safe to run again:
# each step is skipped when what it installs is already there.
#   apt:  docker-registry (the test registry), skopeo (independent OCI client), apache2-utils
#         (htpasswd), openssl, git, Node.js + npm (the local Sigstore stack), python3-venv
#   npm:  tests/stack/sigstore (pinned by its package-lock.json)
#   pip:  shipsign itself, editable, with its test extras, into .venv
#   go:   with --peers, the test peers (cosign v3 and v2, oras, our referrers-API registry),
#         built with the Go toolchain (1.25 or newer) into ~/.cache/shipsign-peers
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

# Go peers (only with --peers; the tests need them, the demo does not): the tools users actually
# run, built from source with `go install` at pinned versions into a cache outside the
# repository, one folder per name and version, skipped when present. Versions must match
# tests/stack/peers.py (a test checks). A failed build fails this script.
[ "${1:-}" = "--peers" ] || exit 0
peers=${SHIPSIGN_PEERS:-$HOME/.cache/shipsign-peers}
go_peer() { # NAME VERSION MODULE-PATH
  local name=$1 version=$2 module=$3 dir="$peers/$1-$2"
  [ -x "$dir/bin/$name" ] && return 0
  command -v go >/dev/null || { echo "error: Go is needed to build the test peers (go $name $version)" >&2; exit 1; }
  say "go install $module@$version (cold builds take a few minutes)"
  local started=$SECONDS
  mkdir -p "$dir"
  GOBIN="$dir/bin.tmp" GOFLAGS=-trimpath GOTOOLCHAIN=local go install "$module@$version"
  rm -rf "$dir/bin" && mv "$dir/bin.tmp" "$dir/bin"
  say "built $name $version in $((SECONDS - started)) s"
}
go_peer cosign v3.1.3 github.com/sigstore/cosign/v3/cmd/cosign
go_peer cosign v2.6.5 github.com/sigstore/cosign/v2/cmd/cosign
go_peer cosign v2.4.0 github.com/sigstore/cosign/v2/cmd/cosign
go_peer oras v1.3.6 oras.land/oras/cmd/oras
own_peer() { # NAME SOURCE-DIR: our own Go program, keyed by its sources (tests/stack/peers.py)
  local name=$1 src=$2 key dir started
  key=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
  dir="$peers/$name-$key"
  [ -x "$dir/bin/$name" ] && return 0
  command -v go >/dev/null || { echo "error: Go is needed to build the test peer $name" >&2; exit 1; }
  say "go build $src (the test peer $name)"
  started=$SECONDS
  mkdir -p "$dir/bin.tmp"
  (cd "$src" && GOWORK=off GOTOOLCHAIN=local go build -trimpath -buildvcs=false -o "$dir/bin.tmp/$name" .)
  rm -rf "$dir/bin" && mv "$dir/bin.tmp" "$dir/bin"
  say "built $name $key in $((SECONDS - started)) s"
}
own_peer refregistry tests/stack/refregistry

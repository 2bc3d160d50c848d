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
# The gate renders local Helm charts with `helm template` when helm is on PATH.
go_peer helm v4.3.2 helm.sh/helm/v4/cmd/helm
# The workflow linter .ci/run runs over .github/workflows and action.yml (scripts/test.sh).
go_peer actionlint v1.7.12 github.com/rhysd/actionlint/cmd/actionlint
go_module_peer() { # NAME VERSION MODULE PACKAGE [DEPENDENCY@VERSION...]
  # For a module whose go.mod has replace directives, which `go install m@v` refuses: download the
  # release, build PACKAGE inside a copy of it (so its replaces apply), after moving each listed
  # dependency to the given version (one the module proxy serves when go.mod's is not served).
  local name=$1 version=$2 module=$3 package=$4 dir="$peers/$1-$2" src started pin
  shift 4
  [ -x "$dir/bin/$name" ] && return 0
  command -v go >/dev/null || { echo "error: Go is needed to build the test peers (go $name $version)" >&2; exit 1; }
  say "go build $module/$package@$version (cold builds take a few minutes)"
  started=$SECONDS
  src=$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "error: go mod download $module@$version gave no source" >&2; exit 1; }
  rm -rf "$dir/src" && mkdir -p "$dir" && cp -R "$src" "$dir/src" && chmod -R u+w "$dir/src"
  for pin in "$@"; do (cd "$dir/src" && go mod edit -require="$pin"); done
  (cd "$dir/src" && GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    go build -trimpath -buildvcs=false -o "$dir/bin.tmp/$name" "./$package")
  rm -rf "$dir/src" "$dir/bin" && mv "$dir/bin.tmp" "$dir/bin"
  say "built $name $version in $((SECONDS - started)) s"
}
# policy-controller's admission tester (tests/integration/policy/test_engine_admits.py); the two
# pins replace pseudo-versions of go.mod that the module proxy does not serve (tests/stack/peers.py).
go_module_peer policy-tester v0.15.1 github.com/sigstore/policy-controller cmd/tester \
  github.com/google/go-containerregistry/pkg/authn/k8schain@v0.0.0-20260205022027-93aa2732266a \
  github.com/google/go-containerregistry/pkg/authn/kubernetes@v0.0.0-20260224031529-85f2bf5f7303
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

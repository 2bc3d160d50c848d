#!/usr/bin/env bash
# The demo: install what is missing, start the local stack (two registries standing in for GHCR
# and Docker Hub, a Sigstore test stack, a GitHub Actions OIDC endpoint), push a small two-platform
# image to both registries, then run shipsign against them as a release workflow would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tests${PYTHONPATH:+:$PYTHONPATH}"

work=$(mktemp -d)
python -m stack up --workdir "$work" > "$work/stack.log" 2>&1 &
stack_pid=$!
trap 'kill "$stack_pid" 2>/dev/null; wait "$stack_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  [ -f "$work/stack.env" ] && break
  kill -0 "$stack_pid" 2>/dev/null || { cat "$work/stack.log" >&2; exit 1; }
  sleep 0.1
done
[ -f "$work/stack.env" ] || { echo "the local stack did not start:" >&2; cat "$work/stack.log" >&2; exit 1; }
# shellcheck disable=SC1091
source "$work/stack.env"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
insecure=(--insecure-registry "$STACK_REGISTRY_A" --insecure-registry "$STACK_REGISTRY_B")
a="$STACK_REGISTRY_A/acme/app:v1.2.3"
b="$STACK_REGISTRY_B/acme/app:v1.2.3"

echo "local stack up: registries $STACK_REGISTRY_A (\"GHCR\") and $STACK_REGISTRY_B (\"Docker Hub\"),"
echo "Sigstore at $STACK_SIGSTORE_URL, workflow identity $STACK_IDENTITY"
step "push a two-platform image to both registries"
python -m stack push-image --registry "$STACK_REGISTRY_A" --repo acme/app --tag v1.2.3
python -m stack push-image --registry "$STACK_REGISTRY_B" --repo acme/app --tag v1.2.3
step shipsign resolve "$a" "$b"
shipsign resolve "${insecure[@]}" "$a" "$b"

# Signing as the release workflow would: no token is passed, shipsign asks the runner's OIDC
# endpoint (GITHUB_ACTIONS and ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, exported by stack.env).
step shipsign sign --recursive --trust-config "\$STACK_TRUST_CONFIG" "$a" "$b"
shipsign sign --recursive --trust-config "$STACK_TRUST_CONFIG" "${insecure[@]}" "$a" "$b"

step shipsign verify --certificate-identity "$STACK_IDENTITY" \
  --certificate-oidc-issuer "$STACK_ISSUER" --trusted-root "\$STACK_TRUSTED_ROOT" --recursive "$a" "$b"
shipsign verify --certificate-identity "$STACK_IDENTITY" --certificate-oidc-issuer "$STACK_ISSUER" \
  --trusted-root "$STACK_TRUSTED_ROOT" --recursive "${insecure[@]}" "$a" "$b"

step shipsign tree "$a"
shipsign tree "${insecure[@]}" "$a"

step "shipsign sign ... again: everything is signed already, nothing is added"
shipsign sign --recursive --trust-config "$STACK_TRUST_CONFIG" "${insecure[@]}" "$a" "$b" | tail -n 1

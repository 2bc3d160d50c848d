#!/usr/bin/env bash
# The release steps that are not GitHub's (RELEASING.md):
#   release.sh image                   print the image action.yml runs (HOST/REPO@sha256:...)
#   release.sh pin HOST/REPO@sha256:D  [FILE]  write that image into action.yml (or FILE)
#   release.sh rehearse [X.Y.Z]        the whole release against the local stack: build, push by
#                                      digest, sign, verify, tag, write the digest (into a copy)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
image_re='^[a-z0-9.:-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$'

image() { # FILE
  local line
  line=$(grep -E '^  image: docker://' "${1:-action.yml}") || die "${1:-action.yml} names no docker:// image"
  line=${line#  image: docker://}
  [[ "$line" =~ $image_re ]] || die "action.yml's image is not pinned by digest: $line"
  [[ "$line" != *@sha256:0000000000000000000000000000000000000000000000000000000000000000 ]] \
    || die "action.yml still names the all-zero digest: run the prepare-release workflow first"
  printf '%s\n' "$line"
}

pin() { # IMAGE [FILE]
  local ref=$1 file=${2:-action.yml}
  [[ "$ref" =~ $image_re ]] || die "expected HOST/REPO@sha256:<64 hex>, got: $ref"
  [ "$(grep -cE '^  image: docker://' "$file")" = 1 ] || die "$file: expected one '  image: docker://' line"
  sed -i -E "s|^  image: docker://.*$|  image: docker://$ref|" "$file"
  grep -qxF "  image: docker://$ref" "$file" || die "could not write the image into $file"
  echo "$file runs docker://$ref" >&2
}

rehearse() { # [X.Y.Z]
  local version ref digest repo copy
  version=${1:-1.2.3}
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version must be X.Y.Z, got: $version"
  bash scripts/install.sh
  export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tests${PYTHONPATH:+:$PYTHONPATH}"
  work=$(mktemp -d)  # global: the EXIT trap reads work and stack_pid
  python -m stack up --workdir "$work" > "$work/stack.log" 2>&1 &
  stack_pid=$!
  trap 'kill "$stack_pid" 2>/dev/null; wait "$stack_pid" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 300); do
    [ -f "$work/stack.env" ] && break
    kill -0 "$stack_pid" 2>/dev/null || { cat "$work/stack.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -f "$work/stack.env" ] || { cat "$work/stack.log" >&2; die "the local stack did not start"; }
  # shellcheck disable=SC1091
  source "$work/stack.env"
  repo="$STACK_REGISTRY_A/shipsign/shipsign"  # registry A stands in for GHCR
  local reg=(--insecure-registry "$STACK_REGISTRY_A")
  local trust=(--trust-config "$STACK_TRUST_CONFIG")
  local who=(--certificate-identity "$STACK_IDENTITY" --certificate-oidc-issuer "$STACK_ISSUER"
    --trusted-root "$STACK_TRUSTED_ROOT")

  say "1/6 build and push by digest (no tag): $repo, linux/amd64 + linux/arm64"
  ref=$(python scripts/release_image.py --image "$repo" --version "$version" "${reg[@]}")
  digest=${ref#*@}
  echo "$ref"
  ! shipsign resolve "${reg[@]}" "$repo:$version" >/dev/null 2>&1 \
    || die "a tag names the image before it is signed"

  say "2/6 sign with shipsign (both formats, every platform), reading every signature back"
  shipsign sign --recursive --format both "${trust[@]}" "${reg[@]}" "$ref" | tail -n 1

  say "3/6 verify as a consumer would"
  shipsign verify --recursive "${who[@]}" "${reg[@]}" "$ref" | tail -n 1

  say "4/6 write the digest into action.yml (a copy: a rehearsal changes no tracked file)"
  copy="$work/action.yml"
  cp action.yml "$copy"
  pin "$ref" "$copy"
  { diff -u action.yml "$copy" || true; } | sed -n '/^[-+]  image:/p'
  [ "$(image "$copy")" = "$ref" ] || die "the copy does not name the image"

  say "5/6 tag $version: sign as the tag's release, verify, and only then move the image tags"
  local major=${version%%.*} minor=${version%.*}
  shipsign sign --recursive --format both "${trust[@]}" "${reg[@]}" \
    --tag "$version" --tag "$minor" --tag "$major" "$ref" | tail -n 1

  say "6/6 every tag names the signed digest"
  local tag got
  for tag in "$version" "$minor" "$major"; do
    got=$(shipsign resolve "${reg[@]}" "$repo:$tag")
    [ "$got" = "$repo@$digest" ] || die "$repo:$tag names $got, not $digest"
    echo "$repo:$tag -> $digest"
  done
  shipsign verify --recursive "${who[@]}" "${reg[@]}" "$repo:$major" | tail -n 1
  echo "rehearsal passed: on GitHub, prepare-release.yml and release.yml run these steps" >&2
}

case "${1:-}" in
  image) image "${2:-action.yml}" ;;
  pin) [ $# -ge 2 ] || die "usage: release.sh pin HOST/REPO@sha256:DIGEST [FILE]"; pin "$2" "${3:-action.yml}" ;;
  rehearse) rehearse "${2:-}" ;;
  *) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Run every benchmark in bench/; each prints one JSON line per result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
for b in bench/*.py; do
  echo "==> $b" >&2
  python "$b"
done

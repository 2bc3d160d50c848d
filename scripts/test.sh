#!/usr/bin/env bash
# Run every check shipsign has: install what is missing, then ruff, mypy, import layers, pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k verify -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --peers
export PATH="$PWD/.venv/bin:$PATH"
echo "==> ruff check" >&2 && ruff check .
echo "==> ruff format --check" >&2 && ruff format --check .
echo "==> mypy (strict)" >&2 && mypy
echo "==> lint-imports" >&2 && lint-imports
# The workflows (examples included) and action.yml: each linter must report nothing, or a
# finding suppressed in-line with its reason. zizmor runs --offline: no GitHub API calls.
workflows=(.github/workflows/*.yml .github/workflows/examples/*.yml)
echo "==> actionlint" >&2 && "${SHIPSIGN_PEERS:-$HOME/.cache/shipsign-peers}/actionlint-v1.7.12/bin/actionlint" "${workflows[@]}"
echo "==> zizmor --offline" >&2 && zizmor --offline --no-progress "${workflows[@]}" action.yml .github/dependabot.yml
echo "==> pytest" >&2
set +e
# Two workers (pytest-xdist): each starts its own local stack on free ports. SHIPSIGN_TEST_WORKERS=0
# runs serially, in this process.
python -m pytest -n "${SHIPSIGN_TEST_WORKERS:-2}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
fi
exit "$rc"

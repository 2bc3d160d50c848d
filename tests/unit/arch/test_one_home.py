"""One idea, one home: trust is loaded through `keyless.trust_material.load_verification_trust`
(or, for signing, `keyless.trust.load_trust` in the sign use case), and retries wait through
`shipsign.retry`. A second place that does either on its own fails here, naming it."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "shipsign"

# where each call may appear (relative to src/shipsign)
_ALLOWED = {
    r"\bload_trust_material\(": {
        "keyless/trust_material.py",
        "keyless/bundle_verify.py",
        "keyless/legacy_verify.py",
    },
    r"\bload_trust\(": {"keyless/trust.py", "keyless/trust_material.py", "sign/run.py"},
    r"\btime\.sleep\(": set(),
}


def _calls(pattern: str) -> set[str]:
    found = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        body = re.sub(r"^\s*def [^\n]*\n", "", text, flags=re.M)  # definitions are not calls
        if re.search(pattern, body):
            found.add(path.relative_to(SRC).as_posix())
    return found


def test_trust_and_waits_have_one_home_each() -> None:
    for pattern, allowed in _ALLOWED.items():
        extra = _calls(pattern) - allowed
        assert not extra, f"{pattern} is called outside its home: {sorted(extra)}"

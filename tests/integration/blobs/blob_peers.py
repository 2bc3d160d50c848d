"""Run the verifiers and signers users run on files against the local stack: real cosign
(`verify-blob`, `sign-blob`) and sigstore-python's own `sigstore verify identity` CLI.

How each is pointed at the local stack, found by running them (no flag that skips a check):
- `cosign verify-blob --bundle`: v3.1.3 and v2.6.5 read a v0.3 bundle with `--trusted-root`;
  v2.4.0 needs `--new-bundle-format` as well (without it: "--trusted-root only supported with
  --new-bundle-format"; without both it looks for a cosign-format bundle and fails).
- `cosign verify-blob --signature --certificate` (legacy outputs): every version looks the
  signature up in Rekor, so `--rekor-url` names the stack (v3 still has these flags, hidden and
  deprecated), and trust comes from `SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY` and
  `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE` (`--trusted-root` is refused without a bundle).
- `cosign sign-blob --bundle`: v3 with `--signing-config` writes a v0.3 bundle; v2 with
  `--fulcio-url`/`--rekor-url` writes a v0.3 bundle with `--new-bundle-format`.
- `sigstore verify identity`: the global `--trust-config` (the stack's ClientTrustConfig) and
  `--offline` (the bundle carries the inclusion proof).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stack.cosign import Cosign, CosignRun
from stack.peers import COSIGN_V2_SIG_ONLY
from stack.sigstore_stack import SigstoreStack

__all__ = [
    "PeerRun",
    "cosign_sign_blob",
    "cosign_verify_blob",
    "cosign_verify_blob_legacy",
    "sigstore_python_verify",
]


@dataclass(frozen=True, slots=True)
class PeerRun:
    """What sigstore-python's CLI returned and printed."""

    code: int
    out: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.out}"


def _who(identity: str, issuer: str) -> list[str]:
    return ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer]


def cosign_verify_blob(
    cosign: Cosign, file: Path, bundle: Path, *, identity: str, issuer: str
) -> CosignRun:
    """`cosign verify-blob --bundle` with the stack's trusted root."""
    legacy_default = ["--new-bundle-format"] if cosign.version == COSIGN_V2_SIG_ONLY else []
    return cosign.run(
        "verify-blob",
        *("--bundle", str(bundle)),
        *legacy_default,
        *("--trusted-root", str(cosign.trust.trusted_root)),
        *_who(identity, issuer),
        str(file),
    )


def cosign_verify_blob_legacy(
    cosign: Cosign,
    file: Path,
    *,
    signature: Path,
    certificate: Path,
    identity: str,
    issuer: str,
    stack: SigstoreStack,
) -> CosignRun:
    """`cosign verify-blob --signature --certificate`: the entry looked up in the stack's
    Rekor, trust from the environment."""
    env = cosign.env(
        SIGSTORE_ROOT_FILE=str(cosign.trust.fulcio_roots),
        SIGSTORE_REKOR_PUBLIC_KEY=str(cosign.trust.rekor_key),
        SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=str(cosign.trust.ctlog_key),
    )
    return cosign.run(
        "verify-blob",
        *("--signature", str(signature), "--certificate", str(certificate)),
        *("--rekor-url", stack.url),
        *_who(identity, issuer),
        str(file),
        env=env,
    )


def cosign_sign_blob(
    cosign: Cosign, file: Path, bundle: Path, *, token: str, stack: SigstoreStack
) -> CosignRun:
    """Keyless `cosign sign-blob --bundle` against the local stack: a v0.3 bundle."""
    if cosign.major >= 3:
        services = ["--signing-config", str(cosign.trust.signing_config)]
    else:
        services = ["--fulcio-url", stack.url, "--rekor-url", stack.url, "--new-bundle-format"]
    # v2.4 reads the CT log key for the SCT check from the environment (`Cosign.env`)
    trust = [] if cosign.version == COSIGN_V2_SIG_ONLY else ["--trusted-root"]
    if trust:
        trust.append(str(cosign.trust.trusted_root))
    return cosign.run(
        "sign-blob",
        "--yes",
        *("--identity-token", token),
        *services,
        *trust,
        *("--bundle", str(bundle)),
        str(file),
    )


def sigstore_python_verify(
    file: Path, bundle: Path, *, identity: str, issuer: str, stack: SigstoreStack
) -> PeerRun:
    """sigstore-python's own CLI, `sigstore verify identity --offline`, on the stack's trust."""
    script = shutil.which("sigstore", path=str(Path(sys.executable).parent))
    assert script is not None, "the sigstore console script is not installed"
    done = subprocess.run(
        [
            script,
            *("--trust-config", str(stack.trust_config)),
            *("verify", "identity", "--offline", "--bundle", str(bundle)),
            *("--cert-identity", identity, "--cert-oidc-issuer", issuer),
            str(file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return PeerRun(code=done.returncode, out=done.stdout + done.stderr)

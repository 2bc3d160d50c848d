"""Run a real cosign binary against the local stack, as a user on a private Sigstore would.

How each version is pointed at the local stack (found in cosign's own source):
- Trust for verifying. v2.6+ and v3 read `--trusted-root FILE`. v2.4 has that flag for blobs
  only; for images it reads the environment: `SIGSTORE_ROOT_FILE` (Fulcio CA certificates),
  `SIGSTORE_REKOR_PUBLIC_KEY` and `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`, written here from the same
  trusted root. (v2.4 loads TSA roots only when a verify flag asks for timestamps; by default
  it refuses a `.sig` layer carrying an RFC 3161 timestamp, so shipsign writes none there.)
- Keyless signing. v3 takes `--signing-config` (where Fulcio, Rekor and the TSA are) with
  `--trusted-root`. v2 takes `--fulcio-url`/`--rekor-url` and calls Fulcio's v1 API; it checks
  the certificate's SCT against the CT log key from `--trusted-root` (v2.6) or the environment.
- No TUF: cosign fetches the public-good TUF repository unless it is given trust material.
  `TUF_ROOT` and `HOME` are private to each run, and every proxy variable names a closed local
  port with only loopback exempt, so a cosign that tried to reach the internet would fail at
  once, on this machine, instead of sending anything out.
No flag that skips a check is used: identity, issuer, the transparency log and the SCT are
all checked, as on the public-good instance.
"""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from stack.peers import COSIGN_V2_SIG_ONLY, offline_env, peer_binary


@dataclass(frozen=True, slots=True)
class CosignRun:
    """What one cosign command returned and printed."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def __str__(self) -> str:
        return f"$ cosign {' '.join(self.argv)}\nexit {self.code}\n{self.out}\n{self.err}"


@dataclass(frozen=True, slots=True)
class TrustFiles:
    """The local stack's trust, as every cosign version can be given it."""

    trusted_root: Path
    signing_config: Path
    fulcio_roots: Path
    rekor_key: Path
    ctlog_key: Path

    @classmethod
    def write(cls, trusted_root: Path, signing_config: Path, folder: Path) -> TrustFiles:
        """Write the PEM files v2.4 needs from `trusted_root` into `folder`."""
        root = json.loads(trusted_root.read_text(encoding="utf-8"))
        folder.mkdir(parents=True, exist_ok=True)
        fulcio = folder / "fulcio_roots.pem"
        fulcio.write_bytes(_pem_certs(root["certificateAuthorities"]))

        rekor = folder / "rekor.pub"
        rekor.write_bytes(_pem_key(root["tlogs"][0]["publicKey"]["rawBytes"]))
        ctlog = folder / "ctlog.pub"
        ctlog.write_bytes(_pem_key(root["ctlogs"][0]["publicKey"]["rawBytes"]))
        return cls(
            trusted_root=trusted_root,
            signing_config=signing_config,
            fulcio_roots=fulcio,
            rekor_key=rekor,
            ctlog_key=ctlog,
        )


def _pem_certs(authorities: list[dict[str, Any]]) -> bytes:
    """Every certificate of these authorities' chains, as PEM, in the trusted root's order."""
    certs = [
        x509.load_der_x509_certificate(base64.b64decode(cert["rawBytes"]))
        for authority in authorities
        for cert in authority["certChain"]["certificates"]
    ]
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _pem_key(raw_b64: str) -> bytes:
    key = serialization.load_der_public_key(base64.b64decode(raw_b64))
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class Cosign:
    """One cosign version, run in a private home with the local stack's trust."""

    def __init__(self, version: str, trust: TrustFiles, home: Path) -> None:
        self.version = version
        self.binary = peer_binary("cosign", version)
        self.trust = trust
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    @property
    def reads_bundles(self) -> bool:
        """Whether `cosign verify` of this version reads Sigstore bundle referrers at all."""
        return self.version != COSIGN_V2_SIG_ONLY

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])

    def env(self, **extra: str) -> dict[str, str]:
        env = {**offline_env(self.home), "COSIGN_YES": "true"}
        if self.version == COSIGN_V2_SIG_ONLY:
            env["SIGSTORE_ROOT_FILE"] = str(self.trust.fulcio_roots)
            env["SIGSTORE_REKOR_PUBLIC_KEY"] = str(self.trust.rekor_key)
            env["SIGSTORE_CT_LOG_PUBLIC_KEY_FILE"] = str(self.trust.ctlog_key)
        env.update(extra)
        return env

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> CosignRun:
        done = subprocess.run(
            [str(self.binary), *argv],
            capture_output=True,
            text=True,
            env=env or self.env(),
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return CosignRun(argv=tuple(argv), code=done.returncode, out=done.stdout, err=done.stderr)

    def _trust_flags(self) -> list[str]:
        if self.version == COSIGN_V2_SIG_ONLY:
            return []
        return ["--trusted-root", str(self.trust.trusted_root)]

    def verify(
        self, image: str, *, identity: str, issuer: str, extra: tuple[str, ...] = ()
    ) -> CosignRun:
        """`cosign verify` with the exact identity and issuer, over plain HTTP to loopback."""
        return self.run(
            "verify",
            "--allow-http-registry",
            *self._trust_flags(),
            *("--certificate-identity", identity),
            *("--certificate-oidc-issuer", issuer),
            "--output",
            "json",
            *extra,
            image,
        )

    def attest_keyless(
        self, image: str, *, predicate: Path, kind: str, token: str, sigstore_url: str
    ) -> CosignRun:
        """Keyless `cosign attest --type KIND --predicate FILE` against the local stack."""
        return self.run(
            "attest",
            "--yes",
            "--allow-http-registry",
            *("--identity-token", token),
            *("--type", kind, "--predicate", str(predicate)),
            *self._services(sigstore_url),
            *self._trust_flags(),
            image,
        )

    def tree(self, image: str) -> CosignRun:
        """`cosign tree`: what cosign sees attached to an image."""
        return self.run("tree", "--allow-http-registry", image)

    def _services(self, sigstore_url: str) -> list[str]:
        """Where Fulcio and Rekor are: v3's signing config, v2's URL flags."""
        if self.major >= 3:
            return ["--signing-config", str(self.trust.signing_config)]
        return ["--fulcio-url", sigstore_url, "--rekor-url", sigstore_url]

    def sign_keyless(
        self, image: str, *, token: str, sigstore_url: str, extra: tuple[str, ...] = ()
    ) -> CosignRun:
        """Keyless `cosign sign` with an identity token, against the local Sigstore stack."""
        return self.run(
            "sign",
            "--yes",
            "--allow-http-registry",
            *("--identity-token", token),
            *self._services(sigstore_url),
            *self._trust_flags(),
            *extra,
            image,
        )

    def generate_key_pair(self, folder: Path, password: str) -> tuple[Path, Path]:
        """`cosign generate-key-pair` into `folder`: (cosign.key, cosign.pub)."""
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(self.binary), "generate-key-pair"],
            cwd=folder,
            capture_output=True,
            text=True,
            env=self.env(COSIGN_PASSWORD=password),
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        return folder / "cosign.key", folder / "cosign.pub"

    def sign_key(
        self,
        image: str,
        *,
        key: Path,
        password: str,
        sigstore_url: str,
        extra: tuple[str, ...] = (),
    ) -> CosignRun:
        """`cosign sign --key`, logged in the local Rekor."""
        return self.run(
            "sign",
            "--yes",
            "--allow-http-registry",
            *("--key", str(key)),
            *self._services(sigstore_url),
            *self._trust_flags(),
            *extra,
            image,
            env=self.env(COSIGN_PASSWORD=password),
        )

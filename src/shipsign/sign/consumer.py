"""The commands a consumer runs to verify what this run signed: `shipsign verify` and
`cosign verify` (`verify-blob` for files), pinned to the exact identity and issuer of the
signing certificate. Pure.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from shipsign.blobs.model import FileResult
from shipsign.keyless.trust import Instance, TrustOptions
from shipsign.sign.model import ImageTarget

__all__ = ["blob_verify_commands", "verify_commands"]


def verify_commands(
    targets: Iterable[ImageTarget],
    *,
    identity: str,
    issuer: str,
    trust: TrustOptions,
    recursive: bool,
    insecure_registries: Iterable[str] = (),
) -> tuple[str, ...]:
    """`shipsign verify ...` and `cosign verify ...` for every resolved input, by digest.

    `--certificate-identity` is an exact match in both tools (the regexp flags are the
    unanchored ones in cosign), so the commands accept this workflow's identity and no other.
    """
    images = list(
        dict.fromkeys(
            f"{t.repository}@{t.digest}" for t in targets if t.digest is not None and not t.error
        )
    )
    if not images:
        return ()
    who = ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer]
    shipsign = ["shipsign", "verify", *who]
    if trust.trust_config is not None:
        shipsign += ["--trust-config", str(trust.trust_config)]
    elif trust.instance is Instance.STAGING:
        shipsign.append("--staging")
    if recursive:
        shipsign.append("--recursive")
    used = {image.split("/", 1)[0] for image in images}
    insecure = [
        host
        for host in dict.fromkeys(insecure_registries)
        if host in used or any(u.rsplit(":", 1)[0] == host for u in used)
    ]
    for host in insecure:
        shipsign += ["--insecure-registry", host]
    cosign = ["cosign", "verify", *who]
    if insecure:
        cosign.append("--allow-http-registry")
    return (shlex.join([*shipsign, *images]), shlex.join([*cosign, *images]))


def blob_verify_commands(
    files: Iterable[FileResult], *, identity: str, issuer: str, trust: TrustOptions
) -> tuple[str, ...]:
    """`shipsign verify-blob ...` and `cosign verify-blob ...` for the files signed.

    With a checksums file, one pair covers every file: `verify-blob --checksums` checks the
    sums file's bundle and then each file against its line. Without, one pair per file.
    """
    done = [f for f in files if f.ok and f.bundle is not None]
    if not done:
        return ()
    who = ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer]
    shipsign = ["shipsign", "verify-blob", *who]
    if trust.trust_config is not None:
        shipsign += ["--trust-config", str(trust.trust_config)]
    elif trust.instance is Instance.STAGING:
        shipsign.append("--staging")
    sums = next((f for f in done if f.checksums), None)
    if sums is not None and sums.bundle is not None:
        listed = [str(f.path) for f in done if not f.checksums]
        return (
            shlex.join(
                [*shipsign, "--checksums", str(sums.path), "--bundle", str(sums.bundle), *listed]
            ),
            shlex.join(
                ["cosign", "verify-blob", *who, "--bundle", str(sums.bundle), str(sums.path)]
            ),
        )
    out: list[str] = []
    for f in done:
        bundle = ["--bundle", str(f.bundle)]
        out.append(shlex.join([*shipsign, *bundle, str(f.path)]))
        out.append(shlex.join(["cosign", "verify-blob", *who, *bundle, str(f.path)]))
    return tuple(out)

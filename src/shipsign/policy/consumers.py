"""Who can verify what a signing run wrote: the verifiers people run, and the formats each reads.

A signer who chose `--format bundle` should learn at once that a Flux 2.7 cluster will refuse
the image, not from an outage. Each row says which on-registry format the verifier reads and
how to set it up (`shipsign policy --engine ...` writes the exact configuration or command).
The cosign rows are what the peer tests (tests/integration/peers) observe with real cosign.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Consumer", "Reads", "who_can_verify"]


class Reads(str, Enum):
    """The on-registry signature formats a verifier reads."""

    BOTH = "bundle referrer and .sig"
    LEGACY = ".sig only"
    BUNDLE = "bundle referrer only"


@dataclass(frozen=True, slots=True, kw_only=True)
class Consumer:
    """One verifier: what it reads, whether it can verify this run's signatures, and how."""

    name: str
    reads: Reads
    can_verify: bool
    how: str
    caveat: str = ""


# (name, reads, how, caveat)
_VERIFIERS: tuple[tuple[str, Reads, str, str], ...] = (
    ("cosign v3, v2.6.3 and later", Reads.BOTH, "shipsign policy --engine cosign", ""),
    ("cosign before v2.6.3", Reads.LEGACY, "shipsign policy --engine cosign", ""),
    ("Flux 2.8 and later (OCIRepository)", Reads.BOTH, "shipsign policy --engine flux", ""),
    ("Flux before 2.8", Reads.LEGACY, "shipsign policy --engine flux", ""),
    (
        "Kyverno ImageValidatingPolicy / type: SigstoreBundle",
        Reads.BUNDLE,
        "shipsign policy --engine kyverno",
        "",
    ),
    (
        "Kyverno ClusterPolicy type: Cosign",
        Reads.LEGACY,
        "shipsign policy --engine kyverno-clusterpolicy",
        "",
    ),
    (
        "policy-controller",
        Reads.LEGACY,
        "shipsign policy --engine policy-controller",
        "its bundle mode does not read .sig, and up to v0.15.1 never passes with a private "
        "trust root",
    ),
    ("Connaisseur", Reads.LEGACY, "shipsign policy --engine connaisseur", ""),
    (
        "gh attestation verify --bundle-from-oci",
        Reads.BUNDLE,
        "shipsign policy --engine gh",
        "",
    ),
)


def who_can_verify(*, bundle: bool, legacy: bool) -> tuple[Consumer, ...]:
    """Every verifier, and whether it can verify an image signed in the given formats."""
    out = []
    for name, reads, how, caveat in _VERIFIERS:
        can = (legacy and reads is not Reads.BUNDLE) or (bundle and reads is not Reads.LEGACY)
        out.append(Consumer(name=name, reads=reads, can_verify=can, how=how, caveat=caveat))
    return tuple(out)

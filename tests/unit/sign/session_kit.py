"""What the signing-session tests share: a session on the local Sigstore stack whose signer
notes what it is asked to sign; strategies that note every call the scheduler makes through
the protocol and pass it on to the real ones; images pushed, and signatures read back, with
plain HTTP (RawClient, not our client)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from shipsign.checks import SignatureFormat
from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.session import SigningSession
from shipsign.keyless.signing import KeylessSigner, SignedBlob, SignedPayload
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.keyless.trust_material import verification_trust
from shipsign.oci import Reference, Registries
from shipsign.sign.bundle_strategy import BundleStrategy
from shipsign.sign.existing import Existing, Mine
from shipsign.sign.legacy_strategy import LegacyStrategy
from shipsign.sign.model import SignResult
from shipsign.sign.plan import Plan, build_plan
from shipsign.sign.strategy import AnyStrategy, SignatureStrategy, Target
from shipsign.sign.work import sign_plan
from stack.raw_registry import RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CERT = "POST /api/v2/signingCert"
ENTRIES = "POST /api/v1/log/entries"
BOTH = (SignatureFormat.BUNDLE, SignatureFormat.LEGACY)

_R = TypeVar("_R")
_S = TypeVar("_S")
_P = TypeVar("_P")


class RecordingSigner(KeylessSigner):
    """The real signer (the local stack's Fulcio and Rekor), noting what it signs, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._noted = threading.Lock()
        self.signed: list[tuple[str, bytes]] = []  # ("payload" | "statement" | "digest", bytes)

    def _note(self, kind: str, data: bytes) -> None:
        with self._noted:
            self.signed.append((kind, data))

    def sign_payload(self, payload: bytes) -> SignedPayload:
        self._note("payload", payload)
        return super().sign_payload(payload)

    def sign_statement(self, statement: bytes) -> bytes:
        self._note("statement", statement)
        return super().sign_statement(statement)

    def sign_digest(self, sha256: bytes) -> SignedBlob:
        self._note("digest", sha256)
        return super().sign_digest(sha256)

    def of_kind(self, kind: str) -> list[bytes]:
        return [data for k, data in self.signed if k == kind]


@dataclass(frozen=True, slots=True)
class Call:
    """One call through the strategy protocol: the `seq`th of its run, which, for which format,
    on which targets (`repository@digest`; for `confirm`, `count` is how many writes)."""

    seq: int
    verb: str
    format: SignatureFormat
    where: tuple[str, ...]
    count: int


class Calls:
    """Every strategy call of a run, in the order they were made (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def add(self, verb: str, fmt: SignatureFormat, where: tuple[str, ...], count: int) -> None:
        with self._lock:
            self._calls.append(Call(len(self._calls), verb, fmt, where, count))

    @property
    def all(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def verbs(self) -> set[str]:
        return {c.verb for c in self.all}

    def of(self, verb: str, fmt: SignatureFormat) -> list[Call]:
        return [c for c in self.all if c.verb == verb and c.format is fmt]


def where(target: Target) -> str:
    return f"{target.repo.name}@{target.artifact.digest}"


class RecordingStrategy(Generic[_R, _S, _P]):
    """A real strategy whose every call is noted in `calls` before it is passed on."""

    def __init__(self, inner: SignatureStrategy[_R, _S, _P], calls: Calls) -> None:
        self._inner = inner
        self._calls = calls

    @property
    def format(self) -> SignatureFormat:
        return self._inner.format

    @property
    def names_location(self) -> bool:
        return self._inner.names_location

    def look(self, target: Target) -> Existing | _R:
        self._calls.add("look", self.format, (where(target),), 1)
        return self._inner.look(target)

    def sign(self, targets: Sequence[Target]) -> _S:
        self._calls.add("sign", self.format, tuple(where(t) for t in targets), len(targets))
        return self._inner.sign(targets)

    def write(self, signed: _S, todo: Sequence[tuple[Target, _R | None]]) -> list[SignResult | _P]:
        self._calls.add("write", self.format, tuple(where(t) for t, _ in todo), len(todo))
        return self._inner.write(signed, todo)

    def confirm(self, pending: Sequence[_P], *, workers: ThreadPoolExecutor) -> list[SignResult]:
        self._calls.add("confirm", self.format, (), len(pending))
        return self._inner.confirm(pending, workers=workers)


@dataclass
class Run:
    """One sign run through the scheduler: its results, what was signed, the calls made."""

    results: tuple[SignResult, ...]
    signer: RecordingSigner
    calls: Calls
    session: SigningSession


@dataclass
class Kit:
    """The local stack, one registry, and a pool of our clients for it."""

    stack: SigstoreStack
    oidc: GitHubOidc
    registry: Registry
    pool: Registries
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def push(self, repo: str, layer: str) -> str:
        """Push one image to `repo` (`layer` makes its digest unique); return the digest."""
        return sha256(RawClient(self.registry, repo).push_image("v1", layer=layer.encode()))

    def image(self, repo: str, digest: str) -> str:
        return f"{self.registry.host}/{repo}@{digest}"

    def location(self, repo: str) -> str:
        return f"{self.registry.host}/{repo}"

    def session(self, **claims: str) -> tuple[SigningSession, RecordingSigner]:
        """A new run's session (a new key; no certificate yet), for a freshly minted token
        (`claims` override the workflow's)."""
        trust = load_trust(TrustOptions(trust_config=self.stack.trust_config, force_rekor_v1=True))
        now = datetime.now(timezone.utc)
        token = parse_identity_token(self.oidc.mint(**claims), now=now)
        signer = RecordingSigner(trust, token)
        material = verification_trust(trust)
        return SigningSession(signer, material=material, token=token, now=now), signer

    def plan(self, *images: str) -> Plan:
        refs = [Reference.parse(image) for image in images]
        return build_plan(self.pool, images, refs, recursive=False)

    def strategies(
        self,
        session: SigningSession,
        calls: Calls,
        formats: Sequence[SignatureFormat] = BOTH,
        recording: type[RecordingStrategy[Any, Any, Any]] = RecordingStrategy,
    ) -> list[AnyStrategy]:
        mine = Mine(
            identity=session.identity,
            issuer=session.issuer,
            annotations=self.annotations,
            trust=session.material,
            now=session.now,
        )
        real: dict[SignatureFormat, AnyStrategy] = {
            SignatureFormat.BUNDLE: BundleStrategy(session, self.pool, mine),
            SignatureFormat.LEGACY: LegacyStrategy(session, self.pool, mine),
        }
        return [recording(real[fmt], calls) for fmt in formats]

    def sign(
        self,
        *images: str,
        formats: Sequence[SignatureFormat] = BOTH,
        force: bool = False,
        recording: type[RecordingStrategy[Any, Any, Any]] = RecordingStrategy,
        claims: Mapping[str, str] | None = None,
    ) -> Run:
        """Sign `images` in a new session, through recording strategies."""
        session, signer = self.session(**(claims or {}))
        calls = Calls()
        strategies = self.strategies(session, calls, formats, recording)
        results = sign_plan(self.plan(*images), strategies, session=session, force=force)
        return Run(results=results, signer=signer, calls=calls, session=session)

    def sig_payloads(self, repo: str, digest: str) -> list[bytes]:
        """The payload of every layer of `digest`'s `.sig` manifest in `repo`."""
        client = RawClient(self.registry, repo)
        found = client.get_manifest(digest.replace(":", "-") + ".sig")
        if found.status_code == 404:
            return []
        return [
            client.call("GET", f"blobs/{layer['digest']}").content
            for layer in found.json()["layers"]
        ]

    def bundle_statements(self, repo: str, digest: str) -> dict[str, bytes]:
        """By referrer manifest digest, the statement each bundle referrer of `digest` signs
        (read from the referrers fallback index in `repo`)."""
        client = RawClient(self.registry, repo)
        index = client.get_manifest(digest.replace(":", "-"))
        if index.status_code == 404:
            return {}
        out: dict[str, bytes] = {}
        for entry in index.json()["manifests"]:
            manifest = client.get_manifest(entry["digest"]).json()
            [layer] = manifest["layers"]
            bundle = json.loads(client.call("GET", f"blobs/{layer['digest']}").content)
            out[entry["digest"]] = base64.b64decode(bundle["dsseEnvelope"]["payload"])
        return out


def statement(digest: str, annotations: Mapping[str, str]) -> bytes:
    """Cosign's sign statement for `digest`, byte for byte, written out here on purpose (not
    with the code under test): a null subject name, the annotations, an empty predicate."""
    algorithm, hex_digest = digest.split(":")
    notes = ",".join(f'"{k}":"{v}"' for k, v in sorted(annotations.items()))
    return (
        '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":null,"digest":'
        f'{{"{algorithm}":"{hex_digest}"}},"annotations":{{{notes}}}}}],'
        '"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}'
    ).encode()


def payload(location: str, digest: str, annotations: Mapping[str, str]) -> bytes:
    """Cosign's simple-signing payload for `digest` at `location`, byte for byte, written out
    here on purpose: the location is the docker-reference, the annotations are `optional`."""
    notes = ",".join(f'"{k}":"{v}"' for k, v in sorted(annotations.items()))
    optional = f"{{{notes}}}" if annotations else "null"
    return (
        f'{{"critical":{{"identity":{{"docker-reference":"{location}"}},'
        f'"image":{{"docker-manifest-digest":"{digest}"}},'
        f'"type":"cosign container image signature"}},"optional":{optional}}}'
    ).encode()

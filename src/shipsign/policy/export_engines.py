"""The cluster engines' objects: Kyverno (ImageValidatingPolicy and the deprecated
ClusterPolicy), sigstore policy-controller, Flux and Connaisseur. Field names and semantics
follow each engine's CRD (the tests validate against them)."""

from __future__ import annotations

import base64
from typing import Any

from shipsign.errors import InputError
from shipsign.keyless.policy_options import PolicyField
from shipsign.policy.export_model import (
    ExportRequest,
    ExportSigner,
    Output,
    dropped_claims_comment,
    engine_image,
    header,
    image_patterns,
)
from shipsign.policy.yaml_text import Document

__all__ = ["connaisseur", "flux", "kyverno_clusterpolicy", "kyverno_ivp", "policy_controller"]

F = PolicyField
_POD_RULES = [
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["pods"],
    }
]
# Kyverno ClusterPolicy `additionalExtensions` keys: globs over Fulcio's raw extensions 1.2-1.6.
_KYVERNO_EXTENSIONS = {
    F.GITHUB_WORKFLOW_TRIGGER: "githubWorkflowTrigger",
    F.GITHUB_SHA: "githubWorkflowSha",
    F.GITHUB_REPOSITORY: "githubWorkflowRepository",
    F.GITHUB_REF: "githubWorkflowRef",
}


def _identity(signer: ExportSigner, *, issuer_regexp: str, subject_regexp: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match, exact_key, regexp_key in (
        (signer.issuer, "issuer", issuer_regexp),
        (signer.identity, "subject", subject_regexp),
    ):
        if match.exact is not None:
            out[exact_key] = match.exact
        else:
            out[regexp_key] = str(match.regexp)
    return out


def _format_note(request: ExportRequest, reads: str) -> str:
    return f"This engine reads {reads}; the signer writes {request.format}."


# --- Kyverno ImageValidatingPolicy ------------------------------------------------------------


def kyverno_ivp(request: ExportRequest) -> Output:
    out = Output()
    trust = request.trust
    for group in request.groups:
        attestors = []
        for n, signer in enumerate(group.signers, start=1):
            keyless: dict[str, Any] = {
                "identities": [
                    _identity(signer, issuer_regexp="issuerRegExp", subject_regexp="subjectRegExp")
                ]
            }
            ctlog: dict[str, Any] = {"url": trust.rekor_url}
            if trust.custom:
                if trust.fulcio_chain:
                    keyless["roots"] = trust.fulcio_chain
                if trust.rekor_key:
                    ctlog["rekorPubKey"] = trust.rekor_key
                if trust.ctlog_key:
                    ctlog["ctLogPubKey"] = trust.ctlog_key
                if trust.tsa_chain:
                    ctlog["tsaCertChain"] = trust.tsa_chain
            attestors.append({"name": f"signer{n}", "cosign": {"keyless": keyless, "ctlog": ctlog}})
        refs = ", ".join(f"attestors.{a['name']}" for a in attestors)
        body = {
            "apiVersion": "policies.kyverno.io/v1",
            "kind": "ImageValidatingPolicy",
            "metadata": {"name": group.name},
            "spec": {
                "validationActions": ["Deny"],
                "failurePolicy": "Fail",
                "webhookConfiguration": {"timeoutSeconds": 30},
                "evaluation": {"background": {"enabled": False}},
                "matchConstraints": {"resourceRules": _POD_RULES},
                "matchImageReferences": [
                    {"glob": p} for g in group.images for p in image_patterns(g, slash_star=True)
                ],
                "validationConfigurations": {
                    "mutateDigest": True,
                    "verifyDigest": True,
                    "required": True,
                },
                "attestors": attestors,
                "validations": [
                    {
                        "expression": "(images.containers + images.initContainers + "
                        "images.ephemeralContainers).map(image, verifyImageSignatures(image, "
                        f"[{refs}])).all(e, e > 0)",
                        "message": f"image is not signed by an allowed signer ({group.name})",
                    }
                ],
            },
        }
        comments = header(
            request,
            "Kyverno 1.17 or later (policies.kyverno.io/v1; 1.16: v1beta1, 1.14-1.15: v1alpha1).",
            _format_note(request, "Sigstore bundles first, then legacy .sig signatures"),
            "One identity per attestor: cosign's bundle path refuses several in one.",
            *dropped_claims_comment(group, ()),
        )
        out.documents.append(Document(comments, body))
    return out


# --- Kyverno ClusterPolicy (deprecated) -------------------------------------------------------


def _cp_entry(signer: ExportSigner, request: ExportRequest, *, bundle: bool) -> dict[str, Any]:
    trust = request.trust
    keyless: dict[str, Any] = _identity(
        signer, issuer_regexp="issuerRegExp", subject_regexp="subjectRegExp"
    )
    if not bundle:
        extensions = {
            name: signer.github[f] for f, name in _KYVERNO_EXTENSIONS.items() if f in signer.github
        }
        if extensions:
            keyless["additionalExtensions"] = extensions
    rekor: dict[str, Any] = {"url": trust.rekor_url}  # required unless roots: always set it
    if trust.custom:
        if trust.fulcio_chain:
            keyless["roots"] = trust.fulcio_chain
        if trust.rekor_key:
            rekor["pubkey"] = trust.rekor_key
        ctlog = {
            k: v for k, v in (("pubkey", trust.ctlog_key), ("tsaCertChain", trust.tsa_chain)) if v
        }
        if ctlog:
            keyless["ctlog"] = ctlog
    keyless["rekor"] = rekor
    return {"keyless": keyless}


def kyverno_clusterpolicy(request: ExportRequest) -> Output:
    out = Output()
    types = {
        "both": ("Cosign", "SigstoreBundle"),
        "legacy": ("Cosign",),
        "bundle": ("SigstoreBundle",),
    }
    for group in request.groups:
        verify = []
        for kind in types[request.format]:
            bundle = kind == "SigstoreBundle"
            verify.append(
                {
                    "type": kind,
                    "imageReferences": [
                        p for g in group.images for p in image_patterns(g, slash_star=True)
                    ],
                    "failureAction": "Enforce",
                    "mutateDigest": True,
                    "verifyDigest": True,
                    "required": True,
                    "attestors": [
                        {
                            "count": 1,
                            "entries": [
                                _cp_entry(s, request, bundle=bundle) for s in group.signers
                            ],
                        }
                    ],
                }
            )
        body = {
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {
                "name": group.name,
                "annotations": {"policies.kyverno.io/minversion": "1.13.0"},
            },
            "spec": {
                "background": False,
                "webhookConfiguration": {"failurePolicy": "Fail", "timeoutSeconds": 30},
                "rules": [
                    {
                        "name": "verify-signature",
                        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                        "verifyImages": verify,
                    }
                ],
            },
        }
        notes = [
            "DEPRECATED: Kyverno ClusterPolicy is deprecated since Kyverno 1.17 (removal planned "
            "for 1.20); prefer `--engine kyverno` (ImageValidatingPolicy).",
            "type: Cosign reads legacy .sig signatures (subject is a glob there); type: "
            "SigstoreBundle reads bundle referrers (exact subject, and it ignores "
            "additionalExtensions, roots and rekor keys: trust comes from Kyverno's TUF flags).",
        ]
        if request.format == "both":
            notes.append("Both entries are required: the signer writes both formats.")
        supported = tuple(_KYVERNO_EXTENSIONS) if request.format != "bundle" else ()
        out.documents.append(
            Document(header(request, *notes, *dropped_claims_comment(group, supported)), body)
        )
    return out


# --- sigstore policy-controller ---------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _trust_root(request: ExportRequest, name: str) -> dict[str, Any]:
    trust = request.trust
    keys: dict[str, Any] = {
        "certificateAuthorities": [
            {
                "subject": {"organization": "sigstore", "commonName": "fulcio"},
                "uri": trust.fulcio_url,
                "certChain": _b64(trust.fulcio_chain or ""),
            }
        ],
        "tLogs": [
            {
                "baseURL": trust.rekor_url,
                "hashAlgorithm": "sha-256",
                "publicKey": _b64(trust.rekor_key or ""),
            }
        ],
    }
    if trust.ctlog_key:
        keys["ctLogs"] = [
            {
                "baseURL": trust.fulcio_url,
                "hashAlgorithm": "sha-256",
                "publicKey": _b64(trust.ctlog_key),
            }
        ]
    if trust.tsa_chain:
        keys["timestampAuthorities"] = [
            {
                "subject": {"organization": "sigstore", "commonName": "tsa"},
                "uri": trust.rekor_url,
                "certChain": _b64(trust.tsa_chain),
            }
        ]
    return {
        "apiVersion": "policy.sigstore.dev/v1alpha1",
        "kind": "TrustRoot",
        "metadata": {"name": name},
        "spec": {"sigstoreKeys": keys},
    }


def policy_controller(request: ExportRequest) -> Output:
    out = Output()
    trust = request.trust
    root_name = "shipsign-" + trust.kind.value + "-sigstore"
    if trust.custom:
        out.documents.append(
            Document(
                header(request, f"TrustRoot for the {trust.kind.value} Sigstore instance."),
                _trust_root(request, root_name),
            )
        )
    bundle_only = request.format == "bundle"
    for group in request.groups:
        authorities = []
        for n, signer in enumerate(group.signers, start=1):
            keyless: dict[str, Any] = {
                "url": trust.fulcio_url,
                "identities": [
                    _identity(signer, issuer_regexp="issuerRegExp", subject_regexp="subjectRegExp")
                ],
            }
            ctlog: dict[str, Any] = {"url": trust.rekor_url}
            authority: dict[str, Any] = {"name": f"signer{n}", "keyless": keyless, "ctlog": ctlog}
            if trust.custom:
                keyless["trustRootRef"] = root_name
                ctlog["trustRootRef"] = root_name
            if bundle_only:
                authority["signatureFormat"] = "bundle"
                authority["attestations"] = [
                    {"name": "signed", "predicateType": "https://sigstore.dev/cosign/sign/v1"}
                ]
            authorities.append(authority)
        body = {
            "apiVersion": "policy.sigstore.dev/v1beta1",
            "kind": "ClusterImagePolicy",
            "metadata": {"name": group.name},
            "spec": {
                "mode": "enforce",
                "images": [
                    {"glob": p}
                    for g in group.images
                    for p in image_patterns(g, docker_hub="index.docker.io/")
                ],
                "authorities": authorities,
            },
        }
        notes = [
            "policy-controller checks Pods only in namespaces labelled "
            "policy.sigstore.dev/include=true; label each namespace to enforce this policy.",
            "Authorities are ORed: any one allowed signer admits the image.",
        ]
        if bundle_only:
            notes.append(
                "The signer writes bundles only: up to v0.15.1 policy-controller's bundle mode "
                "verifies attestations, not plain signatures, so this relies on the bundle's "
                "cosign/sign/v1 statement being read as one; sign with "
                "format both to get a legacy authority that works."
            )
            if trust.custom:
                # Found with policy-controller's tester v0.15.1 (tests/integration/policy/
                # test_engine_admits.py): pkg/apis/config/sigstore_keys.go stores each log ID as
                # hex text, sigstore-go hex-encodes it again, so no log entry or SCT matches.
                notes.append(
                    "WARNING: policy-controller up to v0.15.1 cannot verify bundles against a "
                    "TrustRoot with sigstoreKeys (its log IDs do not match sigstore-go's: 'not "
                    "enough verified log entries'); this policy denies every image there."
                )
        else:
            notes.append(
                _format_note(
                    request,
                    "legacy .sig signatures (bundle mode cannot verify plain "
                    "signatures up to v0.15.1)",
                )
            )
        out.documents.append(
            Document(header(request, *notes, *dropped_claims_comment(group, ())), body)
        )
    return out


# --- Flux ---------------------------------------------------------------------------------------


def flux(request: ExportRequest) -> Output:
    out = Output()
    trust = request.trust
    root_object = "shipsign-trusted-root"
    if trust.custom:
        out.documents.append(
            Document(
                header(
                    request,
                    "The trusted root for spec.verify.trustedRootSecretRef (Flux 2.9 and later; "
                    "source-controller v1.9). Earlier Flux cannot verify against a custom root.",
                ),
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": root_object, "namespace": "flux-system"},
                    "stringData": {"trusted_root.json": trust.trusted_root or ""},
                },
            )
        )
    for group in request.groups:
        if len(group.signers) > 1 and request.format != "legacy":
            raise InputError(
                f"Flux cannot check {len(group.signers)} signers of {group.name} on bundles",
                expected="one signer per set of images, or signatures in legacy format only",
                hint="Flux 2.8+ reads bundles first and hands every matchOIDCIdentity to cosign "
                "at once, which refuses more than one identity",
            )
        for glob in group.images:
            if "*" in glob or "?" in glob:
                raise InputError(
                    f"Flux verifies one OCIRepository URL, not the glob {glob}",
                    expected="concrete repositories: shipsign policy --engine flux REPOSITORY...",
                )
            url = "oci://" + engine_image(glob)
            name = (group.name + "-" + glob.rsplit("/", 1)[-1])[:63].rstrip("-")
            verify: dict[str, Any] = {
                "provider": "cosign",
                "matchOIDCIdentity": [
                    {"issuer": s.issuer.as_regexp, "subject": s.identity.as_regexp}
                    for s in group.signers
                ],
            }
            if trust.custom:
                verify["trustedRootSecretRef"] = {"name": root_object}
            body = {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "OCIRepository",
                "metadata": {"name": name, "namespace": "flux-system"},
                "spec": {
                    "interval": "10m",
                    "url": url,
                    "ref": {"semver": ">=0.0.0"},
                    "verify": verify,
                },
            }
            notes = [
                "Flux verifies sources (OCI artifacts and charts), not the images Pods run.",
                "Flux 2.8 and later read Sigstore bundles, then legacy .sig; Flux before 2.8 "
                "reads only legacy .sig signatures.",
                "Set spec.ref to what you deploy.",
            ]
            if request.format == "bundle":
                notes.append("WARNING: bundle-only signatures: Flux before 2.8 will refuse them.")
            out.documents.append(
                Document(header(request, *notes, *dropped_claims_comment(group, ())), body)
            )
    return out


# --- Connaisseur --------------------------------------------------------------------------------


def _connaisseur_keyless(signer: ExportSigner) -> dict[str, str]:
    return _identity(signer, issuer_regexp="issuerRegex", subject_regexp="subjectRegex")


def connaisseur(request: ExportRequest) -> Output:
    if request.format == "bundle":
        raise InputError(
            "Connaisseur cannot verify bundle-only signatures",
            expected="signatures in format both or legacy ([sign] format, or --format)",
            found="format bundle",
            hint="Connaisseur reads only cosign's legacy .sig tag (it is built on cosign v2)",
        )
    trust = request.trust
    validators = []
    rules = []
    comments = list(
        header(
            request,
            "Connaisseur Helm values (merge into your values.yaml); legacy .sig signatures only.",
        )
    )
    for group in request.groups:
        validator: dict[str, Any] = {
            "name": group.name,
            "type": "cosign",
            "trustRoots": [
                {"name": f"signer{n}", "keyless": _connaisseur_keyless(s)}
                for n, s in enumerate(group.signers, start=1)
            ],
        }
        if trust.custom:
            host = {
                "rekor": trust.rekor_url,
                "rekorPubkey": trust.rekor_key,
                "fulcioCert": trust.fulcio_chain,
                "ctLogPubkey": trust.ctlog_key,
            }
            validator["host"] = {k: v for k, v in host.items() if v}
        validators.append(validator)
        rules += [
            {
                "pattern": engine_image(g) + ":*",
                "validator": group.name,
                "with": {
                    "trustRoot": "*",
                    "threshold": 1,
                    "verifyInTransparencyLog": True,
                    "verifySCT": True,
                },
            }
            for g in group.images
        ]
        comments += dropped_claims_comment(group, ())
    values = {"application": {"validators": validators, "policy": rules}}
    return Output(documents=[Document(tuple(comments), values)])

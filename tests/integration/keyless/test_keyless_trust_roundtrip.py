"""shipsign's trust loading drives a real signing and verification: the stack's trust config
signs (Rekor v1 forced), its bare trusted root verifies, and only the workflow identity passes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sigstore.errors import VerificationError
from sigstore.sign import SigningContext
from sigstore.verify import Verifier, policy

from shipsign.keyless.identity import resolve_identity_token
from shipsign.keyless.sigstore_private import logged_body
from shipsign.keyless.trust import TrustOptions, load_trust
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def test_sign_with_trust_config_verify_with_trusted_root(
    sigstore_stack: SigstoreStack, github_oidc: GitHubOidc, github_actions_env: dict[str, str]
) -> None:
    signing = load_trust(
        TrustOptions(trust_config=sigstore_stack.trust_config, force_rekor_v1=True)
    )
    token = resolve_identity_token(None, now=datetime.now(timezone.utc))
    assert signing.client_config is not None
    context = SigningContext.from_trust_config(signing.client_config)
    with context.signer(token.to_sigstore()) as signer:
        bundle = signer.sign_artifact(b"release notes")
    assert json.loads(logged_body(bundle.log_entry))["kind"] == "hashedrekord"

    verifying = load_trust(TrustOptions(trusted_root=sigstore_stack.trusted_root))
    verifier = Verifier(trusted_root=verifying.trusted_root)
    verifier.verify_artifact(
        b"release notes", bundle, policy.Identity(identity=token.identity, issuer=token.issuer)
    )
    with pytest.raises(VerificationError):
        verifier.verify_artifact(
            b"release notes", bundle, policy.Identity(identity=token.subject, issuer=token.issuer)
        )
    with pytest.raises(VerificationError):
        verifier.verify_artifact(
            b"other notes", bundle, policy.Identity(identity=token.identity, issuer=token.issuer)
        )

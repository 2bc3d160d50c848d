"""A Fulcio whose clock is far behind this machine's issues certificates that sigstore finds
expired on arrival, every time: signing stops with an error that says to check the clock,
not with sigstore's internal exception."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from shipsign.errors import InputError
from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from stack.sigstore_stack import GitHubOidc, SigstoreStack, start_sigstore_stack

BEHIND = -15 * 60  # longer than a certificate's 10 minutes


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigstoreStack]:
    stack = start_sigstore_stack(tmp_path_factory.mktemp("sigstore-behind"), fulcio_skew=BEHIND)
    try:
        yield stack
    finally:
        stack.stop()


def test_a_certificate_expired_on_arrival_is_a_clock_problem(
    behind: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    now = datetime.now(timezone.utc)
    token = parse_identity_token(github_oidc.mint(), now=now)
    signer = KeylessSigner(load_trust(TrustOptions(trust_config=behind.trust_config)), token)
    with pytest.raises(InputError) as caught:
        signer.sign_payload(b"payload")
    error = caught.value
    assert error.what == "Fulcio's new certificate had already expired when it arrived"
    assert "clock" in error.hint
    assert error.found.startswith("valid from ")
    # sigstore's verdict was asked twice: the first certificate, then one renewal.
    assert behind.requests("POST /api/v2/signingCert") == 2
    assert behind.requests("POST /api/v1/log/entries") == 0

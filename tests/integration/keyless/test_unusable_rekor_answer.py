"""A transparency log that answers 201 with an entry sigstore-python rejects is a service
failure (`ServiceUnreachable`, exit 3) that names Rekor, never an internal error.

Our fault proxy sits between the signer and the stack's Rekor (the trust config's Rekor URL
points at it) and answers the upload itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shipsign.errors import UnreachableError
from shipsign.keyless.identity import resolve_identity_token
from shipsign.keyless.retrying import Service, ServiceUnreachable
from shipsign.keyless.signing import KeylessSigner, ServiceOptions
from shipsign.keyless.trust import Trust, TrustOptions, load_trust
from shipsign.retry import RetryPolicy
from stack.fault_proxy import FaultProxy
from stack.sigstore_stack import SigstoreStack

FAST = ServiceOptions(retry=RetryPolicy(attempts=3, base=0.02, cap=0.1, deadline=30.0))


@pytest.fixture
def rekor_proxy(sigstore_stack: SigstoreStack) -> Iterator[FaultProxy]:
    with FaultProxy(sigstore_stack.url) as proxy:
        yield proxy


@pytest.fixture
def trust(sigstore_stack: SigstoreStack, rekor_proxy: FaultProxy, tmp_path: Path) -> Trust:
    config = json.loads(Path(sigstore_stack.trust_config).read_text())
    for tlog in config["signingConfig"]["rekorTlogUrls"]:
        tlog["url"] = rekor_proxy.url
    path = tmp_path / "trust_config.json"
    path.write_text(json.dumps(config))
    return load_trust(TrustOptions(trust_config=path))


def _entry_of_another_kind() -> bytes:
    """A Rekor v1 answer whose logged body is a `rekord`, not the hashedrekord we proposed."""
    body = {
        "apiVersion": "0.0.1",
        "kind": "rekord",
        "spec": {
            "data": {"content": "aGk="},
            "signature": {"format": "x509", "content": "aGk=", "publicKey": {"content": "aGk="}},
        },
    }
    entry = {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "integratedTime": 1_700_000_000,
        "logID": "00" * 32,
        "logIndex": 7,
        "verification": {"signedEntryTimestamp": "MEUCIQ=="},
    }
    return json.dumps({"ab" * 32: entry}).encode()


def test_an_entry_sigstore_rejects_is_rekors_failure(
    trust: Trust, rekor_proxy: FaultProxy, github_actions_env: dict[str, str]
) -> None:
    identity = resolve_identity_token(None, now=datetime.now(timezone.utc))
    signer = KeylessSigner(trust, identity, options=FAST)
    rekor_proxy.add_fault(
        method="POST",
        path_regex="^/api/v1/log/entries$",
        status=201,
        headers={"Content-Type": "application/json"},
        body=_entry_of_another_kind(),
    )
    with pytest.raises(UnreachableError) as caught:
        signer.sign_payload(b"payload")
    error = caught.value
    assert isinstance(error, ServiceUnreachable)
    assert error.service is Service.REKOR
    assert error.what == "Rekor's answer cannot be used"
    assert error.where == f"POST {rekor_proxy.url}/api/v1/log/entries"
    assert error.found.startswith("InvalidBundle: log entry is not of expected type")
    assert ("POST", "/api/v1/log/entries", 201) in rekor_proxy.requests

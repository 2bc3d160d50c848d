"""`verify-blob --checksums`: which combinations of inputs make sense (checked before any file
is read or any trust loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy
from shipsign.verify import VerifyBlobRequest, verify_blob

POLICY = IdentityPolicy.exact(identity="https://example.com/id", issuer="https://issuer")


@pytest.mark.parametrize(
    ("request_", "what"),
    [
        (
            VerifyBlobRequest(
                bundle=Path("S.sigstore.json"), checksums=Path("S"), digest="sha256:" + "0" * 64
            ),
            "with --checksums, the bundle is for the checksums file",
        ),
        (
            VerifyBlobRequest(bundle=Path("S.sigstore.json"), checksums=Path("S"), file=Path("a")),
            "with --checksums, the bundle is for the checksums file",
        ),
        (
            VerifyBlobRequest(bundle=Path("b"), files=(Path("a"), Path("c"))),
            "several files need a checksums file",
        ),
    ],
)
def test_inconsistent_requests(request_: VerifyBlobRequest, what: str) -> None:
    with pytest.raises(InputError) as caught:
        verify_blob(request_)
    assert caught.value.what == what

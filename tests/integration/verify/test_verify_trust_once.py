"""Trust material is loaded once per run: a caller that holds it (sign's read-back rounds)
hands it to `verify_images`, which then loads nothing of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.verify.signed_images import new_image, sign_image
from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.keyless.trust_material import load_trust_material
from shipsign.oci import Registries
from shipsign.verify import ImageStatus, VerifyRequest, verify_images
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.mark.parametrize("fmt", ["bundle", "legacy"])
def test_given_trust_material_is_used_and_nothing_is_loaded(
    fmt: str,
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    tmp_path: Path,
) -> None:
    image = new_image(registry, repo)
    sign_image(image, signer, fmt, pool)
    request = VerifyRequest(
        images=(image.ref,),
        policy=IdentityPolicy.exact(identity=github_oidc.san, issuer=github_oidc.issuer),
        trust=TrustOptions(trusted_root=tmp_path / "gone.json"),  # loading it would fail
    )
    with pytest.raises(InputError):
        verify_images(request, registries=pool)
    material = load_trust_material(sigstore_stack.trusted_root)
    (result,) = verify_images(request, registries=pool, trust=material).images
    assert result.status is ImageStatus.VERIFIED

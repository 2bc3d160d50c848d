"""An any-of identity policy through `verify_images`, on a real registry and Sigstore stack."""

from __future__ import annotations

from integration.verify.signed_images import new_image, sign_image
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.verify import ImageStatus, VerifyRequest, verify_images
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def test_an_image_passes_when_one_alternative_names_its_signer(
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    image = new_image(registry, repo)
    sign_image(image, signer, "legacy", None)
    someone_else = {"identity": "release-bot@example.com", "issuer": github_oidc.issuer}
    ours = {"identity": github_oidc.san, "issuer": github_oidc.issuer}
    wrong_ref = ours | {"github_ref": "refs/heads/never"}

    def verify(policy: IdentityPolicy) -> tuple[ImageStatus, list[tuple[str, str, str]]]:
        request = VerifyRequest(
            images=(image.ref,),
            policy=policy,
            trust=TrustOptions(trusted_root=sigstore_stack.trusted_root),
            insecure_registries=(registry.host,),
        )
        [result] = verify_images(request).images
        failures = [
            (f.check, f.expected, f.found) for s in result.signatures for f in s.outcome.failures
        ]
        return result.status, failures

    assert verify(build_identity_policy([someone_else, ours])) == (ImageStatus.VERIFIED, [])
    status, failures = verify(build_identity_policy([someone_else, wrong_ref]))
    assert status is ImageStatus.FAILED
    assert failures == [
        ("identity", "alternative 1 of 2: release-bot@example.com", github_oidc.san),
        ("github_ref", "alternative 2 of 2: refs/heads/never", github_oidc.workflow.ref),
    ]

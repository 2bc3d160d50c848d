"""`verify_images` through the request alone: the registry logins it reads with come from
`VerifyRequest.keychain`, and every signature found names the signature manifest holding it
(the `.sig` manifest, or the bundle's referrer manifest)."""

from __future__ import annotations

from integration.verify.signed_images import new_image, sign_image
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Credential, Digest, Keychain, Registries, StaticKeychain
from shipsign.secret import Secret
from shipsign.verify import ImageStatus, SourceFormat, VerifyRequest, verify_images
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def login(registry: Registry) -> StaticKeychain:
    assert registry.username is not None
    assert registry.password is not None
    cred = Credential(username=registry.username, password=Secret(registry.password))
    return StaticKeychain({registry.host: cred})


def request(
    image: str,
    registry: Registry,
    oidc: GitHubOidc,
    stack: SigstoreStack,
    *,
    keychain: Keychain | None = None,
    format: SourceFormat = SourceFormat.ANY,
) -> VerifyRequest:
    return VerifyRequest(
        images=(image,),
        policy=IdentityPolicy.exact(identity=oidc.san, issuer=oidc.issuer),
        trust=TrustOptions(trusted_root=stack.trusted_root),
        insecure_registries=(registry.host,),
        keychain=keychain,
        format=format,
    )


def test_the_request_keychain_is_what_logs_in(
    basic_registry: Registry,
    repo: str,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    image = new_image(basic_registry, repo)
    sign_image(image, signer, "legacy", None)
    args = (image.ref, basic_registry, github_oidc, sigstore_stack)

    [with_login] = verify_images(request(*args, keychain=login(basic_registry))).images
    assert with_login.status is ImageStatus.VERIFIED, with_login
    [without] = verify_images(request(*args, keychain=StaticKeychain({}))).images
    assert without.status is ImageStatus.UNREACHABLE
    assert without.error is not None
    assert basic_registry.host in without.error.what + without.error.where


def test_each_signature_names_its_signature_manifest(
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    image = new_image(registry, repo)
    sign_image(image, signer, "legacy", pool)
    sign_image(image, signer, "bundle", pool)
    raw = RawClient(registry, repo)
    sig_manifest = Digest.of(raw.get_manifest(f"{image.digest.tag_form}.sig").content)
    listed = raw.get_manifest(image.digest.tag_form).json()["manifests"]
    [referrer] = [Digest.parse(entry["digest"]) for entry in listed]

    args = (image.ref, registry, github_oidc, sigstore_stack)
    for fmt, expected in ((SourceFormat.LEGACY, sig_manifest), (SourceFormat.BUNDLE, referrer)):
        [result] = verify_images(request(*args, format=fmt)).images
        [found] = result.signatures
        assert found.outcome.passed, found.outcome.failures
        assert found.manifest == expected

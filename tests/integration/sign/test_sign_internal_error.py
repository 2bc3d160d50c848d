"""An unexpected exception while one (digest, location, format) is written is that unit's
failure: the other units are signed, and the run still ends with its report."""

from __future__ import annotations

from urllib.parse import urlsplit

from integration.sign.helpers import push_image, sig_layers
from shipsign.checks import SignatureFormat
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Registries, StaticKeychain
from shipsign.oci.transport import Reply
from shipsign.present.exitcodes import INTERNAL, report_code
from shipsign.secret import Secret
from shipsign.sign import SignFormat, SignRequest, SignStatus, sign_images
from stack.registry import Registry
from stack.sigstore_stack import SigstoreStack


class _Broken:
    """A response hook that raises what shipsign does not expect, for one repository's `.sig`
    PUT: an exception from below that no layer translates (a bug, or a library surprise)."""

    def __init__(self, repo: str) -> None:
        self._path = f"/v2/{repo}/manifests/"

    def __call__(self, reply: Reply) -> None:
        path = urlsplit(reply.url).path
        ours = path.startswith(self._path) and path.endswith(".sig")
        if reply.method == "PUT" and ours:
            raise RuntimeError("the hook broke")


def test_an_unexpected_exception_fails_only_its_unit(
    registry: Registry, repo: str, stack: SigstoreStack, token: str
) -> None:
    broken, fine = f"{repo}/broken", f"{repo}/fine"
    digests = {name: push_image([registry], name) for name in (broken, fine)}
    request = SignRequest(
        images=tuple(f"{registry.host}/{name}@{d}" for name, d in digests.items()),
        format=SignFormat.LEGACY,
        identity_token=Secret(token),
        trust=TrustOptions(trust_config=stack.trust_config),
        verify_after=False,
    )
    pool = Registries(
        keychain=StaticKeychain({}),
        insecure=[registry.host],
        env={},
        response_hook=_Broken(broken),
    )
    with pool:
        report = sign_images(request, registries=pool)  # no exception: a report
    by_repo = {r.repository: r for r in report.results}
    failed = by_repo[f"{registry.host}/{broken}"]
    assert failed.status is SignStatus.FAILED
    assert failed.format is SignatureFormat.LEGACY
    assert failed.notes == ("internal error",)
    assert failed.error is not None
    assert "RuntimeError: the hook broke" in failed.error.what
    assert failed.error.where == f"{registry.host}/{broken}@{digests[broken]} (legacy)"
    assert by_repo[f"{registry.host}/{fine}"].status is SignStatus.SIGNED
    assert len(sig_layers(registry, fine, digests[fine])) == 1
    assert not report.ok
    # A bug is exit 4 ("internal error"), never the negative result 1 (style.md §5).
    assert report.any_internal
    assert report_code(report, internal=report.any_internal) == INTERNAL

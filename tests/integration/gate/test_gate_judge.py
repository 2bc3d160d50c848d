"""The gate's decision on real images in the local registry, signed on the local Sigstore stack:
one verdict per distinct reference, each distinct digest verified once, a look-alike signer
refused, and a registry that cannot be read never reported as unsigned."""

from __future__ import annotations

import secrets
from pathlib import Path

from integration.verify.signed_images import Image, new_image, sign_image
from shipsign.gate.judge import GateOptions, judge
from shipsign.gate.model import ImageUse, RefKind, Verdict
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Registries
from shipsign.policy.config import load_config
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def _use(text: str, file: str = "deploy/app.yaml", line: int = 1, **kw: object) -> ImageUse:
    kind = kw.pop("kind", RefKind.STATIC)
    return ImageUse(
        file=file,
        line=line,
        text=text,
        image=None if kind is RefKind.DYNAMIC else text,
        kind=kind,  # type: ignore[arg-type]
        source="kubernetes",
    )


def _config(tmp_path: Path, host: str, identity: str) -> Path:
    path = tmp_path / ".shipsign.toml"
    path.write_text(
        f"""
[[policy]]
images = ["{host}/acme/*", "127.0.0.1:9/acme/*"]
issuer = "https://token.actions.githubusercontent.com"
identity = "{identity}"
"""
    )
    return path


def test_verdicts_for_each_kind_of_reference(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    lookalike: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    run = secrets.token_hex(3)
    good: Image = new_image(registry, f"acme/good-{run}")
    sign_image(good, signer, "bundle", pool)
    unsigned = new_image(registry, f"acme/unsigned-{run}")
    fake = new_image(registry, f"acme/fake-{run}")
    sign_image(fake, lookalike, "legacy", None)
    tagged = new_image(registry, f"acme/tagged-{run}")
    sign_image(tagged, signer, "legacy", None)
    tag = registry.host
    tagged.raw.push_manifest("v1", tagged.manifest)

    config = load_config(_config(tmp_path, registry.host, github_oidc.san))
    pinned = good.ref
    uses = [
        _use(pinned, line=3),
        _use(pinned, file="deploy/other.yaml", line=9),  # the same digest: verified once
        _use(unsigned.ref, line=5),
        _use(fake.ref, line=7),
        _use(f"{tag}/{tagged.repo}:v1", line=11),
        _use(f"{tag}/{tagged.repo}@{tagged.digest}", line=12),  # same digest as the tag
        _use(f"{registry.host}/elsewhere/tool@{good.digest}", line=13),
        _use("${IMAGE}", line=15, kind=RefKind.DYNAMIC),
        _use(f"127.0.0.1:9/acme/gone@{good.digest}", line=17),
    ]
    options = GateOptions(trust=TrustOptions(trusted_root=sigstore_stack.trusted_root))
    judged = judge(uses, config, options, registries=pool)
    verdicts = {i.image: i for i in judged.images}
    assert [i.image for i in judged.images] == list(dict.fromkeys(u.text for u in uses))

    ok = verdicts[pinned]
    assert (ok.verdict, ok.failing, ok.format) == (Verdict.PASSED, False, "bundle")
    assert ok.signer == github_oidc.san
    assert ok.digest == str(good.digest)
    assert [u.where for u in ok.uses] == ["deploy/app.yaml:3", "deploy/other.yaml:9"]

    assert verdicts[unsigned.ref].verdict is Verdict.UNSIGNED
    assert verdicts[unsigned.ref].failing

    refused = verdicts[fake.ref]
    assert (refused.verdict, refused.failing) == (Verdict.FAILED, True)
    assert "app-fork" in refused.signer
    assert "identity" in refused.detail

    by_tag = verdicts[f"{tag}/{tagged.repo}:v1"]
    assert (by_tag.verdict, by_tag.digest, by_tag.failing) == (
        Verdict.PASSED,
        str(tagged.digest),
        False,
    )
    assert any("not pinned" in w for w in by_tag.warnings)

    outside = verdicts[f"{registry.host}/elsewhere/tool@{good.digest}"]
    assert (outside.verdict, outside.failing) == (Verdict.NOT_COVERED, False)
    dynamic = verdicts["${IMAGE}"]
    assert (dynamic.verdict, dynamic.failing) == (Verdict.DYNAMIC, False)
    gone = verdicts[f"127.0.0.1:9/acme/gone@{good.digest}"]
    assert (gone.verdict, gone.failing) == (Verdict.UNREACHABLE, False)

    # one tag resolved; five distinct repository@digest verified (the tag's digest once)
    assert (judged.resolved, judged.verified) == (1, 5)

    strict = GateOptions(trust=options.trust, require_policy=True, require_digest=True)
    again = {i.image: i for i in judge(uses, config, strict, registries=pool).images}
    assert again[f"{registry.host}/elsewhere/tool@{good.digest}"].failing
    assert again["${IMAGE}"].failing
    assert again[f"{tag}/{tagged.repo}:v1"].failing
    assert not again[pinned].failing


def test_no_policy_file_means_nothing_is_covered(registry: Registry, pool: Registries) -> None:
    image = new_image(registry, f"acme/nofile-{secrets.token_hex(3)}")
    judged = judge([_use(image.ref)], None, GateOptions(), registries=pool)
    (only,) = judged.images
    assert only.verdict is Verdict.NOT_COVERED
    assert "no policy file" in only.detail
    assert judged.verified == 0  # nothing to verify: trust is not even loaded

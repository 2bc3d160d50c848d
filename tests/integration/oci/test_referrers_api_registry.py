"""The "referrers-api" registry (go-containerregistry's pkg/registry with the OCI 1.1 referrers
API, tests/stack/refregistry): what it answers, and shipsign's OCI client against it.

A missing build of the registry fails these tests (`scripts/install.sh --peers` builds it).
"""

from __future__ import annotations

from pathlib import Path

from integration.oci.images import BUNDLE, EMPTY, ClientFactory, push_subject
from integration.referrer_writes import add_referrer
from shipsign.oci import (
    OCI_INDEX,
    Descriptor,
    Digest,
    Manifest,
    Reference,
    ReferrersResult,
    ReferrersSource,
    RegistryClient,
    Repository,
    build_manifest,
    fetch_referrers,
    referrer_descriptor,
)
from stack.oras import API, TAG, Oras
from stack.raw_registry import OCI_MANIFEST, RawClient, sha256
from stack.raw_registry import build_manifest as raw_manifest
from stack.registry import Registry, RegistryRequest

EMPTY_CONFIG = ("application/vnd.oci.empty.v1+json", b"{}")


def _since(registry: Registry, mark: int, repo: str) -> list[RegistryRequest]:
    """The requests for `repo` the registry answered after the first `mark` of its log."""
    return [r for r in registry.requests()[mark:] if r.path.startswith(f"/v2/{repo}/")]


def _referrer(
    client: RegistryClient, repo: Repository, subject: Manifest | None, n: int
) -> Manifest:
    """Push a bundle-shaped artifact (by digest); `subject` None: one that names no subject."""
    layer = client.push_blob(repo, f"bundle {n}".encode())
    manifest = build_manifest(
        config=EMPTY,
        layers=[Descriptor(media_type=BUNDLE, digest=layer, size=len(f"bundle {n}"))],
        annotations={"dev.sigstore.bundle.content": "dsse-envelope", "n": str(n)},
        subject=subject.descriptor if subject is not None else None,
        artifact_type=BUNDLE,
    )
    client.push_manifest(repo, manifest)
    return manifest


def _write_fallback_tag(
    client: RegistryClient, repo: Repository, subject: Digest, entry: Descriptor
) -> None:
    """List `entry` under the `sha256-<hex>` tag with shipsign's own fallback writer, as a writer
    that does not know of the API (one from before the registry had it) would."""
    no_api = ReferrersResult(ReferrersSource.FALLBACK_TAG, ())  # read_at 0: stale, read again
    written = add_referrer(client, repo, subject, entry, listed=no_api)
    assert written is ReferrersSource.FALLBACK_TAG


def test_it_answers_the_referrers_api(referrers_registry: Registry, repo: str) -> None:
    raw = RawClient(referrers_registry, repo)
    subject = raw.push_image("v1")
    annotations = {"dev.sigstore.bundle.content": "dsse-envelope"}
    raw.push_blob(b"{}")
    raw.push_blob(b"a bundle")
    referrer = raw_manifest(
        EMPTY_CONFIG,
        [(BUNDLE, b"a bundle")],
        subject=subject,
        artifact_type=BUNDLE,
        annotations=annotations,
    )
    put = raw.call(
        "PUT",
        f"manifests/{sha256(referrer)}",
        data=referrer,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert put.status_code == 201, put.text
    assert "OCI-Subject" not in put.headers  # a client learns of the API only by asking
    mark = len(referrers_registry.requests())

    listing = raw.call("GET", f"referrers/{sha256(subject)}", headers={"Accept": OCI_INDEX})

    assert listing.status_code == 200, listing.text
    assert listing.headers["Content-Type"] == OCI_INDEX
    assert listing.json() == {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(referrer),
                "size": len(referrer),
                # the manifest's artifactType (pkg/registry alone would say the config's type)
                "artifactType": BUNDLE,
                "annotations": annotations,
            }
        ],
    }
    assert _since(referrers_registry, mark, repo) == [
        RegistryRequest("GET", f"/v2/{repo}/referrers/{sha256(subject)}", 200)
    ]
    # Nothing refers to the referrer: an empty list, not a 404.
    empty = raw.call("GET", f"referrers/{sha256(referrer)}", headers={"Accept": OCI_INDEX})
    assert (empty.status_code, empty.json()["manifests"]) == (200, [])


def test_single_request_monolithic_upload_is_honoured(
    referrers_registry: Registry, repo: str
) -> None:
    """The fact issue 12 needs: POST /blobs/uploads/?digest= with the blob as body is one
    complete upload here (docker-registry 2.8 ignores the body and opens a session)."""
    raw = RawClient(referrers_registry, repo)
    blob = b"one request is enough"
    digest = sha256(blob)
    headers = {"Content-Type": "application/octet-stream"}
    done = raw.call("POST", f"blobs/uploads/?digest={digest}", data=blob, headers=headers)
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    assert raw.call("GET", f"blobs/{digest}").content == blob
    wrong = raw.call(
        "POST", f"blobs/uploads/?digest={sha256(b'other')}", data=blob, headers=headers
    )
    assert wrong.status_code == 400, wrong.text
    assert raw.call("HEAD", f"blobs/{sha256(b'other')}").status_code == 404


def test_client_detects_the_api_and_lists_through_it(
    referrers_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(referrers_registry)
    repository = Repository(referrers_registry.host, repo)
    subject = push_subject(client, repository)
    manifest = _referrer(client, repository, subject, 1)
    mark = len(referrers_registry.requests())

    assert (
        add_referrer(client, repository, subject.digest, referrer_descriptor(manifest))
        is ReferrersSource.API
    )
    found = fetch_referrers(client, repository, subject.digest)

    assert found.source is ReferrersSource.API
    assert found.descriptors == (referrer_descriptor(manifest),)
    assert found.descriptors[0].artifact_type == BUNDLE
    assert found.descriptors[0].annotations["n"] == "1"
    seen = _since(referrers_registry, mark, repo)
    api = RegistryRequest("GET", f"/v2/{repo}/referrers/{subject.digest}", 200)
    assert seen == [api, api]  # the write asked once and learned the registry keeps the list
    tag = f"/v2/{repo}/manifests/{subject.digest.tag_form}"
    assert not [r for r in referrers_registry.requests() if r.path == tag]  # never written
    assert (
        client.fetch_manifest(Reference(repository=repository, tag=subject.digest.tag_form)) is None
    )


def test_what_only_the_fallback_tag_lists_is_added_for_verify(
    referrers_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    """`also_tag` (verify's lookup): beside the API's list, the entries only the `sha256-<hex>`
    tag lists, each marked as found there; without it (sign, tree) the API's list alone."""
    client = make_client(referrers_registry)
    repository = Repository(referrers_registry.host, repo)
    subject = push_subject(client, repository)
    through_api = _referrer(client, repository, subject, 1)
    also_tagged = _referrer(client, repository, subject, 2)  # in the API's list and the tag's
    # An entry the API does not list (its manifest names no subject: the API cannot know it),
    # as a registry that did not carry its fallback tags over would leave every old one.
    tag_only = _referrer(client, repository, None, 3)
    for entry in (also_tagged, tag_only):
        _write_fallback_tag(client, repository, subject.digest, referrer_descriptor(entry))

    api_only = fetch_referrers(client, repository, subject.digest)
    merged = fetch_referrers(client, repository, subject.digest, also_tag=True)

    by_digest = sorted([through_api, also_tagged], key=lambda m: str(m.digest))
    assert [d.digest for d in api_only.descriptors] == [m.digest for m in by_digest]
    assert merged.source is ReferrersSource.API
    assert [d.digest for d in merged.descriptors] == [
        *(m.digest for m in by_digest),
        tag_only.digest,
    ]
    assert [merged.found_in(d) for d in merged.descriptors] == [
        ReferrersSource.API,
        ReferrersSource.API,
        ReferrersSource.FALLBACK_TAG,
    ]
    assert merged.descriptors[2] == referrer_descriptor(tag_only)
    # With an artifactType filter, the entries keep where they were found.
    filtered = fetch_referrers(
        client, repository, subject.digest, artifact_type=BUNDLE, also_tag=True
    )
    assert filtered.found_in(filtered.descriptors[-1]) is ReferrersSource.FALLBACK_TAG


def test_a_tag_that_is_no_index_beside_the_api_is_not_a_list(
    referrers_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(referrers_registry)
    repository = Repository(referrers_registry.host, repo)
    subject = push_subject(client, repository)
    manifest = _referrer(client, repository, subject, 1)
    client.push_manifest(repository, subject, tag=subject.digest.tag_form)  # an image, no index
    found = fetch_referrers(client, repository, subject.digest, also_tag=True)
    assert [d.digest for d in found.descriptors] == [manifest.digest]


def test_oras_sees_the_api_list_and_the_tag_list(
    referrers_registry: Registry, repo: str, make_client: ClientFactory, tmp_path: Path
) -> None:
    """oras, as a third party: through the API it lists every referrer with a subject; through
    the tag schema only what the tag lists."""
    client = make_client(referrers_registry)
    repository = Repository(referrers_registry.host, repo)
    subject = push_subject(client, repository)
    first = _referrer(client, repository, subject, 1)
    second = _referrer(client, repository, subject, 2)
    _write_fallback_tag(client, repository, subject.digest, referrer_descriptor(second))
    oras = Oras(tmp_path / "oras")
    digest = str(subject.digest)

    for spec in (None, API):
        listed = oras.discover(referrers_registry, repo, digest, spec=spec)
        assert sorted(r["digest"] for r in listed) == sorted(
            [str(first.digest), str(second.digest)]
        )
        assert {r["artifactType"] for r in listed} == {BUNDLE}
    [tagged] = oras.discover(referrers_registry, repo, digest, spec=TAG)
    assert (tagged["digest"], tagged["artifactType"]) == (str(second.digest), BUNDLE)
    assert tagged["annotations"]["n"] == "2"

"""The registry stack works for real: round-trips through every variant, auth refusals, the quirks
of distribution 2.8 we rely on knowing, and skopeo reading what we pushed byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from stack.raw_registry import (
    MANIFEST_TYPES,
    OCI_CONFIG,
    OCI_MANIFEST,
    RawClient,
    build_manifest,
    parse_challenge,
    sha256,
)
from stack.registry import Registry, start_demo_registries, start_registry

VARIANTS = ["registry", "basic_registry", "token_registry", "tls_registry"]


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> Registry:
    reg: Registry = request.getfixturevalue(request.param)
    return reg


def test_blob_and_manifest_round_trip(variant: Registry, repo: str) -> None:
    client = RawClient(variant, repo)
    layer = b"layer for " + repo.encode()
    digest = client.push_blob(layer)

    head = client.call("HEAD", f"blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == digest
    assert int(head.headers["Content-Length"]) == len(layer)
    got = client.call("GET", f"blobs/{digest}")
    assert got.status_code == 200
    assert got.content == layer

    config = b"{}"
    client.push_blob(config)
    manifest = build_manifest((OCI_CONFIG, config), [("application/octet-stream", layer)])
    by_tag = client.push_manifest("v1", manifest)
    by_digest = client.push_manifest(sha256(manifest), manifest)
    assert by_tag == by_digest == sha256(manifest)

    for ref in ("v1", by_tag):
        resp = client.get_manifest(ref, accept=OCI_MANIFEST)
        assert resp.status_code == 200
        assert resp.content == manifest
        assert resp.headers["Content-Type"] == OCI_MANIFEST
        assert resp.headers["Docker-Content-Digest"] == sha256(resp.content)


def _skopeo_inspect(reg: Registry, ref: str) -> bytes:
    argv = ["skopeo", "inspect", "--raw"]
    if reg.cert_dir is not None:
        argv.append(f"--cert-dir={reg.cert_dir}")
    else:
        argv.append("--tls-verify=false")
    if reg.username is not None:
        argv.append(f"--creds={reg.username}:{reg.password}")
    else:
        argv.append("--no-creds")
    done = subprocess.run([*argv, f"docker://{reg.host}/{ref}"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_skopeo_reads_what_we_pushed_byte_for_byte(variant: Registry, repo: str) -> None:
    manifest = RawClient(variant, repo).push_image("v1", annotations={"org.example": repo})
    assert _skopeo_inspect(variant, f"{repo}:v1") == manifest
    assert _skopeo_inspect(variant, f"{repo}@{sha256(manifest)}") == manifest


def test_two_anonymous_registries_are_independent(
    registry: Registry, registry_b: Registry, repo: str
) -> None:
    assert registry.host != registry_b.host
    manifest = RawClient(registry, repo).push_image("v1")
    assert RawClient(registry, repo).get_manifest("v1").content == manifest
    assert RawClient(registry_b, repo).get_manifest("v1").status_code == 404


def test_basic_auth_refuses_wrong_password(basic_registry: Registry, repo: str) -> None:
    url = f"{basic_registry.url}/v2/{repo}/tags/list"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401
    assert parse_challenge(anonymous.headers["WWW-Authenticate"])[0] == "Basic"
    wrong = requests.get(url, auth=(basic_registry.username or "", "wrong"), timeout=10)
    assert wrong.status_code == 401
    creds = (basic_registry.username or "", basic_registry.password or "")
    good = requests.get(url, auth=creds, timeout=10)
    assert good.status_code == 404  # authenticated; the repository just does not exist


def test_token_auth_challenge_and_wrong_password(token_registry: Registry, repo: str) -> None:
    resp = requests.get(f"{token_registry.url}/v2/{repo}/tags/list", timeout=10)
    assert resp.status_code == 401
    scheme, params = parse_challenge(resp.headers["WWW-Authenticate"])
    assert scheme == "Bearer"
    assert params["realm"] == token_registry.realm
    assert params["service"] == token_registry.service
    assert params["scope"] == f"repository:{repo}:pull"

    query = {"service": params["service"], "scope": f"repository:{repo}:pull,push"}
    wrong = requests.get(params["realm"], params=query, auth=("shipsign", "wrong"), timeout=10)
    assert wrong.status_code == 401
    assert token_registry.token_requests()[-1].status == 401


def test_token_scopes_are_enforced_and_counted(token_registry: Registry, repo: str) -> None:
    before = len(token_registry.token_requests())
    public = "public/" + repo
    RawClient(token_registry, public).push_image("v1")

    def anonymous_token(name: str) -> str:
        query = {"service": token_registry.service, "scope": f"repository:{name}:pull,push"}
        resp = requests.get(token_registry.realm or "", params=query, timeout=10)
        assert resp.status_code == 200
        body = resp.json()
        assert body["token"] == body["access_token"]
        assert body["expires_in"] > 0
        return f"Bearer {body['token']}"

    accept = {"Accept": ", ".join(MANIFEST_TYPES)}
    pull = requests.get(
        f"{token_registry.url}/v2/{public}/manifests/v1",
        headers={**accept, "Authorization": anonymous_token(public)},
        timeout=10,
    )
    assert pull.status_code == 200
    push = requests.post(
        f"{token_registry.url}/v2/{public}/blobs/uploads/",
        headers={"Authorization": anonymous_token(public)},
        timeout=10,
    )
    assert push.status_code == 401
    assert 'error="insufficient_scope"' in push.headers["WWW-Authenticate"]
    private = requests.get(
        f"{token_registry.url}/v2/{repo}/tags/list",
        headers={"Authorization": anonymous_token(repo)},
        timeout=10,
    )
    assert private.status_code == 401

    seen = token_registry.token_requests()[before:]
    assert [(r.user, r.scopes) for r in seen] == [
        ("shipsign", (f"repository:{public}:pull,push",)),
        (None, (f"repository:{public}:pull,push",)),
        (None, (f"repository:{public}:pull,push",)),
        (None, (f"repository:{repo}:pull,push",)),
    ]


def test_tls_is_verified_against_the_ca_bundle(
    tls_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_registry.url.startswith("https://")
    assert tls_registry.ca_bundle is not None
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_registry.url}/v2/", verify=True, timeout=10)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_registry.ca_bundle))
    assert requests.get(f"{tls_registry.url}/v2/", timeout=10).status_code == 200


def test_quirk_pulls_need_exact_accept(registry: Registry, repo: str) -> None:
    client = RawClient(registry, repo)
    manifest = client.push_image("v1")
    for ref in ("v1", sha256(manifest)):
        for accept in ("*/*", "application/json"):
            resp = client.get_manifest(ref, accept=accept)
            assert resp.status_code == 404, (ref, accept)
            assert resp.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
        assert client.call("GET", f"manifests/{ref}").status_code == 404  # no Accept at all
        assert client.get_manifest(ref).content == manifest


def test_quirk_single_post_upload_is_ignored(registry: Registry, repo: str) -> None:
    client = RawClient(registry, repo)
    data = b"monolithic " + repo.encode()
    resp = client.call(
        "POST",
        f"blobs/uploads/?digest={sha256(data)}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 202  # an upload session was opened; the body went nowhere
    assert client.call("HEAD", f"blobs/{sha256(data)}").status_code == 404


def test_quirk_subject_accepted_but_no_referrers_api(registry: Registry, repo: str) -> None:
    client = RawClient(registry, repo)
    subject = client.push_image("v1")
    referrer = client.push_image(
        "sig", b"signature", subject=subject, artifact_type="application/vnd.example+json"
    )
    assert json.loads(client.get_manifest(sha256(referrer)).content)["subject"]["digest"] == (
        sha256(subject)
    )
    resp = client.call("GET", f"referrers/{sha256(subject)}")
    assert resp.status_code == 404


def test_quirk_if_match_is_ignored_on_manifest_put(registry: Registry, repo: str) -> None:
    client = RawClient(registry, repo)
    manifest = client.push_image("v1")
    etag = client.get_manifest("v1").headers["Etag"]
    assert etag == f'"{sha256(manifest)}"'
    other = client.push_image("v2", b"other layer")
    stale = client.call(
        "PUT",
        "manifests/v1",
        data=other,
        headers={"Content-Type": OCI_MANIFEST, "If-Match": '"sha256:' + "0" * 64 + '"'},
    )
    assert stale.status_code == 201  # no 412: lost updates must be caught by re-reading
    assert client.get_manifest("v1").content == other


def test_deletes_are_enabled(registry: Registry, repo: str) -> None:
    client = RawClient(registry, repo)
    manifest = client.push_image("v1")
    assert client.call("DELETE", f"manifests/{sha256(manifest)}").status_code == 202
    assert client.get_manifest("v1").status_code == 404


def test_demo_registries_start_and_stop(tmp_path: Path) -> None:
    started = start_demo_registries(tmp_path)
    try:
        assert [r.registry.name for r in started] == ["anonymous", "anonymous-b"]
        for running in started:
            assert requests.get(f"{running.registry.url}/v2/", timeout=10).status_code == 200
    finally:
        for running in started:
            running.stop()
    for running in started:
        assert all(server.proc.poll() is not None for server in running.servers)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{running.registry.url}/v2/", timeout=10)


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown registry kind"):
        start_registry("quay", tmp_path)

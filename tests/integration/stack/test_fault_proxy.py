"""The fault proxy passes traffic through faithfully, injects each kind of fault once asked, logs
every request, and serves the referrers API when told to."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests

from stack.fault_proxy import FaultProxy, RequestRecord
from stack.proxy_referrers import INDEX_MEDIA_TYPE
from stack.raw_registry import OCI_CONFIG, OCI_MANIFEST, RawClient, build_manifest, sha256
from stack.registry import Registry


def test_pass_through_rewrites_location_and_logs(
    fault_proxy: FaultProxy, registry: Registry, repo: str
) -> None:
    client = RawClient(fault_proxy.registry, repo)
    start = client.call("POST", "blobs/uploads/")
    assert start.status_code == 202
    assert start.headers["Location"].startswith(f"{fault_proxy.url}/v2/{repo}/blobs/uploads/")
    fault_proxy.reset_log()

    manifest = client.push_image("v1")
    assert RawClient(registry, repo).get_manifest("v1").content == manifest  # really upstream
    head = client.call("HEAD", f"manifests/{sha256(manifest)}", headers={"Accept": OCI_MANIFEST})
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(manifest)

    log = fault_proxy.requests
    assert [(r.method, r.status) for r in log] == [
        ("POST", 202), ("PUT", 201), ("POST", 202), ("PUT", 201), ("PUT", 201), ("HEAD", 200),
    ]  # fmt: skip
    assert log[-1] == RequestRecord("HEAD", f"/v2/{repo}/manifests/{sha256(manifest)}", 200)


def test_reset_drops_the_connection_once(fault_proxy: FaultProxy, repo: str) -> None:
    client = RawClient(fault_proxy.registry, repo)
    fault_proxy.add_fault(method="GET", path_regex=r"/tags/list$", action="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        client.call("GET", "tags/list")
    assert client.call("GET", "tags/list").status_code == 404  # consumed: passes through now
    assert [r.status for r in fault_proxy.requests] == [0, 404]


def test_status_fault_sends_retry_after_and_counts_down(fault_proxy: FaultProxy, repo: str) -> None:
    client = RawClient(fault_proxy.registry, repo)
    fault_proxy.add_fault(path_regex=r"/blobs/uploads/", status=503, times=2, body=b"busy")
    fault_proxy.add_fault(method="GET", path_regex="", status=429, headers={"Retry-After": "7"})
    for _ in range(2):
        resp = client.call("POST", "blobs/uploads/")
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "1"
        assert resp.content == b"busy"
    assert client.call("POST", "blobs/uploads/").status_code == 202
    limited = client.call("GET", "tags/list")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert client.call("GET", "tags/list").status_code == 404


def test_delay_fault_slows_one_response(fault_proxy: FaultProxy, repo: str) -> None:
    client = RawClient(fault_proxy.registry, repo)
    fault_proxy.add_fault(path_regex="tags", action="delay", delay=0.5)
    started = time.monotonic()
    assert client.call("GET", "tags/list").status_code == 404
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    assert client.call("GET", "tags/list").status_code == 404
    assert time.monotonic() - started < 0.5


def test_clear_drops_pending_faults(fault_proxy: FaultProxy, repo: str) -> None:
    fault_proxy.add_fault(action="reset", times=None)
    fault_proxy.clear()
    assert RawClient(fault_proxy.registry, repo).call("GET", "tags/list").status_code == 404


def test_referrers_served_only_when_asked(fault_proxy: FaultProxy, repo: str) -> None:
    client = RawClient(fault_proxy.registry, repo)
    subject = client.push_image("v1")
    assert client.call("GET", f"referrers/{sha256(subject)}").status_code == 404  # upstream's

    fault_proxy.serve_referrers = True
    sig_type, sbom_type = "application/vnd.example.sig", "application/vnd.example.sbom"
    sig = _referrer(client, subject, sig_type, b"sig")
    put = client.call("PUT", "manifests/sig", data=sig, headers={"Content-Type": OCI_MANIFEST})
    assert put.status_code == 201
    assert put.headers["OCI-Subject"] == sha256(subject)
    sbom = _referrer(client, subject, sbom_type, b"sbom")
    client.push_manifest(sha256(sbom), sbom)

    resp = client.call("GET", f"referrers/{sha256(subject)}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == INDEX_MEDIA_TYPE
    assert "OCI-Filters-Applied" not in resp.headers
    index = resp.json()
    assert index["mediaType"] == INDEX_MEDIA_TYPE
    assert index["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sha256(data),
            "size": len(data),
            "artifactType": kind,
            "annotations": {"test": repo},
        }
        for data, kind in ((sig, sig_type), (sbom, sbom_type))
    ]
    filtered = client.call("GET", f"referrers/{sha256(subject)}?artifactType={sbom_type}")
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sha256(sbom)]


def _referrer(client: RawClient, subject: bytes, artifact_type: str, layer: bytes) -> bytes:
    config = b'{"architecture":"amd64","os":"linux"}'
    client.push_blob(layer)
    client.push_blob(config)
    return build_manifest(
        (OCI_CONFIG, config),
        [("application/octet-stream", layer)],
        subject=subject,
        artifact_type=artifact_type,
        annotations={"test": client.repo},
    )


def test_skopeo_copies_through_the_proxy(
    fault_proxy: FaultProxy, registry: Registry, repo: str
) -> None:
    manifest = RawClient(registry, repo).push_image("v1", layer=b"x" * 300_000)
    done = subprocess.run(
        [
            "skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
            "--src-no-creds", "--dest-no-creds", "--preserve-digests",
            f"docker://{registry.host}/{repo}:v1", f"docker://{fault_proxy.host}/{repo}-copy:v2",
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert RawClient(registry, f"{repo}-copy").get_manifest("v2").content == manifest
    assert any(r.method == "PUT" and "/manifests/v2" in r.path for r in fault_proxy.requests)
    assert json.loads(manifest)["layers"][0]["size"] == 300_000

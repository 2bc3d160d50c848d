"""What the CLI writes to stderr never quotes a URL's query (upload locations carry state in
it; token requests their scopes): not in error tracebacks (-v), not in library logs (-vv)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import urllib3

from shipsign.cli import render
from shipsign.errors import RegistryError
from shipsign.oci import (
    Credential,
    Descriptor,
    Digest,
    Registries,
    Repository,
    RetryPolicy,
    StaticKeychain,
    build_manifest,
)
from shipsign.oci.media import OCI_CONFIG
from shipsign.oci.transport import Call, Transport
from shipsign.secret import Secret
from stack.process import free_port
from stack.registry import Registry

STATE = "_state=UPLOAD-STATE-abc123"


def _closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v2/acme/app/blobs/uploads/u1?{STATE}&digest=sha256%3Aab"


def test_a_verbose_error_traceback_drops_query_strings(
    tls_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    # Not trusting the registry's CA: the RegistryError keeps urllib3's SSLError as its cause
    # for the -v traceback, and names where it failed with the query string cut.
    transport = Transport(retry=RetryPolicy(attempts=1))
    call = Call(operation="push blob", registry=tls_registry.host, repository="acme/app")
    url = f"https://{tls_registry.host}/v2/acme/app/blobs/uploads/u1?{STATE}&digest=sha256%3Aab"
    with pytest.raises(RegistryError) as caught:
        transport.send(call, "PUT", url, body=b"x")
    transport.close()
    assert isinstance(caught.value.__cause__, urllib3.exceptions.SSLError)
    render.error(caught.value, verbose=True)
    err = capsys.readouterr().err
    assert err.startswith("error: cannot push blob on")
    assert "Traceback" in err
    assert "SSLError" in err
    assert "/v2/acme/app/blobs/uploads/u1?…" in err
    assert "UPLOAD-STATE" not in err


def test_an_internal_error_line_drops_query_strings(capsys: pytest.CaptureFixture[str]) -> None:
    # A library exception that escaped (a bug) is printed as it is: its URL must not be.
    with pytest.raises(requests.ConnectionError) as caught:
        requests.put(_closed_url(), data=b"x", timeout=5)
    render.error(caught.value, verbose=False)
    err = capsys.readouterr().err
    assert err.startswith("internal error: ConnectionError")
    assert "UPLOAD-STATE" not in err


def test_debug_logs_of_every_library_drop_query_strings(
    token_registry: Registry, repo: str, tmp_path: Path
) -> None:
    assert token_registry.username is not None
    assert token_registry.password is not None
    login = Credential(username=token_registry.username, password=Secret(token_registry.password))
    public = Repository(token_registry.host, f"public/{repo}")  # anonymous pull is allowed here
    with Registries(
        keychain=StaticKeychain({token_registry.host: login}),
        insecure=[token_registry.host],
        env={},
    ) as pool:
        client = pool.client(token_registry.host)
        config = b'{"architecture":"amd64","os":"linux"}'
        client.push_blob(public, config)
        manifest = build_manifest(
            config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
            layers=[],
        )
        client.push_manifest(public, manifest, tag="v1")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }
    argv = ["-vv", "resolve", "--insecure-registry", token_registry.host, f"{public.name}:v1"]
    proc = subprocess.run(
        [sys.executable, "-m", "shipsign", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{public.name}@{manifest.digest}"
    assert "urllib3.connectionpool" in proc.stderr  # the libraries' debug lines are there
    assert "/token?…" in proc.stderr
    assert "scope=" not in proc.stderr

"""Loading trust: every file that cannot be used becomes an InputError that names it; the copies
of Sigstore's production trust files shipped with sigstore-python stand in for good input."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from shipsign.errors import InputError
from shipsign.keyless.identity import IdentityToken
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import Instance, TrustOptions, load_trust
from shipsign.keyless.trust_material import load_trust_material
from shipsign.secret import Secret

# Never sent anywhere: a signer asks Fulcio for a certificate only when it first signs.
_TOKEN = IdentityToken(
    token=Secret("unused"),
    issuer="https://token.actions.githubusercontent.com",
    identity="https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
    subject="repo:acme/app:ref:refs/heads/main",
    expires=datetime(2100, 1, 1, tzinfo=timezone.utc),
    source="test",
)
_PRODUCTION = resources.files("sigstore._store").joinpath("https%3A%2F%2Ftuf-repo-cdn.sigstore.dev")


def _shipped(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_PRODUCTION.joinpath(name).read_text())
    return doc


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def _trust_config(signing_config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": _shipped("trusted_root.json"),
        "signingConfig": signing_config or _shipped("signing_config.v0.2.json"),
    }


def test_a_trust_config_file_loads_and_can_sign(tmp_path: Path) -> None:
    path = _write(tmp_path / "trust.json", _trust_config())
    trust = load_trust(TrustOptions(trust_config=path, force_rekor_v1=True))
    assert trust.can_sign
    assert str(path) in trust.source
    KeylessSigner(trust, _TOKEN)  # builds its clients; no network until it signs
    assert load_trust_material(trust.trusted_root).verifier is not None


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("{not json", "Invalid JSON"),
        ({"mediaType": "application/json"}, "mediaType"),
        ([], "object"),
    ],
)
def test_a_broken_trust_config_is_an_input_error_naming_the_file(
    tmp_path: Path, content: object, found: str
) -> None:
    path = _write(tmp_path / "broken.json", content)
    with pytest.raises(InputError) as caught:
        load_trust(TrustOptions(trust_config=path))
    assert caught.value.where == str(path)
    assert "ClientTrustConfig" in caught.value.what
    assert found in caught.value.found


def test_a_missing_trust_config_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(InputError, match="cannot read the trust config") as caught:
        load_trust(TrustOptions(trust_config=path))
    assert caught.value.where == str(path)


def test_swapped_files_get_a_hint(tmp_path: Path) -> None:
    root = _write(tmp_path / "root.json", _shipped("trusted_root.json"))
    config = _write(tmp_path / "config.json", _trust_config())
    with pytest.raises(InputError) as as_config:
        load_trust(TrustOptions(trust_config=root))
    assert "--trusted-root" in as_config.value.hint
    with pytest.raises(InputError) as as_root:
        load_trust(TrustOptions(trusted_root=config))
    assert "--trust-config" in as_root.value.hint
    assert as_root.value.where == str(config)


def test_forcing_rekor_v1_needs_a_v1_log_in_the_signing_config(tmp_path: Path) -> None:
    signing = _shipped("signing_config.v0.2.json")
    for log in signing["rekorTlogUrls"]:
        log["majorApiVersion"] = 2
    path = _write(tmp_path / "v2-only.json", _trust_config(signing))
    assert load_trust(TrustOptions(trust_config=path)).can_sign
    with pytest.raises(InputError, match="signing config") as caught:
        load_trust(TrustOptions(trust_config=path, force_rekor_v1=True))
    assert "Rekor v1" in caught.value.hint
    assert str(path) in caught.value.where


def test_a_bare_trusted_root_verifies_but_cannot_sign(tmp_path: Path) -> None:
    path = _write(tmp_path / "trusted_root.json", _shipped("trusted_root.json"))
    trust = load_trust(TrustOptions(trusted_root=path))
    assert not trust.can_sign
    assert load_trust_material(trust.trusted_root).verifier is not None
    with pytest.raises(InputError, match="only a trusted root") as caught:
        KeylessSigner(trust, _TOKEN)
    assert "--trust-config" in caught.value.hint


def test_a_broken_trusted_root_names_the_file(tmp_path: Path) -> None:
    doc = _shipped("trusted_root.json")
    doc["mediaType"] = "application/vnd.dev.sigstore.trustedroot+json;version=9"
    path = _write(tmp_path / "root.json", doc)
    with pytest.raises(InputError, match="trusted root is not valid") as caught:
        load_trust(TrustOptions(trusted_root=path))
    assert caught.value.where == str(path)


def test_trust_config_and_trusted_root_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not both"):
        load_trust(TrustOptions(trust_config=tmp_path / "a", trusted_root=tmp_path / "b"))


def test_offline_production_uses_the_shipped_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sigstore keeps its TUF cache under the XDG directories: keep this test's copy in tmp_path.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    trust = load_trust(
        TrustOptions(instance=Instance.PRODUCTION, offline=True, force_rekor_v1=True)
    )
    assert trust.can_sign
    assert trust.source == "Sigstore production (offline)"
    assert any((tmp_path / "cache").rglob("trusted_root.json"))
